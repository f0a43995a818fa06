from __future__ import annotations

from django.test import Client


def test_a_users_language_choice_follows_them_to_another_browser(client, biologist):
    client.force_login(biologist)
    response = client.post("/i18n/setlang/", {"language": "fr", "next": "/specimens/"})
    assert response.status_code == 302
    other_browser = Client()
    other_browser.force_login(biologist)
    page = other_browser.get("/specimens/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "Prélèvements" in page

    client.post("/i18n/setlang/", {"language": "en", "next": "/specimens/"})
    page = other_browser.get("/specimens/").content.decode()
    assert "Specimens" in page and "Prélèvements" not in page


def test_anonymous_visitors_can_switch_the_login_page(client, db):
    response = client.post("/i18n/setlang/", {"language": "fr", "next": "/accounts/login/"})
    assert response.status_code == 302
    assert "Connexion" in client.get("/accounts/login/").content.decode() or \
        "Se connecter" in client.get("/accounts/login/").content.decode()
