"""Quizzes and sessions, as the platform stores them."""
from django.conf import settings
from django.db import models


class Quiz(models.Model):
    id = models.CharField(primary_key=True, max_length=64)
    title = models.CharField(max_length=200)
    subject_id = models.CharField(max_length=64)


class QuizSession(models.Model):
    quiz = models.ForeignKey(Quiz, on_delete=models.CASCADE)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE)
    score = models.FloatField()
    duration_s = models.FloatField()
    completed_at = models.DateTimeField(auto_now_add=True)
