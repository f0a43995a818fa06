"""Login attempts are counted per account on an address, per address and per account, atomically;
a lock ends with its window, is audited once, and never locks the account's owner out of signing."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from django.db import connection
from django.db.models import F
from django.test import Client

from apps.core import throttle
from apps.core.models import AuditEvent, LoginThrottle

PASSWORD = "correct-horse-battery"  # the make_user fixture's


def _login(client: Client, username: str, password: str, ip: str = "10.0.0.1"):
    return client.post("/accounts/login/", {"username": username, "password": password},
                       REMOTE_ADDR=ip)


@pytest.fixture
def limits(settings):  # type: ignore[no-untyped-def]
    settings.LOGIN_FAILURE_LIMIT = 5
    settings.LOGIN_FAILURE_LIMIT_PER_ADDRESS = 20
    settings.LOGIN_FAILURE_LIMIT_PER_ACCOUNT = 50
    settings.LOGIN_FAILURE_WINDOW_SECONDS = 900
    return settings


def test_five_wrong_passwords_lock_the_account_on_that_address_only(client, biologist, limits):
    for _ in range(5):
        assert _login(client, "bio", "wrong").status_code == 200
    response = _login(client, "bio", PASSWORD)
    assert response.status_code == 200
    assert "logging in is paused for 15 minutes" in response.content.decode()
    assert "_auth_user_id" not in client.session
    # The biologist's own workstation is another address: not locked out by the stranger.
    assert _login(Client(), "bio", PASSWORD, ip="10.0.0.2").status_code == 302
    # Nor out of signing: that counter is the signature's own.
    assert not throttle.is_locked("bio")


def test_spraying_many_accounts_from_one_address_is_stopped(client, make_user, limits):
    for i in range(20):
        make_user(f"user{i}")
        assert "paused" not in _login(client, f"user{i}", "Summer2024!").content.decode()
    make_user("late")
    assert "paused" in _login(client, "late", PASSWORD).content.decode()
    assert _login(Client(), "late", PASSWORD, ip="10.0.0.9").status_code == 302


def test_attempts_are_counted_before_the_password_is_checked(db, limits):
    # Forty attempts reserved before any of them finishes its password check: five get through.
    verdicts = [throttle.login_attempt_reserve(username="bio", ip="10.0.0.1")
                for _ in range(40)]
    assert sum(v.allowed for v in verdicts) == 5
    assert LoginThrottle.objects.get(key="login:account-address:bio|10.0.0.1").attempts == 40


@pytest.mark.django_db(transaction=True)
def test_concurrent_attempts_never_pass_the_limit(limits):
    start = threading.Barrier(8)
    allowed: list[bool] = []
    errors: list[BaseException] = []

    def attempt() -> None:
        try:
            start.wait(timeout=30)
            for _ in range(5):
                allowed.append(throttle.login_attempt_reserve(username="bio", ip="10.0.0.1")
                               .allowed)
        except BaseException as exc:  # reported below, in the test's thread
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=attempt) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not errors, errors
    assert len(allowed) == 40
    assert sum(allowed) == 5
    assert LoginThrottle.objects.get(key="login:account-address:bio|10.0.0.1").attempts == 40


def test_the_lock_ends_with_its_window(client, biologist, limits):
    for _ in range(6):
        _login(client, "bio", "wrong")
    assert "paused" in _login(client, "bio", PASSWORD).content.decode()
    LoginThrottle.objects.update(window_start=F("window_start") - timedelta(seconds=901))
    assert _login(client, "bio", PASSWORD).status_code == 302


def test_a_lock_is_audited_once_per_window(client, biologist, limits):
    for _ in range(9):
        _login(client, "bio", "wrong")
    (event,) = AuditEvent.objects.filter(action="login.throttled")
    assert event.actor is None
    assert event.detail["username"] == "bio"
    assert event.detail["ip"] == "10.0.0.1"
    assert event.detail["scope"] == "account"


def test_the_right_password_clears_the_account_counter(client, biologist, limits):
    for _ in range(4):
        _login(client, "bio", "wrong")
    assert _login(client, "bio", PASSWORD).status_code == 302
    client.logout()
    for _ in range(4):
        _login(client, "bio", "wrong")
    assert _login(client, "bio", PASSWORD).status_code == 302


def test_the_client_address_is_the_one_the_proxy_appended(client, biologist, limits):
    limits.TRUSTED_PROXY_HOPS = 1
    for i in range(6):
        # The client writes whatever it likes on the left; nginx appends the real peer.
        client.post("/accounts/login/", {"username": "bio", "password": "wrong"},
                    HTTP_X_FORWARDED_FOR=f"192.0.2.{i}, 198.51.100.7", REMOTE_ADDR="127.0.0.1")
    assert LoginThrottle.objects.get(key="login:account-address:bio|198.51.100.7").attempts == 6
