"""The top bar links to the API tokens page for the users the API answers (a clinical role),
in their language; a user without a role, who could do nothing with a token, has no link."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse

LINK = re.compile(r'<a href="(?P<href>[^"]+)" id="api-tokens-link">(?P<text>[^<]+)</a>')


def _top_bar(page: str) -> str:
    return page[page.index('<header class="topbar">'):page.index("</header>")]


@pytest.mark.parametrize("role", ["technician", "biologist", "admin"])
def test_a_clinical_role_sees_the_link_in_the_top_bar(client, make_user, role):
    client.force_login(make_user(f"u-{role}", role))
    client.post("/i18n/setlang/", {"language": "fr", "next": "/"})
    link = LINK.search(_top_bar(client.get(reverse("specimen_list")).content.decode()))
    assert link is not None and link["href"] == reverse("api_tokens")
    assert link["text"] == "Jetons d'API"
    assert client.get(link["href"]).status_code == 200


def test_english_reads_api_tokens(client, biologist):
    client.force_login(biologist)
    client.post("/i18n/setlang/", {"language": "en", "next": "/"})
    link = LINK.search(_top_bar(client.get(reverse("worklist")).content.decode()))
    assert link is not None and link["text"] == "API tokens"


def test_a_user_without_a_role_has_no_link(client, make_user):
    client.force_login(make_user("nobody"))
    response = client.get(reverse("password_change"))
    assert response.status_code == 200
    bar = _top_bar(response.content.decode())
    assert "Log out" in bar or "Se déconnecter" in bar  # the bar of a logged-in user
    assert LINK.search(bar) is None and reverse("api_tokens") not in bar
