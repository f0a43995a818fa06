from __future__ import annotations

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class AppendOnlyError(Exception):
    pass


class TimeStampedModel(models.Model):
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        abstract = True


class AuditEvent(models.Model):
    """One clinical action: who, when, what, and the values before and after.

    Rows are never updated or deleted: save() refuses an update, delete() refuses, and on
    PostgreSQL a trigger (migration 0002) refuses UPDATE and DELETE at the database level.
    """

    at = models.DateTimeField(auto_now_add=True, db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
        related_name="+",
    )
    actor_username = models.CharField(max_length=150, blank=True)
    action = models.CharField(max_length=64, db_index=True)
    object_type = models.CharField(max_length=64, db_index=True)
    object_id = models.CharField(max_length=64, db_index=True)
    object_repr = models.CharField(max_length=200, blank=True)
    before = models.JSONField(null=True, blank=True, encoder=DjangoJSONEncoder)
    after = models.JSONField(null=True, blank=True, encoder=DjangoJSONEncoder)
    detail = models.JSONField(default=dict, blank=True, encoder=DjangoJSONEncoder)

    class Meta:
        ordering = ["-at", "-id"]
        verbose_name = _("audit event")
        verbose_name_plural = _("audit events")

    def __str__(self) -> str:
        # In the laboratory's time zone, named (the admin's list shows local time too).
        at = timezone.localtime(self.at) if self.at else None
        when = f"{at:%Y-%m-%d %H:%M:%S %Z}" if at else "-"
        return f"{when} {self.actor_username or 'system'} {self.action}"

    def save(self, *args, **kwargs) -> None:  # type: ignore[no-untyped-def]
        if self.pk is not None and not self._state.adding:
            raise AppendOnlyError("Audit events are append-only.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        raise AppendOnlyError("Audit events are append-only.")


class LoginFailure(models.Model):
    """A failed password check (login or signature), for throttling."""

    username = models.CharField(max_length=150, db_index=True)
    ip = models.GenericIPAddressField(null=True, blank=True)
    purpose = models.CharField(max_length=16)  # "login" or "signature"
    at = models.DateTimeField(auto_now_add=True, db_index=True)

    def __str__(self) -> str:
        return f"{self.username} {self.purpose} {self.at:%Y-%m-%d %H:%M}"


class LoginThrottle(models.Model):
    """Password attempts counted in one fixed window, for one key (an address, an account on
    one address, an account from everywhere).

    A counter row is incremented with F() inside a transaction before the password is checked,
    so concurrent attempts each get their own number and none slips past the limit.
    """

    key = models.CharField(max_length=200, unique=True)
    window_start = models.DateTimeField()
    attempts = models.PositiveIntegerField(default=0)
    locked_audited = models.BooleanField(default=False)

    def __str__(self) -> str:
        return f"{self.key} {self.attempts} since {self.window_start:%Y-%m-%d %H:%M}"


class UserPreference(models.Model):
    """Per-user settings that follow the user from one browser to another."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE,
                                related_name="preference")
    language = models.CharField(max_length=8, blank=True)

    def __str__(self) -> str:
        return f"{self.user} {self.language or '-'}"
