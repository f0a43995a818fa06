"""The case page in French at 1366x768, as the browser shows it after a cell is selected and
the shortcut help opened: none of the listed English strings, decimal commas."""

from __future__ import annotations

import pytest

from tests.browser.conftest import PASSWORD
from tests.french import number_and_date_problems, problems
from tests.helpers import browser_login

pytestmark = pytest.mark.browser


def test_the_french_case_page_has_no_listed_english(browser_page, live_server, review_case,
                                                    tmp_path):
    page = browser_page
    browser_login(page, live_server, "bio", PASSWORD)
    with page.expect_navigation():
        page.select_option("select[name=language]", "fr")
    page.goto(f"{live_server.url}/review/{review_case.accession}/")
    page.locator(".group[data-group='neutrophil'] figure.cell").first.click()
    page.wait_for_selector("#preview-body:not([hidden])")
    page.click("#preview-more summary")
    page.wait_for_selector("#preview-attributes tr")    # read for this cell, in French
    assert page.locator("#preview-class").inner_text() == "Polynucléaire neutrophile"
    assert "90\u00a0%" in page.locator("#preview-probs").inner_text()
    attributes = page.locator("#preview-attributes").inner_text()
    assert "sortie vacuoles (probabilité)\t10\u00a0%" in attributes
    page.screenshot(path=str(tmp_path / "case-fr-selected.png"))
    for tab in ("#tab-cbc", "#tab-scores", "#tab-differential"):
        page.click(tab)
        text = page.locator("body").inner_text()
        assert not problems(text), (tab, problems(text))
        assert not number_and_date_problems(text), (tab, number_and_date_problems(text))
    page.screenshot(path=str(tmp_path / "case-fr.png"))
    page.keyboard.press("?")
    help_text = page.locator("#shortcuts").inner_text()
    assert "Annuler le dernier reclassement" in help_text and not problems(help_text)
    # The keys as a French keyboard names them.
    assert "Ctrl/Maj+clic" in help_text and "Échap" in help_text and "Esc" not in help_text
    assert "Artefact" in help_text
