"""The case page at 1366x768: the cells come first (the first cell is visible without scrolling
and the CBC sits in a tab of the side panel), a large pane shows the selected cell at its native
size with its probabilities (read for that cell when it is shown), the arrows move in two
dimensions, Ctrl-Z undoes the last reclassification through the same audited service, and ?
shows every shortcut."""

from __future__ import annotations

import pytest

from apps.core.models import AuditEvent
from apps.smears.models import Cell
from tests.browser.conftest import PASSWORD
from tests.helpers import browser_login

pytestmark = pytest.mark.browser


def _open(page, live_server, specimen):  # type: ignore[no-untyped-def]
    browser_login(page, live_server, "bio", PASSWORD)
    page.goto(f"{live_server.url}/review/{specimen.accession}/")
    page.wait_for_selector("#review-cells figure.cell")


def test_the_first_cell_is_visible_without_scrolling_and_the_case_data_in_tabs(
        browser_page, live_server, review_case, tmp_path):
    page = browser_page
    _open(page, live_server, review_case)
    assert page.evaluate("window.scrollY") == 0
    box = page.locator("#review-cells figure.cell").first.bounding_box()
    assert box["y"] + box["height"] <= 768, box
    # The CBC is one click away in the side panel, not above the cells.
    assert not page.locator("#cbc").is_visible()
    assert page.locator("#differential").is_visible()
    page.click("#tab-cbc")
    assert page.locator("#cbc").is_visible() and not page.locator("#differential").is_visible()
    page.click("#tab-scores")
    assert page.locator("#scores").is_visible()
    page.screenshot(path=str(tmp_path / "case.png"))


def test_the_large_pane_shows_the_selected_cell_at_native_size(browser_page, live_server,
                                                               review_case):
    page = browser_page
    _open(page, live_server, review_case)
    assert not page.locator("#preview-body").is_visible()
    page.locator(".group[data-group='eosinophil'] figure.cell").first.click()
    # Polled with evaluate: wait_for_function compiles its predicate with eval, which the
    # page's Content-Security-Policy (rightly) refuses.
    loaded = "document.getElementById('preview-image').complete && " \
             "document.getElementById('preview-image').naturalWidth > 0"
    for _ in range(200):
        if page.evaluate(loaded):
            break
        page.wait_for_timeout(50)
    else:
        raise AssertionError("the preview image never loaded")
    natural, shown = page.evaluate(
        "[document.getElementById('preview-image').naturalWidth,"
        " document.getElementById('preview-image').clientWidth]")
    thumb = page.locator(".group[data-group='eosinophil'] figure.cell img").bounding_box()
    assert shown > 2 * thumb["width"] and shown == natural      # not scaled: native pixels
    # The model's figures are read for this cell when it is shown (review_cell_detail).
    page.wait_for_selector("#preview-probs tr")
    assert page.locator("#preview-class").inner_text() == "Eosinophil"
    first_prob = page.locator("#preview-probs tr").first.inner_text()
    assert "Eosinophil" in first_prob and "90%" in first_prob
    assert page.locator("#preview-attributes tr").count() == 0   # outputs of neutrophils only
    page.locator(".group[data-group='neutrophil'] figure.cell").first.click()
    page.click("#preview-more summary")    # the outputs and attributes fold under Morphology
    page.wait_for_selector("#preview-attributes tr")
    assert "vacuole output (probability)\t10%" in page.locator("#preview-attributes").inner_text()


def test_arrows_move_in_two_dimensions(browser_page, live_server, review_case):
    page = browser_page
    _open(page, live_server, review_case)
    first = page.locator("#review-cells figure.cell").first
    first.click()
    start = first.bounding_box()
    page.keyboard.press("ArrowDown")
    below = page.evaluate("document.activeElement.getBoundingClientRect().toJSON()")
    assert below["y"] > start["y"] + start["height"] / 2
    assert abs(below["x"] - start["x"]) < start["width"] / 2     # the same column
    page.keyboard.press("ArrowUp")
    assert page.evaluate("document.activeElement.getAttribute('data-cell')") == \
        first.get_attribute("data-cell")
    page.keyboard.press("ArrowRight")
    right = page.evaluate("document.activeElement.getBoundingClientRect().toJSON()")
    assert right["x"] > start["x"] and abs(right["y"] - start["y"]) < 2


