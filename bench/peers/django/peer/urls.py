"""The contract's paths this peer serves (what the bench needs)."""
from django.urls import path
from rest_framework_simplejwt.views import TokenObtainPairView, TokenRefreshView

from peer import views

urlpatterns = [
    path("api/token/", TokenObtainPairView.as_view()),
    path("api/token/refresh/", TokenRefreshView.as_view()),
    path("api/quiz-sessions/", views.QuizSessionCreate.as_view()),
]
