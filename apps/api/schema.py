"""The API's OpenAPI generation: every operation documents the errors it can answer with.

drf-spectacular documents only the success responses a view declares. The errors that DRF and
these views give to every request of a kind are added here, from what the operation is, so
that a new view cannot forget them: 401/403 without a token or a clinical role, 404 for an
unknown path identifier or page, 400/415 for a body that is invalid or of another media type.
Errors particular to one operation (409 signed, 422 refused import, 429 throttled) are declared
on the view itself.
"""

from __future__ import annotations

from http import HTTPStatus
from typing import Any

from drf_spectacular.openapi import AutoSchema
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse
from rest_framework import serializers
from rest_framework.permissions import AllowAny


class ErrorSerializer(serializers.Serializer):
    detail = serializers.CharField(help_text="What went wrong, in the reader's language.")
    code = serializers.CharField(required=False,
                                 help_text="A stable code where the answer has one.")


def error(description: str) -> OpenApiResponse:
    return OpenApiResponse(ErrorSerializer, description=description)


VALIDATION_ERROR = OpenApiResponse(
    OpenApiTypes.OBJECT,
    description="Invalid request: either {\"detail\": ...} or, per field, the list of what is "
                "wrong with it ({\"field\": [\"...\"]}, \"non_field_errors\" for the whole).")


class ApiAutoSchema(AutoSchema):
    """AutoSchema adding the errors common to an operation's kind (see the module docstring)."""

    def _common_errors(self) -> dict[int, Any]:
        errors: dict[int, Any] = {}
        if not all(isinstance(p, AllowAny) for p in self.view.get_permissions()):
            errors[401] = error("No valid token or session.")
            errors[403] = error("The user holds no role allowed to do this.")
        if "{" in self.path:
            errors[404] = error("Nothing with this identifier.")
        if self.method == "GET" and self._is_list_view() and self._get_paginator() is not None:
            errors[404] = error("No such page.")
        if self.method in ("POST", "PUT", "PATCH") and self.get_request_serializer() is not None:
            errors[400] = VALIDATION_ERROR
            errors[415] = error("The body's media type is not one this operation reads.")
        return errors

    def _get_response_bodies(self, direction: Any = "response") -> dict[str, Any]:
        responses = super()._get_response_bodies(direction)
        for code, response in sorted(self._common_errors().items()):
            if str(code) not in responses:
                responses[str(code)] = self._get_response_for_code(
                    response, str(code), direction=direction)
                if not responses[str(code)].get("description"):
                    responses[str(code)]["description"] = HTTPStatus(code).phrase
        return dict(sorted(responses.items()))