def test_ctrl_z_undoes_the_last_reclassification_audited(browser_page, live_server,
                                                         review_case):
    page = browser_page
    _open(page, live_server, review_case)
    fig = page.locator(".group[data-group='lymphocyte'] figure.cell").first
    cell_id = int(fig.get_attribute("data-cell"))
    fig.click()
    page.keyboard.press("m")
    page.wait_for_selector(f"#review-cells[data-last-move='monocyte:{cell_id}']")
    assert Cell.objects.get(pk=cell_id).final_class == "monocyte"
    page.keyboard.press("Control+z")
    page.wait_for_selector(f"#review-cells[data-last-undo='lymphocyte:{cell_id}']")
    assert Cell.objects.get(pk=cell_id).final_class == "lymphocyte"
    assert page.locator(f".group[data-group='lymphocyte'] figure.cell[data-cell='{cell_id}']"
                        ).count() == 1
    # Back to the model's class: not marked as a cell the biologist classified.
    assert "reviewed" not in page.locator(f"figure.cell[data-cell='{cell_id}']"
                                          ).get_attribute("class")
    assert Cell.objects.get(pk=cell_id).reviewed_class == ""
    events = list(AuditEvent.objects.filter(action="cell.reclassify", object_id=str(cell_id))
                  .order_by("id"))
    assert [e.after["class"] for e in events] == ["monocyte", "lymphocyte"]
    assert [e.detail.get("undo", False) for e in events] == [False, True]
    page.keyboard.press("Control+z")                  # nothing left to undo
    assert Cell.objects.get(pk=cell_id).final_class == "lymphocyte"


def test_question_mark_shows_every_shortcut(browser_page, live_server, review_case):
    page = browser_page
    _open(page, live_server, review_case)
    page.locator("#review-cells figure.cell").first.click()
    page.keyboard.press("?")
    help_ = page.locator("#shortcuts")
    assert help_.is_visible()
    text = help_.inner_text()
    for needed in ("Ctrl", "Z", "Undo", "Grad-CAM", "Immature granulocyte", "Move between"):
        assert needed in text, needed
    page.keyboard.press("n")          # keys do nothing behind the help
    assert Cell.objects.filter(specimen=review_case, reviewed_class="neutrophil").count() == 0
    page.keyboard.press("Escape")
    assert not help_.is_visible()


def test_x_marks_an_artefact_out_of_the_count_and_the_caption_names_no_class(
        browser_page, live_server, review_case):
    """An image in which no white cell was found waits unclassified and blocks signing, its
    caption naming no class (only why: no white cell found); X makes it an artefact: out of the
    count, signing open again, no reload. A cell's own key confirms it (reviewed)."""
    from apps.analysis.models import CellPrediction

    blank = Cell.objects.filter(specimen=review_case, analyser_class="lymphocyte").first()
    CellPrediction.objects.filter(cell=blank).update(view="no_stain")
    page = browser_page
    _open(page, live_server, review_case)
    fig = page.locator(f".group[data-group='unclassified'] figure.cell[data-cell='{blank.pk}']")
    assert fig.count() == 1
    assert fig.locator(".prediction").count() == 0
    assert "no white cell" in fig.locator("figcaption").inner_text()
    blockers = page.locator("#sign-blockers")
    assert "1 image shows no white cell" in blockers.inner_text()
    assert page.locator("#sign-submit").is_disabled()
    # It stops a validation, not a rejection (which releases no count): the page says so and
    # the button follows the decision chosen.
    assert page.locator("#sign-reject-allowed").is_visible()
    page.select_option("#sign-meaning", "rejected")
    assert page.locator("#sign-submit").is_enabled()
    page.select_option("#sign-meaning", "validated")
    assert page.locator("#sign-submit").is_disabled()
    total = int(page.locator("#diff-total").inner_text())
    other = page.locator(".group[data-group='lymphocyte'] figure.cell").first
    assert other.locator(".prediction").evaluate(
        "e => getComputedStyle(e, '::before').content") in ("none", "normal")
    fig.click()
    page.keyboard.press("x")
    page.wait_for_selector(f"#review-cells[data-last-move='artefact:{blank.pk}']")
    assert Cell.objects.get(pk=blank.pk).final_class == "artefact"
    moved = page.locator(f".group[data-group='artefact'] figure.cell[data-cell='{blank.pk}']")
    assert moved.count() == 1
    # A group added on the page is headed in the plural, as the page's own groups are.
    assert page.locator(".group[data-group='artefact'] .group-label").inner_text() == "Artefacts"
    # Out of the denominator (it was not in it), counted apart; signing open again.
    assert int(page.locator("#diff-total").inner_text()) == total
    assert "Artefacts (not white cells)" in page.locator("#diff-body").inner_text()
    assert not blockers.is_visible() and page.locator("#sign-submit").is_enabled()
    assert not page.locator("#sign-reject-allowed").is_visible()
    # A white cell made an artefact leaves the count.
    other.click()
    page.keyboard.press("x")
    page.wait_for_selector("#review-cells[data-last-move^='artefact:']:not([data-last-move="
                           f"'artefact:{blank.pk}'])")
    assert int(page.locator("#diff-total").inner_text()) == total - 1


