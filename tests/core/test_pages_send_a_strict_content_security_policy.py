"""Every page sends a Content-Security-Policy without inline script; the one inline script
carries the request's nonce, and no template uses inline event handlers."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

TEMPLATES = Path(__file__).resolve().parents[2] / "templates"


def _directives(response) -> dict[str, list[str]]:  # type: ignore[no-untyped-def]
    header = response["Content-Security-Policy"]
    out = {}
    for part in header.split(";"):
        name, *values = part.split()
        out[name] = values
    return out


def test_the_login_page_policy_allows_only_this_sites_scripts_and_the_nonce(client, db):
    response = client.get("/accounts/login/")
    policy = _directives(response)
    assert policy["default-src"] == ["'self'"]
    assert "'unsafe-inline'" not in policy["script-src"]
    assert "'unsafe-eval'" not in policy["script-src"]
    assert policy["object-src"] == ["'none'"]
    assert policy["frame-ancestors"] == ["'none'"]
    assert "'unsafe-inline'" not in policy["style-src"]
    (nonce,) = [v for v in policy["script-src"] if v.startswith("'nonce-")]
    page = response.content.decode()
    inline = re.findall(r"<script(?![^>]*\bsrc=)([^>]*)>", page)
    assert inline == [f' nonce="{nonce[7:-1]}"']


def test_the_nonce_changes_with_every_request(client, db):
    first = _directives(client.get("/accounts/login/"))["script-src"]
    second = _directives(client.get("/accounts/login/"))["script-src"]
    assert first != second


@pytest.mark.parametrize("path", ["/", "/specimens/", "/worklist/", "/accounts/password/"])
def test_logged_in_pages_send_the_policy_and_the_usual_headers(client, biologist, path):
    client.force_login(biologist)
    response = client.get(path, follow=True)
    assert response.status_code == 200
    assert "script-src 'self' 'nonce-" in response["Content-Security-Policy"]
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["X-Frame-Options"] == "DENY"
    assert response["Referrer-Policy"] == "same-origin"


def test_the_api_docs_load_their_start_up_script_from_a_url(client, biologist):
    client.force_login(biologist)
    page = client.get("/api/docs/").content.decode()
    assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", page)
    script = client.get("/api/docs/?script=")
    assert script.status_code == 200
    assert "SwaggerUIBundle" in script.content.decode()


def test_no_template_has_inline_event_handlers_or_unnonced_scripts():
    found = []
    for path in TEMPLATES.rglob("*.html"):
        if "reports" in path.parts:
            continue  # rendered to PDF on the server, never served to a browser
        text = path.read_text()
        for match in re.finditer(r"\son[a-z]+\s*=\s*[\"']", text):
            found.append(f"{path.relative_to(TEMPLATES)}: event handler {match.group().strip()}")
        for match in re.finditer(r"<script(?![^>]*\b(?:src|nonce)=)[^>]*>", text):
            found.append(f"{path.relative_to(TEMPLATES)}: inline {match.group()}")
    assert found == []
