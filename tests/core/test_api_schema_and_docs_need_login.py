"""The OpenAPI schema and its docs are for logged-in staff with a role, not for anyone."""

from __future__ import annotations

import pytest


@pytest.mark.parametrize("path", ["/api/schema/", "/api/docs/", "/api/docs/?script="])
def test_anonymous_requests_are_refused(client, db, path):
    response = client.get(path)
    assert response.status_code in {302, 401, 403}
    assert b"openapi" not in response.content.lower()
    assert b"SwaggerUIBundle" not in response.content


def test_a_user_without_a_role_is_refused(client, make_user):
    client.force_login(make_user("norole"))
    assert client.get("/api/schema/").status_code == 403


def test_staff_with_a_role_read_the_schema(client, technician):
    client.force_login(technician)
    response = client.get("/api/schema/")
    assert response.status_code == 200
    assert b"openapi" in response.content
