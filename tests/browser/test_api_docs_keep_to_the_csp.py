"""The API's documentation page works under the site's Content-Security-Policy: Swagger UI
lists the API's operations and the browser reports no refused inline script or style."""

from __future__ import annotations

import pytest

from tests.browser.conftest import PASSWORD
from tests.helpers import browser_login

pytestmark = pytest.mark.browser


def test_the_api_docs_render_without_a_csp_violation(browser_page, live_server, make_user):
    make_user("bio", "biologist", password=PASSWORD)
    page = browser_page
    refused: list[str] = []
    page.on("console", lambda m: refused.append(m.text)
            if "Content Security Policy" in m.text else None)
    browser_login(page, live_server, "bio", PASSWORD)
    page.goto(f"{live_server.url}/api/docs/")
    page.wait_for_selector(".opblock", timeout=30_000)
    assert "/api/specimens/" in page.locator("#swagger-ui").inner_text()
    assert page.evaluate("getComputedStyle(document.body).margin") == "0px"  # swagger.css
    assert refused == []
