"""A technician may look at a case's cells but not class them: the page says so instead of
offering the keys, a key press sends nothing, and a refusal the server makes is worded, not a
parser's message (a biologist whose role was withdrawn while the page was open)."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Group

from apps.core.models import AuditEvent
from apps.smears.models import Cell
from tests.browser.conftest import PASSWORD
from tests.helpers import browser_login

pytestmark = pytest.mark.browser


def _press_on_first_cell(page, key):  # type: ignore[no-untyped-def]
    fig = page.locator("#review-cells figure.cell").first
    fig.click()
    page.keyboard.press(key)
    page.wait_for_timeout(500)
    return fig


def test_a_technician_is_told_and_a_key_sends_nothing(browser_page, live_server, review_case):
    page = browser_page
    requests: list[str] = []
    page.on("request", lambda r: requests.append(r.url) if r.method == "POST" else None)
    browser_login(page, live_server, "tech", PASSWORD)
    page.goto(f"{live_server.url}/review/{review_case.accession}/")
    page.wait_for_selector("#review-cells figure.cell")
    assert page.locator("#view-only").is_visible()
    assert page.locator(".hint.keys").count() == 0
    before = page.locator("#review-cells figure.cell").first.get_attribute("data-class")
    fig = _press_on_first_cell(page, "l" if before != "lymphocyte" else "m")
    assert fig.get_attribute("data-class") == before
    assert not [u for u in requests if "/reclassify/" in u or "/vacuoles/" in u]
    assert not Cell.objects.filter(specimen=review_case).exclude(reviewed_class="").exists()


def test_a_refusal_is_worded(browser_page, live_server, review_case):
    page = browser_page
    browser_login(page, live_server, "bio", PASSWORD)
    page.goto(f"{live_server.url}/review/{review_case.accession}/")
    page.wait_for_selector("#review-cells figure.cell")
    from django.contrib.auth import get_user_model

    get_user_model().objects.get(username="bio").groups.remove(
        Group.objects.get(name="biologist"))
    messages: list[str] = []
    page.on("dialog", lambda d: (messages.append(d.message), d.dismiss()))
    before = page.locator("#review-cells figure.cell").first.get_attribute("data-class")
    _press_on_first_cell(page, "l" if before != "lymphocyte" else "m")
    for _ in range(40):
        if messages:
            break
        page.wait_for_timeout(100)
    assert messages == ["Refused: only a biologist can class cells or read their vacuoles. "
                        "(HTTP 403)"]
    assert not AuditEvent.objects.filter(action="cell.reclassify").exists()
