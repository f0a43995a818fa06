"""API tokens: issued with a user name and password, stored hashed, revoked by their owner.

A token is 32 random bytes (URL-safe base64) behind a fixed "hc_" marker. Only its SHA-256 is
kept, with its first characters so that its owner can tell tokens apart. A fast hash is enough
here, unlike for passwords: a 256-bit random secret cannot be guessed from its digest, so the
slowness that protects a weak password buys nothing and would cost every API request.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.db import transaction
from django.utils import timezone

from apps.core import roles, throttle
from apps.core.audit import audit_record

from .models import ApiToken, TokenState

MARKER = "hc_"
PREFIX_LENGTH = 10  # the marker and 7 random characters: enough to tell one's tokens apart
LIFETIME_DAYS = 90
MAX_LIFETIME_DAYS = 365
# last_used_at is written at most once a minute per token: not one write per API request.
LAST_USED_RESOLUTION = timedelta(seconds=60)


@dataclass(frozen=True)
class IssuedToken:
    """A token just created: `secret` is the full token, returned this once and never stored."""

    token: ApiToken
    secret: str


class TokenRefusedError(Exception):
    """No token: wrong credentials ("invalid"), attempts throttled ("throttled", "locked"), or
    an account with no role in the laboratory ("no_role": every call would be refused)."""

    def __init__(self, code: str, retry_after: int = 0) -> None:
        super().__init__(code)
        self.code = code
        self.retry_after = retry_after


def token_digest(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


@transaction.atomic
def api_token_create(*, user: Any, name: str = "", lifetime_days: int = LIFETIME_DAYS,
                     ip: str | None = None) -> IssuedToken:
    """A new token for `user`, valid `lifetime_days` (1 to MAX_LIFETIME_DAYS); audited.
    TokenRefusedError("no_role") for an account without a role: a credential that can do
    nothing is not issued (its tokens made before a role was withdrawn it can still list and
    revoke)."""
    if not 1 <= lifetime_days <= MAX_LIFETIME_DAYS:
        raise ValueError(f"lifetime_days must be between 1 and {MAX_LIFETIME_DAYS}")
    if not roles.user_roles(user) & roles.CAN_VIEW:
        raise TokenRefusedError("no_role")
    secret = MARKER + secrets.token_urlsafe(32)
    now = timezone.now()
    token = ApiToken.objects.create(
        user=user, name=name.strip()[:100], prefix=secret[:PREFIX_LENGTH],
        digest=token_digest(secret), created_at=now,
        expires_at=now + timedelta(days=lifetime_days))
    audit_record(actor=user, action="api_token.created", obj=token, detail={
        "prefix": token.prefix, "name": token.name, "expires_at": token.expires_at, "ip": ip})
    return IssuedToken(token=token, secret=secret)


def api_token_obtain(*, username: str, password: str, ip: str | None, name: str = "",
                     lifetime_days: int = LIFETIME_DAYS) -> IssuedToken:
    """A new token for whoever the user name and password name, checked and throttled exactly
    as the login page (apps.core.throttle.password_check); TokenRefusedError otherwise."""
    check = throttle.password_check(username=username, password=password, ip=ip)
    if check.locked_by_signature:
        raise TokenRefusedError("locked", check.attempt.retry_after)
    if not check.attempt.allowed:
        raise TokenRefusedError("throttled", check.attempt.retry_after)
    if check.user is None:
        raise TokenRefusedError("invalid")
    return api_token_create(user=check.user, name=name, lifetime_days=lifetime_days, ip=ip)


@transaction.atomic
def api_token_revoke(*, actor: Any, token: ApiToken) -> ApiToken:
    """Revoke `token` (its owner's act); revoking a revoked token changes nothing."""
    token = ApiToken.objects.select_for_update().get(pk=token.pk)
    if token.revoked_at is None:
        token.revoked_at = timezone.now()
        token.save(update_fields=["revoked_at"])
        audit_record(actor=actor, action="api_token.revoked", obj=token,
                     detail={"prefix": token.prefix, "name": token.name})
    return token


def api_token_authenticate(*, secret: str) -> ApiToken | None:
    """The active token whose hash matches the presented `secret`, or None."""
    if not secret:
        return None
    token = (ApiToken.objects.select_related("user")
             .filter(digest=token_digest(secret)).first())
    now = timezone.now()
    if token is None or token.state(now) is not TokenState.ACTIVE:
        return None
    if token.last_used_at is None or now - token.last_used_at >= LAST_USED_RESOLUTION:
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
        token.last_used_at = now
    return token


def api_tokens_of(*, user: Any) -> list[ApiToken]:
    """A user's tokens, newest first, for the tokens page."""
    return list(ApiToken.objects.filter(user=user))
