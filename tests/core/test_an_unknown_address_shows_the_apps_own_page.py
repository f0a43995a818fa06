"""An unknown address or specimen shows the application's own "page not found", in the reader's
language, never a debug page listing the URLs; bin/start runs without debug pages unless asked."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_an_unknown_specimen_reads_as_not_found_in_english_and_french(client, technician):
    client.force_login(technician)
    response = client.get("/specimens/NOPE/")
    assert response.status_code == 404
    page = response.content.decode()
    assert "Page not found" in page and "URLconf" not in page
    response = client.get("/specimens/NOPE/", HTTP_ACCEPT_LANGUAGE="fr")
    assert "Page introuvable" in response.content.decode()


def test_bin_start_turns_debug_pages_off_by_default():
    script = (ROOT / "bin/start").read_text()
    assert "export DEBUG=${DEBUG:-0}" in script
    assert "collectstatic --noinput" in script  # what serves the styles without debug
