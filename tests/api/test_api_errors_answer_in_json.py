"""An address under /api/ that no route matches answers 404 in JSON, as the schema documents
every API answer; a page address keeps the app's own HTML page."""

from __future__ import annotations


def test_an_unknown_api_address_answers_json(client, technician):
    client.force_login(technician)
    response = client.get("/api/specimens/S%0A1/cbc/")
    assert response.status_code == 404
    assert response["Content-Type"] == "application/json"
    assert response.json() == {"detail": "Not found."}


def test_an_unknown_page_keeps_the_html_page(client, technician):
    client.force_login(technician)
    response = client.get("/no-such-page/")
    assert response.status_code == 404 and response["Content-Type"].startswith("text/html")


def test_a_404_speaks_the_readers_language(client, technician, specimen):
    """The unmatched address and the unknown identifier say it alike, in French for a French
    reader (DRF's own wording and translation)."""
    client.force_login(technician)
    for url in ("/api/specimens/S%0A1/cbc/", "/api/specimens/NO-SUCH/"):
        for language, text in (("en", "Not found."), ("fr", "Non trouvé.")):
            response = client.get(url, HTTP_ACCEPT_LANGUAGE=language)
            assert response.status_code == 404
            assert response.json() == {"detail": text}, (url, language)
