"""The large-cell pane reads the model's figures of the cell it shows when the cell is shown
(review_cell_detail), once per cell: the image shows at once, a reclassification reads the cell
again (its new class, the neutrophil outputs gone), and a failed read says so in the pane."""

from __future__ import annotations

import pytest

from tests.browser.conftest import PASSWORD
from tests.helpers import browser_login

pytestmark = pytest.mark.browser


def _open(page, live_server, specimen):  # type: ignore[no-untyped-def]
    browser_login(page, live_server, "bio", PASSWORD)
    page.goto(f"{live_server.url}/review/{specimen.accession}/")
    page.wait_for_selector("#review-cells figure.cell")


def test_read_once_per_cell_and_again_after_a_reclassification(browser_page, live_server,
                                                               review_case):
    page = browser_page
    reads: list[str] = []
    page.on("request", lambda r: reads.append(r.url) if "/cells/" in r.url
            and r.url.endswith("/") and "/review/" in r.url else None)
    _open(page, live_server, review_case)
    assert reads == []          # nothing is read before a cell is shown
    neutrophil = page.locator(".group[data-group='neutrophil'] figure.cell").first
    cell_id = neutrophil.get_attribute("data-cell")
    neutrophil.click()
    page.click("#preview-more summary")    # the outputs and attributes fold under Morphology
    page.wait_for_selector("#preview-attributes tr")
    assert page.locator("#preview-class").inner_text() == "Neutrophil"
    assert "Neutrophil" in page.locator("#preview-probs tr").first.inner_text()
    assert "vacuole output (probability)\t10%" in page.locator("#preview-attributes").inner_text()

    page.locator(".group[data-group='lymphocyte'] figure.cell").first.click()
    page.wait_for_selector("#preview-probs tr:first-child:has-text('Lymphocyte')")
    neutrophil.click()                  # from what was read: no second request
    page.wait_for_selector("#preview-attributes tr")
    assert len(reads) == 2 and reads[0].endswith(f"/cells/{cell_id}/")

    page.keyboard.press("l")
    page.wait_for_selector(f"#review-cells[data-last-move='lymphocyte:{cell_id}']")
    # The review went on to the next cell; the moved one, shown again, is read again.
    page.locator(f"figure.cell[data-cell='{cell_id}']").click()
    page.wait_for_selector("#preview-class:has-text('Lymphocyte')")
    page.wait_for_selector("#preview-probs tr")
    assert "Neutrophil\t90%" in page.locator("#preview-probs tr").first.inner_text()
    assert page.locator("#preview-attributes tr").count() == 0   # neutrophils only
    assert [r for r in reads if r.endswith(f"/cells/{cell_id}/")] == [reads[0]] * 2
    assert reads[-1].endswith(f"/cells/{cell_id}/")


def test_a_failed_read_says_so_and_the_image_still_shows(browser_page, live_server,
                                                         review_case):
    page = browser_page
    _open(page, live_server, review_case)
    fig = page.locator(".group[data-group='monocyte'] figure.cell").first
    cell_id = fig.get_attribute("data-cell")
    pattern = f"**/review/{review_case.accession}/cells/{cell_id}/"
    page.route(pattern, lambda route: route.abort())
    fig.click()
    page.wait_for_selector("#preview-error:not([hidden])")
    assert "could not be loaded" in page.locator("#preview-error").inner_text()
    assert page.locator("#preview-class").inner_text() == "Monocyte"
    assert page.get_attribute("#preview-image", "src").endswith(f"/cells/{cell_id}/image/")
    assert page.locator("#preview-probs tr").count() == 0

    page.unroute(pattern)
    page.locator(".group[data-group='neutrophil'] figure.cell").first.click()
    fig.click()                         # selected again: read again
    page.wait_for_selector("#preview-probs tr:first-child:has-text('Monocyte')")
    assert page.locator("#preview-error").is_hidden()
