"""The large-cell pane shows, for a neutrophil, the map of the vacuole output beside the class
map: its own box, its own legend saying what the map is and is not, the overlay drawn by
GET /cells/<id>/cam/?map=vacuole; a cell that is not (or no longer) a neutrophil has none."""

from __future__ import annotations

import numpy as np
import pytest

from apps.ml.cam import CamMap
from tests.browser.conftest import PASSWORD
from tests.helpers import browser_login

pytestmark = pytest.mark.browser


def _maps(specimen) -> None:  # type: ignore[no-untyped-def]
    from apps.analysis.models import CellPrediction

    values = np.zeros((12, 12), np.uint8)
    values[6, 6] = 255
    cam = CamMap(values, (0.1, 0.1, 0.9, 0.9))
    CellPrediction.objects.filter(cell__specimen=specimen).update(
        cam_map=cam.encode(), cam_box=list(cam.box), vacuole_cam_map=cam.encode())


def test_a_neutrophil_shows_its_vacuole_map(browser_page, live_server, review_case):
    _maps(review_case)
    page = browser_page
    browser_login(page, live_server, "bio", PASSWORD)
    page.goto(f"{live_server.url}/review/{review_case.accession}/")
    page.wait_for_selector("#review-cells figure.cell")

    page.locator(".group[data-group='lymphocyte'] figure.cell").first.click()
    assert page.locator("#preview-vacuole").is_disabled()     # neutrophils only
    assert page.locator("#preview-vacuole").is_hidden()       # and not offered at all

    neutrophil = page.locator(".group[data-group='neutrophil'] figure.cell").first
    cell_id = neutrophil.get_attribute("data-cell")
    neutrophil.click()
    assert page.locator("#preview-vacuole").is_enabled() and page.locator(
        "#preview-vacuole").is_visible()
    page.check("#preview-vacuole")
    page.wait_for_function(
        "() => { const i = document.getElementById('preview-image');"
        " return i.complete && i.naturalWidth > 0 && i.src.includes('map=vacuole'); }")
    assert page.get_attribute("#preview-image", "src").endswith(
        f"/cells/{cell_id}/cam/?map=vacuole")
    legend = page.locator("#preview-vacuole-legend")
    assert legend.is_visible() and "not that a vacuole is there" in legend.inner_text()
    assert page.locator("#preview-cam-legend").is_hidden()

    page.keyboard.press("l")                # reclassified: no longer a neutrophil
    page.wait_for_selector(f"#review-cells[data-last-move='lymphocyte:{cell_id}']")
    # The review went on to the next cell; shown again, the moved one has no vacuole map.
    page.locator(f"figure.cell[data-cell='{cell_id}']").click()
    assert page.locator("#preview-vacuole").is_disabled()
    assert page.get_attribute("#preview-image", "src").endswith(f"/cells/{cell_id}/image/")
    assert legend.is_hidden()


