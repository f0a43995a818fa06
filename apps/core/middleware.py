from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse
from django.utils import translation

from .audit import request_actor
from .models import UserPreference


class UserLanguageMiddleware:
    """Use the logged-in user's chosen language (after LocaleMiddleware's browser guess)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            language = (UserPreference.objects.filter(user=user)
                        .values_list("language", flat=True).first())
            if language:
                translation.activate(language)
                request.LANGUAGE_CODE = language
        response = self.get_response(request)
        response.headers.setdefault("Content-Language", translation.get_language())
        return response


class AuditActorMiddleware:
    """Make the request's user known to audit receivers (see audit.request_actor)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        token = request_actor.set(getattr(request, "user", None))
        try:
            return self.get_response(request)
        finally:
            request_actor.reset(token)
