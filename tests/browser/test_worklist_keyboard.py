"""The worklist from the keyboard at 1366x768: / goes to the search, the arrows move from case
to case, Enter opens the case under the cursor; flags read as words."""

from __future__ import annotations

import pytest

from apps.workflow.services import cbc_import
from tests.browser.conftest import PASSWORD
from tests.helpers import browser_login

pytestmark = pytest.mark.browser

CBC = (
    b"Sample No.,Date,Time,WBC(10^9/L),HGB(g/dL),MCV(fL),PLT(10^9/L),NEUT#(10^9/L)\r\n"
    b"K-1,2026/11/20,08:01:00,3.1,9.5,106.0,90,1.1\r\n"
    b"K-2,2026/11/20,08:02:00,6.0,11.0,90.0,250,3.5\r\n"
)


def test_search_arrows_and_enter(browser_page, live_server, make_user):
    technician = make_user("tech", "technician", password=PASSWORD)
    make_user("bio", "biologist", password=PASSWORD)
    cbc_import(actor=technician, data=CBC)
    page = browser_page
    browser_login(page, live_server, "bio", PASSWORD)
    page.goto(f"{live_server.url}/worklist/")
    assert "Macrocytosis" in page.locator("#worklist").inner_text()
    page.keyboard.press("/")
    assert page.evaluate("document.activeElement.id") == "worklist-search"
    page.keyboard.press("ArrowDown")               # from the search to the first case
    page.keyboard.press("ArrowDown")
    current = page.evaluate("document.activeElement.getAttribute('data-href')")
    assert current.endswith("/review/K-2/")
    page.keyboard.press("k")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert page.url.endswith("/review/K-1/")

    page.goto(f"{live_server.url}/worklist/")
    page.keyboard.press("/")
    page.keyboard.type("K-2")
    with page.expect_navigation():
        page.keyboard.press("Enter")              # submits the search
    assert page.locator("tr.case-row").count() == 1
    assert "K-2" in page.locator("#worklist").inner_text()
