"""The top bar names the user's roles in the user's language, never as the group codes."""

from __future__ import annotations

import pytest
from django.urls import reverse


def _who(page: str) -> str:
    start = page.index('<span class="who">')
    return page[start:page.index("</span>", start)]


@pytest.mark.parametrize(("language", "expected"), [
    ("fr", "cbio · technicien · biologiste"), ("en", "cbio · technician · biologist")])
def test_roles_read_in_the_language_of_the_page(client, make_user, language, expected):
    client.force_login(make_user("cbio", "biologist", "technician"))
    client.post("/i18n/setlang/", {"language": language, "next": "/"})
    who = _who(client.get(reverse("specimen_list")).content.decode())
    assert " ".join(who.split()).endswith(expected), who
