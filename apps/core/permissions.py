"""Role checks shared by the HTML views and the REST API."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from rest_framework.permissions import SAFE_METHODS, BasePermission

from . import roles


def role_required(allowed: frozenset[str]) -> Callable:
    """Decorate a view: 403 unless the (logged-in) user holds one of `allowed`."""

    def decorator(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
        @wraps(view)
        def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            if not roles.has_any_role(request.user, allowed):
                raise PermissionDenied
            return view(request, *args, **kwargs)

        return wrapper

    return decorator


class HasClinicalRole(BasePermission):
    """Reads for any clinical role; writes for those who may import."""

    def has_permission(self, request, view) -> bool:  # type: ignore[no-untyped-def]
        if request.method in SAFE_METHODS:
            return roles.has_any_role(request.user, roles.CAN_VIEW)
        return roles.has_any_role(request.user, getattr(view, "write_roles", roles.CAN_IMPORT))


class HasReviewRole(BasePermission):
    """A biologist's (or admin's) read: the result message released to the laboratory system,
    as its download from the case page (``role_required(roles.CAN_REVIEW)``)."""

    def has_permission(self, request, view) -> bool:  # type: ignore[no-untyped-def]
        return roles.has_any_role(request.user, roles.CAN_REVIEW)
