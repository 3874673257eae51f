"""POST /api/quiz-sessions/: store, then broadcast the contract's three
messages through the channel layer, the way a Channels app does it."""
from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db import connection
from rest_framework import status
from rest_framework.response import Response
from rest_framework.views import APIView

from peer.models import Quiz, QuizSession

ENTRIES = 10

QUIZ_BOARD = """
SELECT u.id, u.username, MAX(s.score) AS best, COUNT(*) AS n
FROM peer_quizsession s JOIN auth_user u ON u.id = s.user_id
WHERE s.quiz_id = %s GROUP BY u.id, u.username ORDER BY best DESC, u.username LIMIT %s
"""

SUBJECT_BOARD = """
SELECT u.id, u.username, SUM(b.best) AS total, SUM(b.n) AS n
FROM (SELECT s.user_id, MAX(s.score) AS best, COUNT(*) AS n
      FROM peer_quizsession s JOIN peer_quiz q ON q.id = s.quiz_id
      WHERE q.subject_id = %s GROUP BY s.user_id, s.quiz_id) b
JOIN auth_user u ON u.id = b.user_id
GROUP BY u.id, u.username ORDER BY total DESC, u.username LIMIT %s
"""


def board(sql, key):
    """Top entries with competition ranks (ties share a rank)."""
    with connection.cursor() as cursor:
        cursor.execute(sql, [key, ENTRIES])
        rows = cursor.fetchall()
    entries, rank, last = [], 0, None
    for i, (user_id, username, score, n) in enumerate(rows):
        if score != last:
            rank, last = i + 1, score
        entries.append(
            {"rank": rank, "user_id": str(user_id), "username": username,
             "score": score, "sessions": n}
        )
    return entries


def number(body, key):
    value = body.get(key)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
        raise ValueError(f"{key} must be a number, 0 or more.")
    return float(value)


class QuizSessionCreate(APIView):
    def post(self, request):
        body = request.data if isinstance(request.data, dict) else {}
        try:
            score = number(body, "score")
            duration_s = number(body, "duration_s")
        except ValueError as e:
            return Response({"detail": str(e)}, status=status.HTTP_400_BAD_REQUEST)
        quiz = Quiz.objects.filter(pk=str(body.get("quiz_id", ""))).first()
        if quiz is None:
            return Response({"detail": "Not found."}, status=status.HTTP_404_NOT_FOUND)
        session = QuizSession.objects.create(
            quiz=quiz, user=request.user, score=score, duration_s=duration_s
        )
        event = {
            "session_id": str(session.pk),
            "quiz_id": quiz.id,
            "subject_id": quiz.subject_id,
            "user_id": str(request.user.pk),
            "username": request.user.username,
            "score": score,
            "completed_at": session.completed_at.isoformat().replace("+00:00", "Z"),
        }
        layer = get_channel_layer()
        send = async_to_sync(layer.group_send)
        send("leaderboard", {"type": "relay", "message": {
            "type": "quiz_session_uploaded", "data": event}})
        send("leaderboard", {"type": "relay", "message": {
            "type": "leaderboard_updated",
            "data": {"subject_id": quiz.subject_id,
                     "entries": board(SUBJECT_BOARD, quiz.subject_id)}}})
        send(f"quiz_{quiz.id}", {"type": "relay", "message": {
            "type": "quiz_leaderboard_updated",
            "data": {"quiz_id": quiz.id, "entries": board(QUIZ_BOARD, quiz.id)}}})
        return Response(event, status=status.HTTP_201_CREATED)
