from __future__ import annotations

import math

from django import forms
from django.conf import settings
from django.contrib.auth import views as auth_views
from django.contrib.auth.forms import AuthenticationForm
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from . import throttle


def client_ip(request) -> str | None:  # type: ignore[no-untyped-def]
    """The client's address: REMOTE_ADDR, or the entry our own reverse proxy appended.

    With TRUSTED_PROXY_HOPS=n the n-th address from the right of X-Forwarded-For is taken:
    entries further left were written by the client and can be anything.
    """
    hops = settings.TRUSTED_PROXY_HOPS
    if hops:
        forwarded = [a.strip() for a in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")]
        forwarded = [a for a in forwarded if a]
        if len(forwarded) >= hops:
            return forwarded[-hops][:45]
    return request.META.get("REMOTE_ADDR")


class ThrottledAuthenticationForm(AuthenticationForm):
    error_messages = {
        **AuthenticationForm.error_messages,
        "locked": _("Too many failed attempts: this account is locked for a while. "
                    "Try again later or ask an administrator."),
    }

    def clean(self):  # type: ignore[no-untyped-def]
        username = self.cleaned_data.get("username") or ""
        password = self.cleaned_data.get("password") or ""
        if not username or not password:
            return super().clean()
        check = throttle.password_check(username=username, password=password,
                                        ip=client_ip(self.request), request=self.request)
        if check.locked_by_signature:
            # Wrong passwords at sign-off lock that user's login too (only their session
            # makes them).
            raise forms.ValidationError(self.error_messages["locked"], code="locked")
        if not check.attempt.allowed:
            minutes = math.ceil(check.attempt.retry_after / 60)
            raise forms.ValidationError(
                ngettext(
                    "Too many failed attempts: logging in is paused for %(minutes)d minute. "
                    "Try again later or ask an administrator.",
                    "Too many failed attempts: logging in is paused for %(minutes)d minutes. "
                    "Try again later or ask an administrator.",
                    minutes,
                ) % {"minutes": minutes},
                code="throttled",
            )
        if check.user is None:
            raise self.get_invalid_login_error()
        self.user_cache = check.user
        self.confirm_login_allowed(check.user)
        return self.cleaned_data


class LoginView(auth_views.LoginView):
    authentication_form = ThrottledAuthenticationForm
