"""The three clinical roles. Each is a Django group; superusers count as admin."""

from __future__ import annotations

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser

TECHNICIAN = "technician"
BIOLOGIST = "biologist"
ADMIN = "admin"
ROLES = (TECHNICIAN, BIOLOGIST, ADMIN)

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


def has_any_role(user: AbstractBaseUser | AnonymousUser, allowed: frozenset[str]) -> bool:
    return bool(user_roles(user) & allowed)
