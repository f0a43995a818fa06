"""Password attempts: login and signature re-authentication share one throttle.

Failures are rows in the database (not a per-process cache), so every web worker sees them.
"""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.utils import timezone

from .models import LoginFailure


def _window():  # type: ignore[no-untyped-def]
    return timezone.now() - timedelta(seconds=settings.LOGIN_FAILURE_WINDOW_SECONDS)


def is_locked(username: str) -> bool:
    recent = LoginFailure.objects.filter(username=username.lower(), at__gte=_window()).count()
    return recent >= settings.LOGIN_FAILURE_LIMIT


def failure_record(username: str, ip: str | None, purpose: str) -> None:
    LoginFailure.objects.create(username=username.lower()[:150], ip=ip or None, purpose=purpose)


def failures_clear(username: str) -> None:
    LoginFailure.objects.filter(username=username.lower()).delete()
