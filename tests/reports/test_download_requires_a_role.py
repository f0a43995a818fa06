"""Report download and status: anonymous users log in first, a clinical role is required."""

from __future__ import annotations

import pytest
from django.urls import reverse

NAMES = ["report_download", "report_status"]
KWARGS = {"accession": "H25-0001", "version": 1, "language": "fr"}


@pytest.fixture
def ready(signed, rendered):  # type: ignore[no-untyped-def]
    return rendered(signed, "fr")


@pytest.mark.parametrize("name", NAMES)
def test_anonymous_is_redirected_to_login(client, ready, name):
    response = client.get(reverse(name, kwargs=KWARGS))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


@pytest.mark.parametrize("name", NAMES)
def test_a_user_without_a_role_is_refused(client, make_user, ready, name):
    client.force_login(make_user("norole"))
    assert client.get(reverse(name, kwargs=KWARGS)).status_code == 403


@pytest.mark.parametrize("role", ["technician", "biologist", "admin"])
@pytest.mark.parametrize("name", NAMES)
def test_each_clinical_role_downloads(client, make_user, ready, role, name):
    client.force_login(make_user(f"u-{role}", role))
    assert client.get(reverse(name, kwargs=KWARGS)).status_code == 200


def test_only_get_is_allowed(client, technician, ready):
    client.force_login(technician)
    assert client.post(reverse("report_download", kwargs=KWARGS)).status_code == 405
