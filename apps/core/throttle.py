"""Password attempts: login throttled per address and per account, atomically.

Counters are rows in the database (not a per-process cache), so every web worker sees them.
A login attempt is counted *before* the password is checked (login_attempt_reserve), with an
F() increment inside a transaction: forty concurrent guesses get forty distinct numbers, and
only those within the limit reach the password check.

Three counters per purpose, each over a fixed window of LOGIN_FAILURE_WINDOW_SECONDS:
- one account from one address (LOGIN_FAILURE_LIMIT): the ordinary lock;
- one address, every account (LOGIN_FAILURE_LIMIT_PER_ADDRESS): password spraying;
- one account, every address (LOGIN_FAILURE_LIMIT_PER_ACCOUNT, higher): a distributed guess.
So a stranger who types a biologist's name wrongly five times locks that name on the stranger's
address only; the biologist's own workstation still logs in until the (much higher) account-wide
limit. Signature re-authentication keeps its own counter (purpose "signature", below): failed
logins never lock anyone out of signing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth import authenticate
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from .audit import audit_record
from .models import LoginFailure, LoginThrottle


@dataclass(frozen=True)
class Attempt:
    """The verdict on one attempt, before its password is checked."""

    allowed: bool
    retry_after: int = 0  # seconds until the blocking window ends; 0 when allowed
    scope: str = ""  # "account" | "address" when refused


def _window() -> timedelta:
    return timedelta(seconds=settings.LOGIN_FAILURE_WINDOW_SECONDS)


def _keys(username: str, ip: str | None, purpose: str) -> list[tuple[str, int, str]]:
    name = username.lower()[:150]
    address = ip or "unknown"
    return [
        (f"{purpose}:account-address:{name}|{address}", settings.LOGIN_FAILURE_LIMIT, "account"),
        (f"{purpose}:address:{address}", settings.LOGIN_FAILURE_LIMIT_PER_ADDRESS, "address"),
        (f"{purpose}:account:{name}", settings.LOGIN_FAILURE_LIMIT_PER_ACCOUNT, "account"),
    ]


def _count(key: str, now: datetime) -> LoginThrottle:
    """Add one attempt to `key`'s window (a new window when the last one ended); the row after."""
    cutoff = now - _window()
    rows = LoginThrottle.objects.filter(key=key)
    for _ in range(5):
        with transaction.atomic():
            # The UPDATE locks the row until commit: the value read back is this attempt's own.
            if rows.filter(window_start__gt=cutoff).update(attempts=F("attempts") + 1):
                return rows.get()
            if rows.filter(window_start__lte=cutoff).update(
                    window_start=now, attempts=1, locked_audited=False):
                return rows.get()
            try:
                with transaction.atomic():
                    return LoginThrottle.objects.create(key=key, window_start=now, attempts=1)
            except IntegrityError:
                continue  # another attempt created it first: count on that row
    raise RuntimeError(f"login throttle row {key!r} kept changing")


def login_attempt_reserve(*, username: str, ip: str | None, purpose: str = "login") -> Attempt:
    """Count one attempt before its password is checked; refused past any of the limits.

    The first refusal of a window writes an audit event (who was targeted, from where).
    """
    now = timezone.now()
    refused: list[tuple[LoginThrottle, str]] = []
    for key, limit, scope in _keys(username, ip, purpose):
        row = _count(key, now)
        if row.attempts > limit:
            refused.append((row, scope))
    if not refused:
        return Attempt(allowed=True)
    for row, scope in refused:
        first = LoginThrottle.objects.filter(pk=row.pk, locked_audited=False).update(
            locked_audited=True)
        if first:
            audit_record(actor=None, action=f"{purpose}.throttled", obj=row, detail={
                "username": username[:150], "ip": ip, "scope": scope, "attempts": row.attempts,
                "window_seconds": settings.LOGIN_FAILURE_WINDOW_SECONDS,
            })
    ends = max(row.window_start for row, _ in refused) + _window()
    return Attempt(allowed=False, retry_after=max(1, int((ends - now).total_seconds())),
                   scope=refused[0][1])


def login_attempt_succeed(*, username: str, ip: str | None, purpose: str = "login") -> None:
    """The password was right: that account's lock on that address ends, and the reserved
    attempt no longer counts against the address or the account."""
    account_address, *others = _keys(username, ip, purpose)
    LoginThrottle.objects.filter(key=account_address[0]).delete()
    LoginThrottle.objects.filter(key__in=[key for key, _, _ in others], attempts__gt=0).update(
        attempts=F("attempts") - 1)


@dataclass(frozen=True)
class PasswordCheck:
    """The outcome of one throttled password check: the user when the password was right."""

    user: Any | None
    attempt: Attempt

    @property
    def locked_by_signature(self) -> bool:
        return self.attempt.scope == "signature"


def password_check(*, username: str, password: str, ip: str | None,
                   request: Any = None) -> PasswordCheck:
    """The login's whole rule, for every place a user name and password are typed (the login
    page, the API's token endpoint): refused while sign-off failures lock the user, the attempt
    counted before the password is checked, a failure recorded, a success clearing the lock."""
    if is_locked(username):
        return PasswordCheck(user=None, attempt=Attempt(
            allowed=False, retry_after=settings.LOGIN_FAILURE_WINDOW_SECONDS, scope="signature"))
    attempt = login_attempt_reserve(username=username, ip=ip)
    if not attempt.allowed:
        return PasswordCheck(user=None, attempt=attempt)
    user = authenticate(request, username=username, password=password)
    if user is None:
        failure_record(username, ip, "login")
        return PasswordCheck(user=None, attempt=attempt)
    login_attempt_succeed(username=username, ip=ip)
    return PasswordCheck(user=user, attempt=attempt)


# Signature re-authentication (apps.review) checks, records and clears by user name: it runs for
# an authenticated user, so only that user's own session can lock signing.

def is_locked(username: str) -> bool:
    """Too many wrong passwords at sign-off for this user within the window."""
    recent = LoginFailure.objects.filter(username=username.lower(), purpose="signature",
                                         at__gte=timezone.now() - _window()).count()
    return recent >= settings.LOGIN_FAILURE_LIMIT


def failure_record(username: str, ip: str | None, purpose: str) -> None:
    LoginFailure.objects.create(username=username.lower()[:150], ip=ip or None, purpose=purpose)


def failures_clear(username: str) -> None:
    LoginFailure.objects.filter(username=username.lower(), purpose="signature").delete()
