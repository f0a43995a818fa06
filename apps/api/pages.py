"""The API tokens page: a user's own tokens (prefix, created, last used), new ones, revocation."""

from __future__ import annotations

import math

from django import forms
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_POST

from apps.core.auth_views import client_ip

from . import tokens
from .models import ApiToken


class TokenCreateForm(forms.Form):
    name = forms.CharField(label=_("What is it for?"), max_length=100, required=False)
    lifetime_days = forms.IntegerField(label=_("Valid for (days)"), min_value=1,
                                       max_value=tokens.MAX_LIFETIME_DAYS,
                                       initial=tokens.LIFETIME_DAYS)
    password = forms.CharField(label=_("Your password"), strip=False,
                               widget=forms.PasswordInput(attrs={
                                   "autocomplete": "current-password"}))


def token_list(request: HttpRequest) -> HttpResponse:
    """GET: the user's tokens. POST: a new token, checked with the user's password (a session
    left open is not enough to mint a long-lived credential) and shown on this answer only."""
    issued = None
    form = TokenCreateForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            issued = tokens.api_token_obtain(
                username=request.user.get_username(), password=form.cleaned_data["password"],
                ip=client_ip(request), name=form.cleaned_data["name"],
                lifetime_days=form.cleaned_data["lifetime_days"])
        except tokens.TokenRefusedError as exc:
            if exc.code == "invalid":
                form.add_error("password", _("Wrong password."))
            elif exc.code == "no_role":
                form.add_error(None, _("Your account has no role in the laboratory (technician, "
                                       "biologist or administrator): no token is issued. Ask an "
                                       "administrator."))
            else:
                minutes = math.ceil(exc.retry_after / 60)
                form.add_error(None, ngettext(
                    "Too many failed attempts: try again in %(minutes)d minute.",
                    "Too many failed attempts: try again in %(minutes)d minutes.",
                    minutes) % {"minutes": minutes})
        else:
            form = TokenCreateForm()
    response = render(request, "api/tokens.html", {
        "tokens": tokens.api_tokens_of(user=request.user), "form": form, "issued": issued})
    if issued is not None:
        response["Cache-Control"] = "private, no-store"  # the only copy of the token
    return response


@require_POST
def token_revoke(request: HttpRequest, token_id: int) -> HttpResponse:
    token = get_object_or_404(ApiToken, pk=token_id, user=request.user)
    tokens.api_token_revoke(actor=request.user, token=token)
    messages.success(request, _("Token %(prefix)s… revoked.") % {"prefix": token.prefix})
    return redirect("api_tokens")
