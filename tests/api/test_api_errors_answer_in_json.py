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
