"""API tokens: obtained with a user name and password (throttled as the login), shown once,
stored as a hash and a prefix, expiring, revoked by their owner; DRF's clear-text tokens are
moved to hashed storage by the migration."""

from __future__ import annotations

import hashlib
import importlib
from datetime import timedelta
from types import SimpleNamespace

import pytest
from django.apps import apps
from django.contrib.auth import get_user_model
from django.db import connection
from django.test import Client
from django.utils import timezone

from apps.api.models import ApiToken
from apps.api.tokens import TokenRefusedError, api_token_create
from apps.core.models import AuditEvent

PASSWORD = "correct-horse-battery"  # the make_user fixture's
User = get_user_model()
OBTAIN = "/api/auth/token/"
REVOKE = "/api/auth/token/revoke/"


def _obtain(client: Client, username: str, password: str, ip: str = "10.0.0.1", **extra):
    return client.post(OBTAIN, {"username": username, "password": password, **extra},
                       content_type="application/json", REMOTE_ADDR=ip)


def _get(token: str, path: str = "/api/specimens/S-0001/"):
    return Client().get(path, HTTP_AUTHORIZATION=f"Token {token}")


@pytest.fixture
def limits(settings):  # type: ignore[no-untyped-def]
    settings.LOGIN_FAILURE_LIMIT = 5
    settings.LOGIN_FAILURE_LIMIT_PER_ADDRESS = 20
    settings.LOGIN_FAILURE_LIMIT_PER_ACCOUNT = 50
    settings.LOGIN_FAILURE_WINDOW_SECONDS = 900
    return settings


def test_a_token_is_shown_once_and_only_its_hash_is_stored(client, technician, specimen):
    response = _obtain(client, "tech", PASSWORD, name="LIS bridge", expires_in_days=30)
    assert response.status_code == 201, response.content
    body = response.json()
    secret = body["token"]
    assert len(secret) > 40 and body["prefix"] == secret[:10] and body["name"] == "LIS bridge"
    row = ApiToken.objects.get(user=technician)
    assert row.digest == hashlib.sha256(secret.encode()).hexdigest()
    # The secret is nowhere in the database row, nor in the audit trail.
    assert secret not in repr(list(ApiToken.objects.values()))
    assert secret not in repr(list(AuditEvent.objects.values()))
    assert AuditEvent.objects.filter(action="api_token.created", object_id=str(row.pk)).exists()
    assert timedelta(days=29) < row.expires_at - timezone.now() <= timedelta(days=30)

    answer = _get(secret)
    assert answer.status_code == 200 and answer.json()["accession"] == "S-0001"
    row.refresh_from_db()
    assert row.last_used_at is not None
    # The digest itself, or the prefix, is no token.
    assert _get(row.digest).status_code == 401
    assert _get(row.prefix).status_code == 401


def test_wrong_credentials_get_no_token(client, technician):
    assert _obtain(client, "tech", "wrong").status_code == 400
    # Said in the reader's language, as every error detail is.
    french = client.post(OBTAIN, {"username": "tech", "password": "wrong"},
                         content_type="application/json", REMOTE_ADDR="10.0.0.1",
                         HTTP_ACCEPT_LANGUAGE="fr")
    assert french.json()["detail"] == "Connexion impossible avec ces identifiants."
    assert _obtain(client, "nobody", PASSWORD).status_code == 400
    assert not ApiToken.objects.exists()


def test_an_account_without_a_role_gets_no_token(client, make_user, technician):
    """Every call with it would be refused: such a credential is not issued, by the API or the
    tokens page; the account's password is right, so it is told why."""
    make_user("norole")
    refused = _obtain(client, "norole", PASSWORD)
    assert refused.status_code == 403
    assert "no role" in refused.json()["detail"]
    client.force_login(User.objects.get(username="norole"))
    page = client.post("/accounts/tokens/", {"name": "x", "lifetime_days": 30,
                                             "password": PASSWORD})
    assert page.status_code == 200
    assert "Your account has no role in the laboratory" in page.content.decode()
    assert not ApiToken.objects.exists()
    with pytest.raises(TokenRefusedError):
        api_token_create(user=User.objects.get(username="norole"))
    assert _obtain(Client(), "tech", PASSWORD).status_code == 201


