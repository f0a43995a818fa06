"""After a reclassification on the case page, the differential is refreshed in place as the
page renders it: class labels (not codes), the short-count warning and the analyser's table."""

from __future__ import annotations

import pytest

from tests.browser.conftest import PASSWORD
from tests.helpers import browser_login

pytestmark = pytest.mark.browser


def test_labels_warning_and_analyser_table_follow_a_reclassification(
        browser_page, live_server, review_case, settings):
    settings.DIFFERENTIAL_TARGET_WBC = 12   # 12 white cells: the count is not short yet
    page = browser_page
    browser_login(page, live_server, "bio", PASSWORD)
    page.goto(f"{live_server.url}/review/{review_case.accession}/")
    assert not page.locator("#diff-short").is_visible()
    analyser_before = page.locator("#analyser-differential tbody").inner_text()

    page.locator(".group[data-group='monocyte'] figure.cell").first.click()
    page.keyboard.press("p")     # a monocyte is a platelet: 11 white cells, short of 12
    page.wait_for_selector("#review-cells[data-last-move^='platelet:']")

    labels = page.locator("#diff-body tr td:first-child").all_inner_texts()
    assert "Neutrophils" in labels and "Monocytes" in labels
    assert "neutrophil" not in labels and "platelet" not in labels
    assert "Platelets (not white cells)" in labels
    assert page.locator("#diff-total").inner_text() == "11"
    warning = page.locator("#diff-short")
    assert warning.is_visible() and "Only 11 white cells classified" in warning.inner_text()
    assert page.locator("#analyser-differential tbody").inner_text() == analyser_before
    assert "Immature granulocytes" in analyser_before
