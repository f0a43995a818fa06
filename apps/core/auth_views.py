from __future__ import annotations

from django import forms
from django.contrib.auth import views as auth_views
from django.contrib.auth.forms import AuthenticationForm
from django.utils.translation import gettext_lazy as _

from . import throttle


def client_ip(request) -> str | None:  # type: ignore[no-untyped-def]
    # Behind the reverse proxy REMOTE_ADDR is the proxy; good enough for a failure log.
    return request.META.get("REMOTE_ADDR")


class ThrottledAuthenticationForm(AuthenticationForm):
    error_messages = {
        **AuthenticationForm.error_messages,
        "locked": _("Too many failed attempts: this account is locked for a while. "
                    "Try again later or ask an administrator."),
    }

    def clean(self):  # type: ignore[no-untyped-def]
        username = self.cleaned_data.get("username") or ""
        if username and throttle.is_locked(username):
            raise forms.ValidationError(self.error_messages["locked"], code="locked")
        try:
            cleaned = super().clean()
        except forms.ValidationError:
            if username:
                throttle.failure_record(username, client_ip(self.request), "login")
            raise
        throttle.failures_clear(username)
        return cleaned


class LoginView(auth_views.LoginView):
    authentication_form = ThrottledAuthenticationForm
