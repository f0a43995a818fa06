"""The whole path in the browser: a technician uploads, a biologist reviews the cells with the
keyboard, signs with re-authentication and downloads the PDF report — in French."""

from __future__ import annotations

import subprocess

import pytest

from apps.review.models import Signature
from apps.review.services import content_hash
from apps.smears.models import Cell
from tests.helpers import browser_login, export_zip

pytestmark = pytest.mark.browser
PASSWORD = "correct-horse-battery"


def test_upload_review_reclassify_sign_and_download(browser_page, live_server, make_user,
                                                    tmp_path):
    page = browser_page
    make_user("tech", "technician", password=PASSWORD)
    bio = make_user("bio", "biologist", password=PASSWORD)
    bio.first_name, bio.last_name = "Claire", "Martin"
    bio.save()

    browser_login(page, live_server, "tech", PASSWORD)
    page.goto(f"{live_server.url}/specimens/new/")
    page.fill("#id_accession", "FLOW-1")
    page.click("main button[type=submit]")
    zip_path = tmp_path / "export.zip"
    zip_path.write_bytes(export_zip({"neutrophil": 6, "lymphocyte": 4, "eosinophil": 2}))
    page.set_input_files("#smear-files", str(zip_path))
    page.click("#smear-form button[type=submit]")
    page.wait_for_selector("#analysis-text[data-status=succeeded]")
    page.click("button.link")  # log out

    browser_login(page, live_server, "bio", PASSWORD)
    # Switch the interface to French.
    with page.expect_navigation():
        page.select_option("select[name=language]", "fr")
    page.goto(f"{live_server.url}/review/FLOW-1/")
    assert "Prélèvement" in page.content() or "Relecture" in page.content()

    first = page.locator("#review-cells figure.cell").first
    cell_id = int(first.get_attribute("data-cell"))
    first.click()
    page.keyboard.press("ArrowRight", )
    second_id = int(page.evaluate("document.activeElement.getAttribute('data-cell')"))
    page.keyboard.down("Control")
    page.locator(f"figure.cell[data-cell='{cell_id}']").click()
    page.keyboard.up("Control")
    # Both selected cells -> "other": the page asks what they are, the biologist answers.
    asked = []

    def answer(dialog):  # type: ignore[no-untyped-def]
        asked.append(dialog.message)
        dialog.accept("plasmocyte")

    page.once("dialog", answer)
    page.keyboard.press("o")
    page.wait_for_selector("#review-cells[data-last-move^='other:']")
    assert asked and asked[0].startswith("Quelle est cette cellule\u00a0?")
    assert set(Cell.objects.filter(pk__in=[cell_id, second_id])
               .values_list("reviewed_class", "reviewed_name")) == {("other", "plasmocyte")}
    assert page.locator(".group[data-group='other'] figure.cell").count() == 2
    assert page.locator("#diff-other").inner_text() == "Autres\u00a0: plasmocyte 2."
    # The name shows with each cell, and the key names it again, the name so far offered.
    named = page.locator(f"figure.cell[data-cell='{cell_id}']")
    assert named.locator(".other-name").inner_text() == "plasmocyte"
    defaults = []

    def rename(dialog):  # type: ignore[no-untyped-def]
        defaults.append(dialog.default_value)
        dialog.accept("lymphocyte réactif")

    named.click()
    page.wait_for_selector("#preview-body:not([hidden])")
    # Read for that cell when shown (polled by selector: the page's Content-Security-Policy
    # refuses the eval a string predicate of wait_for_function needs).
    page.wait_for_selector("#preview-class:has-text('plasmocyte')")
    assert page.locator("#preview-class").inner_text() == "Autre\u00a0: plasmocyte"
    page.once("dialog", rename)
    page.keyboard.press("o")
    page.wait_for_selector(f"#review-cells[data-last-move='other:{cell_id}']")
    assert defaults == ["plasmocyte"]
    assert named.locator(".other-name").inner_text() == "lymphocyte réactif"
    assert Cell.objects.get(pk=cell_id).reviewed_name == "lymphocyte réactif"
    assert page.locator("#diff-other").inner_text() == \
        "Autres\u00a0: lymphocyte réactif 1, plasmocyte 1."

    page.fill("#sign-comment", "<script>alert(1)</script> Contrôle morphologique.")
    page.fill("#sign-password", PASSWORD)
    # Fewer white cells than the 100 targeted: validating needs the signer's word for it.
    assert page.locator("#sign-count-acknowledge").is_visible()
    page.check("#sign-count-acknowledged")
    page.click("#sign-form button[type=submit]")
    page.wait_for_selector("a.report-pdf[data-language=fr]", timeout=120_000)
    signature = Signature.objects.get(specimen__accession="FLOW-1")
    assert signature.content["signature"]["count_acknowledged"] is True
    assert signature.content_sha256 == content_hash(signature.content)
    assert signature.signed_by == bio

    # The PDF link appears once the worker (eager here) has rendered it, named by its
    # language, as is each language it can be rendered in again.
    assert page.inner_text("a.report-pdf[data-language=fr]") == "PDF (Français)"
    assert page.locator("#sign select[name=language] option").all_inner_texts() \
        == ["Français", "English"]
    with page.expect_download() as info:
        page.click("a.report-pdf[data-language=fr]")
    pdf = tmp_path / "report.pdf"
    info.value.save_as(pdf)
    text = subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True,
                          check=True).stdout
    assert "FLOW-1" in text and "Claire Martin" in text
    assert "<script>alert(1)</script>" in " ".join(text.split()) or "alert(1)" in text
    # What the biologist named them.
    assert "Autres : lymphocyte réactif 1, plasmocyte 1." in " ".join(text.split())
    assert "Le biologiste validant a validé la formule sur ce nombre de leucocytes." in \
        " ".join(text.split())
    subprocess.run(["pdftoppm", "-png", "-r", "50", "-f", "1", "-l", "1", str(pdf),
                    str(tmp_path / "page")], check=True)
    assert (tmp_path / "page-1.png").stat().st_size > 5000
