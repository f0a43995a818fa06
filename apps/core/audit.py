"""Writing to the append-only audit trail. Call from services, inside their transaction."""

from __future__ import annotations

from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db import models
from django.utils import timezone

from .models import AuditEvent

# The user of the request being served, for changes that reach the audit through a signal
# (the admin editing a user's groups) rather than through a service that is handed the actor.
# Set by apps.core.middleware.AuditActorMiddleware; None in commands and tasks.
request_actor: ContextVar[AbstractBaseUser | AnonymousUser | None] = ContextVar(
    "request_actor", default=None)


def audit_record(
    *,
    actor: AbstractBaseUser | AnonymousUser | None,
    action: str,
    obj: models.Model,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
    detail: dict[str, Any] | None = None,
) -> AuditEvent:
    user = actor if actor is not None and actor.is_authenticated else None
    return AuditEvent.objects.create(
        actor=user,
        actor_username=user.get_username() if user is not None else "",
        action=action,
        object_type=obj._meta.label_lower,
        object_id=str(obj.pk),
        object_repr=str(obj)[:200],
        before=in_utc(before),
        after=in_utc(after),
        detail=in_utc(detail or {}),
    )


def in_utc(value: Any) -> Any:
    """``value`` with every aware datetime in it (nested in dicts and lists) brought to UTC, so
    that the trail writes every time one way ("...Z"): a time typed in a form arrives in the
    laboratory's zone ("+01:00"), one read from the database in UTC."""
    if isinstance(value, datetime) and timezone.is_aware(value):
        return value.astimezone(UTC)
    if isinstance(value, dict):
        return {k: in_utc(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [in_utc(v) for v in value]
    return value


def snapshot(obj: models.Model, fields: list[str]) -> dict[str, Any]:
    """The audited fields of a row, as plain values (foreign keys as ids)."""
    out: dict[str, Any] = {}
    for name in fields:
        field = obj._meta.get_field(name)
        out[name] = getattr(obj, field.attname)
    return out
