from __future__ import annotations

from django.contrib.auth.decorators import login_not_required
from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect

from .roles import CAN_REVIEW, has_any_role


def home(request: HttpRequest) -> HttpResponse:
    # Biologists start from their worklist; technicians from the specimens they register.
    return redirect("worklist" if has_any_role(request.user, CAN_REVIEW) else "specimen_list")


@login_not_required
def health(request: HttpRequest) -> JsonResponse:
    """Liveness for the reverse proxy: the database answers."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return JsonResponse({"status": "ok"})
