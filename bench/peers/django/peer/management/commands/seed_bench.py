"""`manage.py seed_bench --users N`: the bench's quiz and users bench0..N-1
(password = username)."""
from django.contrib.auth.models import User
from django.core.management.base import BaseCommand

from peer.models import Quiz


class Command(BaseCommand):
    help = "Creates the benchmark quiz and users."

    def add_arguments(self, parser):
        parser.add_argument("--users", type=int, default=1)

    def handle(self, *args, users, **options):
        Quiz.objects.get_or_create(
            id="quadratics", defaults={"title": "Quadratic equations", "subject_id": "mathematics"}
        )
        for i in range(users):
            name = f"bench{i}"
            if not User.objects.filter(username=name).exists():
                User.objects.create_user(username=name, password=name)
        self.stdout.write(f"seeded quiz quadratics and {users} users")
