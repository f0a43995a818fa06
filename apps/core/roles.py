"""The three clinical roles. Each is a Django group; superusers count as admin."""

from __future__ import annotations

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

TECHNICIAN = "technician"
BIOLOGIST = "biologist"
ADMIN = "admin"
ROLES = (TECHNICIAN, BIOLOGIST, ADMIN)
# The role names a user reads (the group names stay the codes above).
ROLE_LABELS: dict[str, Promise] = {
    TECHNICIAN: _("technician"), BIOLOGIST: _("biologist"), ADMIN: _("administrator")}

# Who may do what. Views and API permissions check these sets, never group names directly.
CAN_VIEW = frozenset(ROLES)
CAN_IMPORT = frozenset({TECHNICIAN, BIOLOGIST, ADMIN})
CAN_REVIEW = frozenset({BIOLOGIST, ADMIN})
CAN_ADMINISTER = frozenset({ADMIN})


def user_roles(user: AbstractBaseUser | AnonymousUser) -> frozenset[str]:
    if not user.is_authenticated or not user.is_active:
        return frozenset()
    cached = getattr(user, "_hemaclinic_roles", None)
    if cached is not None:
        return cached
    roles = set(user.groups.filter(name__in=ROLES).values_list("name", flat=True))
    if user.is_superuser:
        roles.add(ADMIN)
    result = frozenset(roles)
    user._hemaclinic_roles = result  # type: ignore[union-attr]
    return result


def role_labels(roles: frozenset[str]) -> list[str]:
    """The roles held, in ROLES order, in the active language."""
    return [str(ROLE_LABELS[r]) for r in ROLES if r in roles]


def has_any_role(user: AbstractBaseUser | AnonymousUser, allowed: frozenset[str]) -> bool:
    return bool(user_roles(user) & allowed)
