from __future__ import annotations

from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect
from django.contrib.auth.decorators import login_not_required


def home(request: HttpRequest) -> HttpResponse:
    return redirect("specimen_list")


@login_not_required
def health(request: HttpRequest) -> JsonResponse:
    """Liveness for the reverse proxy: the database answers."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return JsonResponse({"status": "ok"})
