from __future__ import annotations

from django.utils.translation import gettext_lazy as _
from rest_framework.authentication import TokenAuthentication
from rest_framework.exceptions import AuthenticationFailed

from .tokens import api_token_authenticate


class HashedTokenAuthentication(TokenAuthentication):
    """`Authorization: Token <token>`, checked against the stored hash (apps.api.tokens)."""

    def authenticate_credentials(self, key: str):  # type: ignore[no-untyped-def]
        token = api_token_authenticate(secret=key)
        if token is None:
            raise AuthenticationFailed(_("Invalid, expired or revoked token."))
        if not token.user.is_active:
            raise AuthenticationFailed(_("User inactive or deleted."))
        return (token.user, token)
