"""Role and permission changes are audited wherever they are made (admin, shell, bootstrap);
the SQLite database file is kept private to the service user.

A role is a group (apps.core.roles), so adding a user to "biologist" is what lets them sign:
each change of a user's groups, of a user's or a group's permissions, and of the superuser,
staff or active flags writes an audit event with the values before and after.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group, Permission
from django.db import models
from django.db.backends.signals import connection_created
from django.db.models.signals import m2m_changed, pre_save
from django.dispatch import receiver

from .audit import audit_record, request_actor

User = get_user_model()
_FLAGS = ("is_superuser", "is_staff", "is_active")


def _names(model: type[models.Model], pks: set[Any] | None) -> list[str]:
    if not pks:
        return []
    if model is Permission:
        rows = Permission.objects.filter(pk__in=pks).select_related("content_type")
        return sorted(f"{p.content_type.app_label}.{p.codename}" for p in rows)
    return sorted(str(obj) for obj in model._default_manager.filter(pk__in=pks))


def _m2m_audit(*, owner: models.Model, field: str, action: str, model: type[models.Model],
               pk_set: set[Any] | None) -> None:
    manager = getattr(owner, field)
    current = set(manager.values_list("pk", flat=True))
    if action == "post_add":
        before, after = current - set(pk_set or ()), current
    elif action == "post_remove":
        before, after = current | set(pk_set or ()), current
    else:  # pre_clear: the set is still there
        before, after = current, set()
    if before == after:
        return
    audit_record(actor=request_actor.get(), action=f"{owner._meta.model_name}.{field}.change",
                 obj=owner, before={field: _names(model, before)},
                 after={field: _names(model, after)})


def _on_m2m(field: str, owner_model: type[models.Model]):  # type: ignore[no-untyped-def]
    def handler(sender, instance, action, reverse, model, pk_set, **kwargs):  # type: ignore[no-untyped-def]
        if action not in {"post_add", "post_remove", "pre_clear"}:
            return
        if not reverse:
            _m2m_audit(owner=instance, field=field, action=action, model=model, pk_set=pk_set)
            return
        # group.user_set.add(user): one event per user whose groups changed.
        if action == "pre_clear":
            owners = owner_model._default_manager.filter(**{field: instance})
        else:
            owners = owner_model._default_manager.filter(pk__in=pk_set or ())
        for owner in owners:
            _m2m_audit(owner=owner, field=field, action=action, model=type(instance),
                       pk_set={instance.pk})
    return handler


_user_groups = _on_m2m("groups", User)
_user_permissions = _on_m2m("user_permissions", User)
_group_permissions = _on_m2m("permissions", Group)
m2m_changed.connect(_user_groups, sender=User.groups.through, weak=False)
m2m_changed.connect(_user_permissions, sender=User.user_permissions.through, weak=False)
m2m_changed.connect(_group_permissions, sender=Group.permissions.through, weak=False)


@receiver(pre_save, sender=User)
def _user_flags(sender, instance, update_fields=None, **kwargs):  # type: ignore[no-untyped-def]
    if instance._state.adding or instance.pk is None:
        return
    if update_fields is not None and not set(update_fields) & set(_FLAGS):
        return  # last_login and the like
    old = User._default_manager.filter(pk=instance.pk).values(*_FLAGS).first()
    if old is None:
        return
    new = {flag: getattr(instance, flag) for flag in _FLAGS}
    changed = [flag for flag in _FLAGS if old[flag] != new[flag]]
    if changed:
        audit_record(actor=request_actor.get(), action="user.flags.change", obj=instance,
                     before={f: old[f] for f in changed}, after={f: new[f] for f in changed})


@receiver(connection_created)
def _sqlite_file_private(sender, connection, **kwargs):  # type: ignore[no-untyped-def]
    # SQLite creates its file (and the -wal/-shm files) with the process umask, often 0644:
    # the whole clinical database readable by every local account.
    if connection.vendor != "sqlite":
        return
    name = str(connection.settings_dict["NAME"])
    if name.startswith(":memory:") or "mode=memory" in name:
        return
    for suffix in ("", "-wal", "-shm"):
        path = Path(name + suffix)
        try:
            if stat.S_IMODE(path.stat().st_mode) & 0o077:
                os.chmod(path, 0o600)
        except FileNotFoundError:
            continue
