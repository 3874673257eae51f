"""/ws/leaderboard/?token=<access>: the leaderboard consumer."""
from urllib.parse import parse_qs

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer
from rest_framework_simplejwt.exceptions import TokenError
from rest_framework_simplejwt.tokens import AccessToken

from peer.models import Quiz


@database_sync_to_async
def quiz_title(quiz_id):
    quiz = Quiz.objects.filter(pk=quiz_id).first()
    return None if quiz is None else quiz.title


class LeaderboardConsumer(AsyncJsonWebsocketConsumer):
    """Accepts, then closes with 4001 on a bad token; everyone joins the
    "leaderboard" group, subscribe_quiz joins "quiz_<id>"."""

    async def connect(self):
        query = parse_qs(self.scope.get("query_string", b"").decode())
        token = (query.get("token") or [""])[0]
        await self.accept()
        try:
            self.user_id = AccessToken(token)["user_id"]
        except (TokenError, KeyError):
            await self.close(code=4001)
            return
        self.quizzes = set()
        await self.channel_layer.group_add("leaderboard", self.channel_name)

    async def disconnect(self, code):
        await self.channel_layer.group_discard("leaderboard", self.channel_name)
        for quiz_id in getattr(self, "quizzes", ()):
            await self.channel_layer.group_discard(f"quiz_{quiz_id}", self.channel_name)

    async def receive_json(self, content, **kwargs):
        kind = content.get("type") if isinstance(content, dict) else None
        quiz_id = str(content.get("quiz_id", "")) if isinstance(content, dict) else ""
        if kind == "subscribe_quiz":
            title = await quiz_title(quiz_id)
            if title is None:
                await self.send_json({"type": "error", "message": f'unknown quiz "{quiz_id}"'})
                return
            self.quizzes.add(quiz_id)
            await self.channel_layer.group_add(f"quiz_{quiz_id}", self.channel_name)
            await self.send_json({
                "type": "subscription_confirmed",
                "quiz_id": quiz_id,
                "message": f"Subscribed to quiz {quiz_id} ({title})",
            })
        elif kind == "unsubscribe_quiz":
            self.quizzes.discard(quiz_id)
            await self.channel_layer.group_discard(f"quiz_{quiz_id}", self.channel_name)
        elif kind == "ping":
            await self.send_json({"type": "pong", "id": content.get("id")})
        else:
            await self.send_json({"type": "error", "message": f"unknown type {kind!r}"})

    async def relay(self, event):
        await self.send_json(event["message"])
