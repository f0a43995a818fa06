"""The patient context in the browser at 1366x768, in French: the CBC tab shows the earlier
specimens and the trend plots (server-drawn SVG, which the strict CSP lets through), with none
of the listed English strings."""

from __future__ import annotations

import pytest

from tests.browser.conftest import PASSWORD, _outbox_in_tmp, browser_page  # noqa: F401
from tests.french import number_and_date_problems, problems
from tests.helpers import browser_login
from tests.review.test_case_page_shows_the_patient_context import history  # noqa: F401

pytestmark = pytest.mark.browser


def test_the_cbc_tab_shows_the_history_and_trends_in_french(browser_page, live_server,  # noqa: F811
                                                            history, tmp_path):  # noqa: F811
    page = browser_page
    browser_login(page, live_server, "bio", PASSWORD)
    with page.expect_navigation():
        page.select_option("select[name=language]", "fr")
    page.goto(f"{live_server.url}/review/{history.accession}/")
    page.click("#tab-cbc")
    context = page.locator("#patient-context")
    context.scroll_into_view_if_needed()
    assert context.is_visible()
    text = context.inner_text()
    assert "Contexte du patient" in text and "Frottis sans anomalie" in text
    assert not problems(text) and not number_and_date_problems(text)
    # Each plot is drawn (a polyline with a non-empty box), not blocked by the CSP.
    assert page.locator("#patient-context svg polyline").count() == 5
    box = page.locator("#patient-context figure[data-code='HGB'] svg").bounding_box()
    assert box is not None and box["width"] > 100 and box["height"] > 30
    page.screenshot(path=str(tmp_path / "patient-context-fr.png"), full_page=True)
    context.screenshot(path=str(tmp_path / "patient-context-fr-panel.png"))