def test_a_cells_own_key_confirms_it_and_ctrl_z_takes_the_confirmation_back(
        browser_page, live_server, review_case):
    page = browser_page
    _open(page, live_server, review_case)
    fig = page.locator(".group[data-group='lymphocyte'] figure.cell").first
    cell_id = int(fig.get_attribute("data-cell"))
    assert "reviewed" not in fig.get_attribute("class")
    fig.click()
    page.keyboard.press("l")
    page.wait_for_selector(f"#review-cells[data-last-move='lymphocyte:{cell_id}']")
    assert Cell.objects.get(pk=cell_id).reviewed_class == "lymphocyte"
    mine = page.locator(f"figure.cell[data-cell='{cell_id}']")
    assert "reviewed" in mine.get_attribute("class")
    assert page.locator("#diff-reviewed").inner_text() == "1"
    page.keyboard.press("Control+z")
    page.wait_for_selector(f"#review-cells[data-last-undo='lymphocyte:{cell_id}']")
    assert Cell.objects.get(pk=cell_id).reviewed_class == ""
    assert "reviewed" not in mine.get_attribute("class")


def test_after_a_key_the_review_goes_on_from_the_next_cell(browser_page, live_server,
                                                           review_case):
    """Moving a cell to its group took the keyboard focus from it while it stayed selected:
    an arrow then did nothing and the next key moved the same cell again. The next cell is
    now selected and focused, so each key acts on the cell the page shows as selected."""
    page = browser_page
    _open(page, live_server, review_case)
    figs = page.locator(".group[data-group='neutrophil'] figure.cell")
    first, second, third = (int(figs.nth(i).get_attribute("data-cell")) for i in range(3))
    figs.first.click()
    page.keyboard.press("l")
    page.wait_for_selector(f"#review-cells[data-last-move='lymphocyte:{first}']")
    active = "document.activeElement.getAttribute('data-cell')"
    assert page.evaluate(active) == str(second)
    assert page.locator("figure.cell.selected").evaluate_all(
        "fs => fs.map(f => f.getAttribute('data-cell'))") == [str(second)]
    page.keyboard.press("ArrowRight")
    assert page.evaluate(active) == str(third)
    page.keyboard.press("m")
    page.wait_for_selector(f"#review-cells[data-last-move='monocyte:{third}']")
    assert Cell.objects.get(pk=first).final_class == "lymphocyte"
    assert Cell.objects.get(pk=second).reviewed_class == ""      # skipped, untouched
    assert Cell.objects.get(pk=third).final_class == "monocyte"
    # Ctrl-Z brings the last one back and makes it the selection again.
    page.keyboard.press("Control+z")
    page.wait_for_selector(f"#review-cells[data-last-undo='neutrophil:{third}']")
    assert page.evaluate(active) == str(third)


def test_a_cell_reached_with_tab_is_the_one_the_keys_act_on(browser_page, live_server,
                                                            review_case):
    page = browser_page
    _open(page, live_server, review_case)
    fig = page.locator("#review-cells figure.cell").first
    cell_id = int(fig.get_attribute("data-cell"))
    fig.focus()     # as Tab reaches it
    assert "selected" in fig.get_attribute("class")
    page.keyboard.press("x")
    page.wait_for_selector(f"#review-cells[data-last-move='artefact:{cell_id}']")
    assert Cell.objects.get(pk=cell_id).final_class == "artefact"
