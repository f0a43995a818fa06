"""The API tokens page: a user sees their own tokens by prefix, creates one with their password
(shown once), and revokes one; nobody sees or revokes another user's tokens."""

from __future__ import annotations

import re

from django.test import Client
from django.urls import reverse

from apps.api.models import ApiToken
from apps.api.tokens import api_token_create

PASSWORD = "correct-horse-battery"  # the make_user fixture's


def _api(secret: str) -> int:
    return Client().get("/api/specimens/", HTTP_AUTHORIZATION=f"Token {secret}").status_code


def test_the_page_lists_own_tokens_by_prefix_only(client, technician, make_user):
    mine = api_token_create(user=technician, name="LIS bridge")
    theirs = api_token_create(user=make_user("other", "technician"), name="their script")
    client.force_login(technician)
    page = client.get(reverse("api_tokens")).content.decode()
    assert mine.token.prefix in page and "LIS bridge" in page
    assert mine.secret not in page
    assert theirs.token.prefix not in page and "their script" not in page
    assert "never" in page  # not used yet


def test_a_token_created_on_the_page_is_shown_once_and_works(client, technician):
    client.force_login(technician)
    url = reverse("api_tokens")
    refused = client.post(url, {"name": "x", "lifetime_days": 30, "password": "wrong"})
    assert refused.status_code == 200 and "Wrong password." in refused.content.decode()
    assert not ApiToken.objects.exists()

    response = client.post(url, {"name": "analyser bridge", "lifetime_days": 30,
                                 "password": PASSWORD})
    assert response["Cache-Control"] == "private, no-store"
    secret = re.search(r'id="token-value">([^<]+)<', response.content.decode()).group(1)
    assert _api(secret) == 200
    # Shown once: the next visit lists the token by its prefix only.
    again = client.get(url).content.decode()
    assert secret not in again and secret[:10] in again
    assert "Last used" in again and "never" not in again


def test_revoking_from_the_page(client, technician, make_user):
    issued = api_token_create(user=technician)
    client.force_login(technician)
    response = client.post(reverse("api_token_revoke", args=[issued.token.pk]), follow=True)
    assert "revoked" in response.content.decode()
    assert _api(issued.secret) == 401

    other = api_token_create(user=make_user("other", "technician"))
    assert client.post(reverse("api_token_revoke", args=[other.token.pk])).status_code == 404
    assert client.get(reverse("api_token_revoke", args=[issued.token.pk])).status_code == 405
    assert _api(other.secret) == 200


def test_the_page_needs_login(client, db):
    assert client.get(reverse("api_tokens")).status_code == 302
