"""At 1366x768 in French: the case page's differential table fits its side panel (no column
cut), with a scanner whose folders name no class ('—' and its note); the specimen page shows the
out-of-domain warning within the first screen, in the Analysis card."""

from __future__ import annotations

import pytest

from tests.browser.conftest import PASSWORD
from tests.helpers import browser_login

pytestmark = pytest.mark.browser


def _french(page, live_server) -> None:  # type: ignore[no-untyped-def]
    browser_login(page, live_server, "bio", PASSWORD)
    with page.expect_navigation():
        page.select_option("select[name=language]", "fr")


def _table_in_card(page, card_id: str, selector: str) -> dict:  # type: ignore[no-untyped-def]
    """Where a table inside a card ends against the card's content edge, its cells' right
    edges, and the cells whose text is cut."""
    return page.evaluate("""([cardId, selector]) => {
        const card = document.getElementById(cardId);
        const table = card.querySelector(selector);
        const right = card.getBoundingClientRect().right
            - parseFloat(getComputedStyle(card).paddingRight);
        const cells = Array.from(table.querySelectorAll("th, td"));
        return {table: table.scrollWidth, panel: card.clientWidth, scroll: card.scrollWidth,
                tableRight: table.getBoundingClientRect().right, right: right,
                cells: cells.map(c => c.getBoundingClientRect().right),
                cut: cells.filter(c => c.scrollWidth > c.clientWidth + 0.5)
                          .map(c => c.textContent)};
    }""", [card_id, selector])


@pytest.mark.parametrize("folder", ["", "unclassified"])
def test_the_differential_fits_its_panel_in_french(browser_page, live_server, review_case,
                                                   tmp_path, folder):
    from apps.smears.models import Cell

    if folder:  # another lab's export: no folder names a class
        Cell.objects.filter(specimen=review_case).update(analyser_class=folder)
    page = browser_page
    _french(page, live_server)
    page.goto(f"{live_server.url}/review/{review_case.accession}/")
    page.screenshot(path=str(tmp_path / "case-fr-differential.png"))
    sizes = _table_in_card(page, "differential", "table")
    assert sizes["scroll"] <= sizes["panel"], sizes
    assert sizes["tableRight"] <= sizes["right"] + 0.5, sizes
    assert max(sizes["cells"]) <= sizes["right"] + 0.5, sizes
    heading = page.locator("#scanner-heading")
    assert heading.is_visible() and "Pré-classement" in heading.inner_text()
    # The last column (the absolute counts come before it when the CBC has a WBC).
    scanner = page.locator("#diff-body tr[data-class='neutrophil'] td").last.inner_text()
    if folder:
        assert scanner == "—"
        assert "12 cellules non rattachées à une classe" in page.locator(
            "#scanner-note").inner_text()
    else:
        assert scanner == "41,7"


def test_the_specimen_page_shows_the_domain_warning_first(browser_page, live_server,
                                                          review_case, tmp_path):
    from apps.analysis.models import AnalysisRun, CellPrediction

    AnalysisRun.objects.filter(specimen=review_case).update(domain_max_outside=0.25)
    CellPrediction.objects.filter(cell__specimen=review_case).update(
        view="found", in_domain=False, domain_score=4.0)
    page = browser_page
    _french(page, live_server)
    page.goto(f"{live_server.url}/specimens/{review_case.accession}/")
    page.screenshot(path=str(tmp_path / "specimen-fr.png"))
    banner = page.locator("#analysis #domain-banner")
    assert banner.is_visible()
    assert "hors du domaine" in banner.inner_text()
    box = banner.bounding_box()
    assert box is not None and box["y"] + box["height"] <= 768, box
    # The gallery's captions are never cut: each cell's suggested class is shown whole, without
    # a probability (it does not hold outside the domain), and each cell is marked outside.
    captions = page.evaluate("""() => Array.from(
        document.querySelectorAll("#gallery figure.cell figcaption")).map(c => {
            const prediction = c.querySelector(".prediction");
            const r = prediction.getBoundingClientRect(), f = c.getBoundingClientRect();
            return {cut: Array.from(c.querySelectorAll("span, a")).some(
                        e => e.scrollWidth > e.clientWidth + 0.5),
                    inside: r.width > 0 && r.right <= f.right + 0.5,
                    prob: c.querySelector(".prob") !== null,
                    marker: (c.querySelector(".domain-flag") || {}).textContent || ""};
        })""")
    assert len(captions) == 12, captions
    assert all(not c["cut"] and c["inside"] and not c["prob"] for c in captions), captions
    assert all(c["marker"] == "hors domaine" for c in captions), captions


