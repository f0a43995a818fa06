"""Create the role groups and, on an empty install, a first admin account (printed once)."""

from __future__ import annotations

import secrets

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management.base import BaseCommand
from django.db import transaction

from apps.core import roles


class Command(BaseCommand):
    help = "Create the technician/biologist/admin groups and a first admin if no user exists."

    def add_arguments(self, parser):  # type: ignore[no-untyped-def]
        parser.add_argument("--username", default="admin")

    @transaction.atomic
    def handle(self, *args, username: str, **options) -> None:  # type: ignore[no-untyped-def]
        for name in roles.ROLES:
            Group.objects.get_or_create(name=name)
        User = get_user_model()  # noqa: N806
        if User.objects.exists():
            self.stdout.write("Roles are in place; users already exist, no account created.")
            return
        password = secrets.token_urlsafe(12)
        user = User.objects.create_superuser(username=username, email="", password=password)
        user.groups.add(Group.objects.get(name=roles.ADMIN),
                        Group.objects.get(name=roles.BIOLOGIST))
        self.stdout.write(self.style.WARNING(
            "\nFirst administrator created. These credentials are shown only once:\n"
            f"    username: {username}\n    password: {password}\n"
            "Change the password after logging in; create technician and biologist accounts "
            "in the admin (Users → add, then pick the group).\n"
        ))
