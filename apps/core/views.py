from __future__ import annotations

from django.contrib.auth.decorators import login_not_required
from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect
from django.views.decorators.http import require_POST

from .roles import CAN_REVIEW, has_any_role


@login_not_required
@require_POST
def language_set(request: HttpRequest) -> HttpResponse:
    """Switch the interface language and remember it for this user on every browser."""
    from django.conf import settings
    from django.views.i18n import set_language

    from .models import UserPreference

    language = request.POST.get("language", "")
    if language in dict(settings.LANGUAGES) and request.user.is_authenticated:
        UserPreference.objects.update_or_create(user=request.user,
                                                defaults={"language": language})
    return set_language(request)


def home(request: HttpRequest) -> HttpResponse:
    # Biologists start from their worklist; technicians from the specimens they register.
    return redirect("worklist" if has_any_role(request.user, CAN_REVIEW) else "specimen_list")


@login_not_required
def health(request: HttpRequest) -> JsonResponse:
    """Liveness for the reverse proxy: the database answers."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return JsonResponse({"status": "ok"})
