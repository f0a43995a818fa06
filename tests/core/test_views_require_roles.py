"""Every page and API endpoint: anonymous users are sent to log in, roles decide the rest."""

from __future__ import annotations

import pytest
from django.urls import reverse

PAGES = [
    ("specimen_list", {}), ("patient_list", {}), ("specimen_detail", {"accession": "S-0001"}),
    ("analysis_progress", {"accession": "S-0001"}),
]
IMPORT_PAGES = [("patient_create", {}), ("specimen_create", {}), ("cbc_import", {})]
POSTS = [("smear_upload", {"accession": "S-0001"}), ("cbc_upload", {"accession": "S-0001"}),
         ("analysis_rerun", {"accession": "S-0001"})]


@pytest.mark.parametrize(("name", "kwargs"), PAGES + IMPORT_PAGES + POSTS)
def test_anonymous_is_redirected_to_login(client, specimen, name, kwargs):
    response = client.get(reverse(name, kwargs=kwargs))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


@pytest.mark.parametrize(("name", "kwargs"), PAGES + IMPORT_PAGES)
def test_a_user_without_a_role_is_refused(client, make_user, specimen, name, kwargs):
    client.force_login(make_user("norole"))
    assert client.get(reverse(name, kwargs=kwargs)).status_code == 403


@pytest.mark.parametrize(("language", "said"), [
    ("en", "Your account has no role in the laboratory"),
    ("fr", "Votre compte n'a aucun rôle au laboratoire")])
def test_the_refusal_says_why_in_the_readers_language(client, make_user, specimen, language,
                                                      said):
    """Not a bare "403 Forbidden": the app's page, with its header (to log out), and why."""
    client.force_login(make_user("norole"))
    client.cookies["django_language"] = language
    response = client.get(reverse("specimen_list"))
    page = response.content.decode()
    assert response.status_code == 403
    assert said in page and 'id="forbidden"' in page and "logout" in page
    # No link to pages that would refuse it too.
    assert f'href="{reverse("worklist")}"' not in page
    assert f'href="{reverse("specimen_list")}"' not in page
    assert "Back to the home page" not in page and "Retour" not in page


def test_a_technician_is_told_what_the_role_does_not_allow(client, technician, specimen):
    client.force_login(technician)
    response = client.post(reverse("review_sign", kwargs={"accession": "S-0001"}), {})
    assert response.status_code == 403
    assert "This page or action is not open to your role (technician)" in \
        response.content.decode()


@pytest.mark.parametrize("role", ["technician", "biologist", "admin"])
@pytest.mark.parametrize(("name", "kwargs"), PAGES + IMPORT_PAGES)
def test_each_role_reads_and_imports(client, make_user, specimen, role, name, kwargs):
    client.force_login(make_user(f"u-{role}", role))
    assert client.get(reverse(name, kwargs=kwargs)).status_code == 200


@pytest.mark.parametrize(("name", "kwargs"), POSTS)
def test_uploads_refuse_get(client, technician, specimen, name, kwargs):
    client.force_login(technician)
    assert client.get(reverse(name, kwargs=kwargs)).status_code == 405


def test_api_requires_authentication_and_a_role(client, make_user, specimen):
    url = "/api/specimens/"
    assert client.get(url).status_code in (401, 403)
    client.force_login(make_user("norole"))
    assert client.get(url).status_code == 403
    client.force_login(make_user("reader", "biologist"))
    assert client.get(url).status_code == 200


def test_cell_images_are_not_served_without_login(client, specimen):
    assert client.get(reverse("cell_image", kwargs={"cell_id": 1})).status_code == 302


def test_api_token_authentication(client, technician, specimen):
    from apps.api.tokens import api_token_create

    token = api_token_create(user=technician)
    response = client.get("/api/specimens/S-0001/", HTTP_AUTHORIZATION=f"Token {token.secret}")
    assert response.status_code == 200
    assert response.json()["accession"] == "S-0001"
    assert client.get("/api/specimens/", HTTP_AUTHORIZATION="Token nope").status_code == 401


def test_health_is_public(client, db):
    assert client.get("/health/").json() == {"status": "ok"}


REVIEW_PAGES = [("worklist", {}), ("review_case", {"accession": "S-0001"})]
REVIEW_POSTS = [("review_reclassify", {"accession": "S-0001"}),
                ("review_sign", {"accession": "S-0001"}),
                ("review_amend", {"accession": "S-0001"}),
                ("review_rescan", {"accession": "S-0001"})]


@pytest.mark.parametrize(("name", "kwargs"), REVIEW_PAGES + REVIEW_POSTS)
def test_review_anonymous_goes_to_login(client, specimen, name, kwargs):
    response = client.post(reverse(name, kwargs=kwargs))
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


@pytest.mark.parametrize("role", ["technician", "biologist", "admin"])
@pytest.mark.parametrize(("name", "kwargs"), REVIEW_PAGES)
def test_review_pages_are_readable_by_every_role(client, make_user, specimen, role, name,
                                                  kwargs):
    client.force_login(make_user(f"r-{role}", role))
    assert client.get(reverse(name, kwargs=kwargs)).status_code == 200


@pytest.mark.parametrize(("name", "kwargs"), REVIEW_POSTS)
def test_technicians_cannot_review_or_sign(client, technician, specimen, name, kwargs):
    client.force_login(technician)
    assert client.post(reverse(name, kwargs=kwargs)).status_code == 403


@pytest.mark.parametrize("role", ["biologist", "admin"])
@pytest.mark.parametrize(("name", "kwargs"), REVIEW_POSTS)
def test_biologists_and_admins_may_review(client, make_user, specimen, role, name, kwargs):
    client.force_login(make_user(f"b-{role}", role))
    # Allowed through the role check; the action itself then answers (400/409 or a redirect).
    assert client.post(reverse(name, kwargs=kwargs)).status_code in (200, 302, 400, 409)
