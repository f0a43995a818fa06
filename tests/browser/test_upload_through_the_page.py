"""A technician logs in, creates a specimen, uploads a real CellaVision-style zip and a CBC file
through the page, and sees the gallery and the CBC once the analysis has run."""

from __future__ import annotations

import os

import pytest

from apps.analysis.models import CellPrediction
from apps.smears.models import Cell
from tests.helpers import browser_login, export_zip

pytestmark = pytest.mark.browser

CBC = (
    b"Sample No.,Date,Time,WBC(10^9/L),HGB(g/dL),MCV(fL),PLT(10^9/L),NEUT#(10^9/L),[NE-WX]\r\n"
    b"WEB-1,2026/11/20,10:00:00,2.9,9.1,106.2,95,1.1,455\r\n"
)


def test_technician_uploads_an_export_and_sees_the_gallery(browser_page, live_server, make_user,
                                                           tmp_path):
    page = browser_page
    make_user("tech", "technician", password="correct-horse-battery")
    browser_login(page, live_server, "tech", "correct-horse-battery")

    page.click("text=New specimen")
    page.fill("#id_accession", "WEB-1")
    page.click("main button[type=submit]")
    page.wait_for_url(f"{live_server.url}/specimens/WEB-1/")

    zip_path = tmp_path / "export.zip"
    zip_path.write_bytes(export_zip({"neutrophil": 40, "lymphocyte": 25, "monocyte": 15,
                                     "eosinophil": 10, "basophil": 5, "platelet": 5}))
    page.set_input_files("#smear-files", str(zip_path))
    page.click("#smear-form button[type=submit]")
    page.wait_for_selector(".msg.success")
    assert "Images imported: 100;" in page.inner_text(".messages")

    cbc_path = tmp_path / "xn.csv"
    cbc_path.write_bytes(CBC)
    page.set_input_files("#cbc-form input[type=file]", str(cbc_path))
    page.click("#cbc-form button[type=submit]")
    page.wait_for_selector("table.cbc")

    page.wait_for_selector("#analysis-text[data-status=succeeded]")
    assert Cell.objects.filter(specimen__accession="WEB-1").count() == 100
    assert CellPrediction.objects.filter(cell__specimen__accession="WEB-1").count() == 100
    figures = page.locator("#gallery figure.cell")
    assert figures.count() == 100
    # Every image in the gallery is served (by the permission-checked view) as an image; they
    # are lazy-loaded, so ask for each one rather than waiting for the scroll.
    statuses = page.evaluate(
        "Promise.all(Array.from(document.querySelectorAll('#gallery img'))"
        ".map(i => fetch(i.src).then(r => r.status + ' ' + r.headers.get('content-type'))))")
    assert len(statuses) == 100
    assert all(s.startswith("200 image/") for s in statuses), set(statuses)
    hgb_row = page.locator("table.cbc tr", has_text="HGB")
    assert "9.1" in hgb_row.inner_text() and "Low" in hgb_row.inner_text()
    shots = os.environ.get("HEMACLINIC_SCREENSHOTS")
    page.screenshot(path=str((tmp_path if not shots else __import__("pathlib").Path(shots))
                             / "specimen.png"), full_page=True)