def test_token_attempts_are_throttled_with_the_login_counters(client, technician, limits):
    for _ in range(5):
        assert _obtain(client, "tech", "wrong").status_code == 400
    refused = _obtain(client, "tech", PASSWORD)
    assert refused.status_code == 429
    assert int(refused["Retry-After"]) > 0
    # The same counters as the login page: the account is paused there too, on that address.
    page = Client().post("/accounts/login/", {"username": "tech", "password": PASSWORD},
                         REMOTE_ADDR="10.0.0.1")
    assert "paused" in page.content.decode()
    # Another address still gets its token.
    assert _obtain(Client(), "tech", PASSWORD, ip="10.0.0.2").status_code == 201


def test_spraying_accounts_for_tokens_from_one_address_is_stopped(client, make_user, limits):
    for i in range(20):
        make_user(f"user{i}")
        assert _obtain(client, f"user{i}", "Summer2024!").status_code == 400
    make_user("late")
    assert _obtain(client, "late", PASSWORD).status_code == 429


def test_an_expired_token_no_longer_authenticates(technician, specimen):
    issued = api_token_create(user=technician, lifetime_days=1)
    assert _get(issued.secret).status_code == 200
    ApiToken.objects.filter(pk=issued.token.pk).update(expires_at=timezone.now())
    assert _get(issued.secret).status_code == 401


def test_revoking_the_presented_token_or_another_by_prefix(technician, make_user, specimen):
    first = api_token_create(user=technician)
    second = api_token_create(user=technician)
    client = Client()
    response = client.post(REVOKE, HTTP_AUTHORIZATION=f"Token {first.secret}")
    assert response.status_code == 200 and response.json()["prefix"] == first.token.prefix
    assert _get(first.secret).status_code == 401
    assert _get(second.secret).status_code == 200
    assert AuditEvent.objects.filter(action="api_token.revoked",
                                     object_id=str(first.token.pk)).exists()

    # Another user's token cannot be revoked by its prefix: 404, and it still works.
    other = api_token_create(user=make_user("other", "technician"))
    response = client.post(REVOKE, {"prefix": other.token.prefix},
                           content_type="application/json",
                           HTTP_AUTHORIZATION=f"Token {second.secret}")
    assert response.status_code == 404
    assert _get(other.secret).status_code == 200

    response = client.post(REVOKE, {"prefix": second.token.prefix},
                           content_type="application/json",
                           HTTP_AUTHORIZATION=f"Token {second.secret}")
    assert response.status_code == 200
    assert _get(second.secret).status_code == 401
    assert Client().post(REVOKE).status_code == 401


def test_the_token_endpoints_are_in_the_openapi_schema(client, technician):
    client.force_login(technician)
    schema = client.get("/api/schema/", HTTP_ACCEPT="application/json").content.decode()
    assert "/api/auth/token/" in schema and "/api/auth/token/revoke/" in schema


def test_the_migration_hashes_existing_clear_text_tokens(technician, specimen):
    from rest_framework.authtoken.models import Token

    legacy = Token.objects.create(user=technician)
    assert _get(legacy.key).status_code == 401  # clear-text rows are no longer read
    migration = importlib.import_module("apps.api.migrations.0002_hash_existing_tokens")
    migration.hash_existing_tokens(apps, SimpleNamespace(
        connection=connection, quote_name=connection.ops.quote_name))

    assert not Token.objects.exists()
    row = ApiToken.objects.get(user=technician)
    assert row.prefix == legacy.key[:8] and row.name == "migrated"
    assert row.digest == hashlib.sha256(legacy.key.encode()).hexdigest()
    assert legacy.key not in repr(list(ApiToken.objects.values()))
    assert row.expires_at > timezone.now() + timedelta(days=89)
    # The client that held the old key keeps working.
    assert _get(legacy.key).status_code == 200