def test_the_cbc_table_fits_its_panel_in_french(browser_page, live_server, review_case, tmp_path):
    """Six columns (parameter, value, unit, reference, flag, the analyser's flag) inside the
    400 px side panel: none cut off or past the card's edge."""
    page = browser_page
    _french(page, live_server)
    page.goto(f"{live_server.url}/review/{review_case.accession}/")
    page.click("#tab-cbc")
    page.screenshot(path=str(tmp_path / "case-fr-cbc.png"))
    sizes = _table_in_card(page, "cbc", "table.cbc")
    assert sizes["tableRight"] <= sizes["right"] + 0.5, sizes
    assert max(sizes["cells"]) <= sizes["right"] + 0.5, sizes
    assert not sizes["cut"], sizes
    assert "Alarme de l" in page.locator("#cbc table.cbc thead").inner_text()


def test_the_score_tables_break_no_word_in_french(browser_page, live_server, review_case,
                                                  tmp_path):
    """The VEXAS table's four columns in the 400 px side panel: a long French word
    ("thrombopénie", "neutrophiles", "hyposegmentés") wraps between words, never inside one (a
    range such as "0-43" may wrap after its hyphen)."""
    from apps.analysis.scores import scores_compute

    scores_compute(specimen_id=review_case.pk, trigger="test")
    page = browser_page
    _french(page, live_server)
    page.goto(f"{live_server.url}/review/{review_case.accession}/")
    page.click("#tab-scores")
    page.locator("#scores details").first.evaluate("d => d.open = true")
    page.screenshot(path=str(tmp_path / "case-fr-scores.png"), full_page=True)
    split = page.evaluate("""() => {
        const out = [];
        for (const cell of document.querySelectorAll("#scores table.contrib th, "
                                                     + "#scores table.contrib td")) {
            const walker = document.createTreeWalker(cell, NodeFilter.SHOW_TEXT);
            for (let node = walker.nextNode(); node; node = walker.nextNode()) {
                const re = /[^\\s-]+/g;
                let m;
                while ((m = re.exec(node.textContent)) !== null) {
                    const range = document.createRange();
                    range.setStart(node, m.index);
                    range.setEnd(node, m.index + m[0].length);
                    const lines = new Set(Array.from(range.getClientRects(),
                                                     r => Math.round(r.top)));
                    if (lines.size > 1) { out.push(m[0]); }
                }
            }
        }
        return out;
    }""")
    assert page.locator("#scores table.contrib").count() >= 1
    assert split == [], split


def test_the_worklist_search_shows_its_whole_placeholder_in_french(browser_page, live_server,
                                                                   review_case, tmp_path):
    page = browser_page
    _french(page, live_server)
    page.goto(f"{live_server.url}/worklist/")
    page.screenshot(path=str(tmp_path / "worklist-fr.png"))
    sizes = page.evaluate("""() => {
        const input = document.getElementById("worklist-search");
        const style = getComputedStyle(input);
        const context = document.createElement("canvas").getContext("2d");
        context.font = style.font;
        return {text: context.measureText(input.placeholder).width,
                room: input.clientWidth - parseFloat(style.paddingLeft)
                      - parseFloat(style.paddingRight),
                placeholder: input.placeholder};
    }""")
    assert sizes["placeholder"].startswith("N° de prélèvement"), sizes
    assert sizes["text"] <= sizes["room"], sizes


def test_the_differential_stays_in_sight_while_signing(browser_page, live_server, review_case):
    """The validation form sits beside the side panel, not under the whole layout: with the
    password field in view, the differential's total (white cells counted) is on the screen
    too, whole, not cut by the panel's end."""
    page = browser_page
    _french(page, live_server)
    page.goto(f"{live_server.url}/review/{review_case.accession}/")
    page.locator("#sign-password").scroll_into_view_if_needed()
    box = page.locator("#diff-total").bounding_box()
    side = page.locator(".review-side").bounding_box()
    viewport = page.viewport_size
    assert box is not None and side is not None and viewport is not None
    assert box["y"] >= 0 and box["y"] + box["height"] <= viewport["height"], box
    assert box["y"] + box["height"] <= side["y"] + side["height"], (box, side)
    assert page.locator("#sign-password").is_visible()
