"""Settings of the Django Channels peer: the contract's incumbent, as the
field runs it (DRF + SimpleJWT + Channels), configured from the environment.

PEER_DB       SQLite file (default: peer.sqlite3 beside manage.py)
PEER_LAYER    "memory" (InMemoryChannelLayer, one process) or "redis"
              (channels_redis, any number of processes)
PEER_REDIS    redis URL for PEER_LAYER=redis (default redis://127.0.0.1:6379/0)
PEER_SECRET   signing key shared by every process of one run
"""
import os
from datetime import timedelta
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent

SECRET_KEY = os.environ.get("PEER_SECRET", "bench-only-not-a-secret-0123456789abcdef")
DEBUG = False
ALLOWED_HOSTS = ["127.0.0.1", "localhost"]

INSTALLED_APPS = [
    "daphne",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "rest_framework",
    "channels",
    "peer",
]

MIDDLEWARE = ["django.middleware.common.CommonMiddleware"]
ROOT_URLCONF = "peer.urls"
ASGI_APPLICATION = "peer.asgi.application"
USE_TZ = True
TIME_ZONE = "UTC"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": os.environ.get("PEER_DB", str(BASE_DIR / "peer.sqlite3")),
        "OPTIONS": {"timeout": 30, "init_command": "PRAGMA journal_mode=WAL;"},
        # Persistent connections, as production deployments run: without them
        # every consumer's query (channels' database_sync_to_async closes old
        # connections around each call) opens and sets up a new connection.
        "CONN_MAX_AGE": 600,
        "CONN_HEALTH_CHECKS": True,
    }
}

# The bench signs in with cheap hashes: password hashing is not what it measures.
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework_simplejwt.authentication.JWTAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
}

# A bench run outlives SimpleJWT's 5-minute default; sockets are checked at
# connect only either way.
SIMPLE_JWT = {"ACCESS_TOKEN_LIFETIME": timedelta(hours=1)}

if os.environ.get("PEER_LAYER", "memory") == "redis":
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            # redis-py's pool allows 100 connections by default: under thousands
            # of consumers that raises MaxConnectionsError, so the pool is sized
            # for the bench (each process holds at most 10 000 sockets).
            "CONFIG": {
                "hosts": [
                    {
                        "address": os.environ.get("PEER_REDIS", "redis://127.0.0.1:6379/0"),
                        "max_connections": int(os.environ.get("PEER_REDIS_POOL", "10000")),
                    }
                ]
            },
        }
    }
else:
    CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": "WARNING"},
}