def test_the_biologist_reads_a_neutrophils_vacuoles(browser_page, live_server, review_case):
    """V: vacuoles seen; Shift+V: none; the pane's buttons show and set the read; Ctrl-Z undoes
    it; a cell that is not a neutrophil gets no read."""
    from apps.smears.models import Cell

    page = browser_page
    browser_login(page, live_server, "bio", PASSWORD)
    page.goto(f"{live_server.url}/review/{review_case.accession}/")
    page.wait_for_selector("#review-cells figure.cell")
    neutrophil = page.locator(".group[data-group='neutrophil'] figure.cell").first
    cell_id = neutrophil.get_attribute("data-cell")
    neutrophil.click()
    assert page.locator("#vacuole-read").is_visible()
    page.keyboard.press("v")
    page.wait_for_selector(f"#review-cells[data-last-read='seen:{cell_id}']")
    assert neutrophil.locator(".vac-read.seen").inner_text() == "vacuoles seen"
    assert page.get_attribute("#vacuole-read button[data-read='seen']", "aria-pressed") == "true"
    assert Cell.objects.get(pk=cell_id).reviewed_vacuoles is True

    page.keyboard.press("Shift+V")
    page.wait_for_selector(f"#review-cells[data-last-read='none:{cell_id}']")
    assert neutrophil.locator(".vac-read.none").inner_text() == "no vacuoles"
    assert Cell.objects.get(pk=cell_id).reviewed_vacuoles is False

    page.keyboard.press("Control+z")        # back to "seen"
    page.wait_for_selector(f"#review-cells[data-last-read='seen:{cell_id}']")
    page.click("#vacuole-read button[data-read='']")   # not read: the model's output counts
    page.wait_for_selector(f"#review-cells[data-last-read=':{cell_id}']")
    assert neutrophil.locator(".vac-read").count() == 0
    assert Cell.objects.get(pk=cell_id).reviewed_vacuoles is None

    lymphocyte = page.locator(".group[data-group='lymphocyte'] figure.cell").first
    lymphocyte.click()
    assert page.locator("#vacuole-read").is_hidden()   # neutrophils only
    # A neutrophil and a lymphocyte selected: the neutrophil is read, and the page says why the
    # lymphocyte is not.
    neutrophil.click(modifiers=["Control"])
    page.keyboard.press("v")
    page.wait_for_selector(f"#review-cells[data-last-read='seen:{cell_id}']")
    assert page.locator("#vacuole-read-others").is_visible()
    assert lymphocyte.locator(".vac-read").count() == 0

    # A lymphocyte made a neutrophil shows its vacuole output at once, as the gallery words it.
    assert lymphocyte.locator(".anomaly.vacuole").count() == 0
    lymphocyte.click()
    lymphocyte_id = lymphocyte.get_attribute("data-cell")
    page.keyboard.press("n")
    page.wait_for_selector(f"#review-cells[data-last-move='neutrophil:{lymphocyte_id}']")
    moved = page.locator(f"figure.cell[data-cell='{lymphocyte_id}'] .anomaly.vacuole")
    assert moved.is_visible() and moved.inner_text() == "vac 0.10"


def test_the_scores_panel_follows_a_read_without_a_reload(browser_page, live_server, review_case,
                                                          monkeypatch):
    """The worker recomputes the scores after a read; the page reads its scores panel again and
    shows the new count, the undo history kept (no reload)."""
    from apps.analysis.scores import scores_compute

    monkeypatch.setattr("apps.analysis.tasks.scores_compute_task.delay",
                        lambda specimen_id, trigger: scores_compute(specimen_id=specimen_id,
                                                                    trigger=trigger))
    scores_compute(specimen_id=review_case.pk, trigger="test")
    page = browser_page
    browser_login(page, live_server, "bio", PASSWORD)
    page.goto(f"{live_server.url}/review/{review_case.accession}/")
    page.click("#tab-scores")
    vexas = page.locator("#scores [data-score='vexas']")
    assert "read by the biologist" not in vexas.inner_text()
    neutrophil = page.locator(".group[data-group='neutrophil'] figure.cell").first
    neutrophil.click()
    page.keyboard.press("v")
    page.wait_for_selector("#review-cells[data-scores-refreshed]", timeout=15_000)
    vexas.locator("details summary").first.click()   # the evidence table
    assert "1/5 neutrophils vacuolated" in vexas.inner_text()
    assert "vacuoles read by the biologist in 1 of the 5" in vexas.inner_text()


def test_the_domain_banner_follows_the_cells_classed_without_a_reload(
        browser_page, live_server, review_case, monkeypatch):
    """Another lab's stain: the banner counts the cells waiting for the biologist's class; it
    follows each one classed, as the scores panel does, without a reload."""
    from apps.analysis.models import AnalysisRun, CellPrediction
    from apps.analysis.scores import scores_compute

    monkeypatch.setattr("apps.analysis.tasks.scores_compute_task.delay",
                        lambda specimen_id, trigger: scores_compute(specimen_id=specimen_id,
                                                                    trigger=trigger))
    AnalysisRun.objects.filter(specimen=review_case).update(domain_max_outside=0.25)
    CellPrediction.objects.filter(cell__specimen=review_case).update(
        view="found", in_domain=False, domain_score=4.0)
    cells = CellPrediction.objects.filter(cell__specimen=review_case).count()
    page = browser_page
    browser_login(page, live_server, "bio", PASSWORD)
    page.goto(f"{live_server.url}/review/{review_case.accession}/")
    banner = "#domain-banner"
    assert f"{cells} of its {cells} images are not counted" in page.inner_text(banner)
    first = page.locator(".group[data-group='unclassified'] figure.cell").first
    first.click()
    page.keyboard.press("n")
    page.wait_for_selector("#review-cells[data-scores-refreshed]", timeout=15_000)
    assert f"{cells - 1} of its {cells} images are not counted" in page.inner_text(banner)
