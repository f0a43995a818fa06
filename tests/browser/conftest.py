from __future__ import annotations

import os
import shutil

import pytest

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"


@pytest.fixture(autouse=True)
def _outbox_in_tmp(settings, tmp_path):  # type: ignore[no-untyped-def]
    # A signed case writes its result message to the outbox: a test's file must not be found
    # by the next run (same accession, other content) in the project's data folder.
    settings.LIS_OUTBOX_DIR = str(tmp_path / "lis-outbox")


@pytest.fixture
def browser_page(live_server, tmp_path):  # type: ignore[no-untyped-def]
    if not os.path.exists(CHROMIUM):
        pytest.fail("Debian's chromium is required for the browser tests (bin/test installs it).")
    # Playwright's sync API runs an event loop in this thread; the test's own ORM calls are
    # still synchronous and safe.
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(
            executable_path=CHROMIUM, headless=True,
            args=["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update",
                  "--disable-sync"])
        context = browser.new_context(viewport={"width": 1366, "height": 768}, locale="en-US")
        page = context.new_page()
        page.set_default_timeout(60_000)
        try:
            yield page
        finally:
            context.close()
            browser.close()
            os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)


@pytest.fixture
def review_case(make_user, monkeypatch):  # type: ignore[no-untyped-def]
    """An analysed case with 12 real cells (the model agrees with the scanner, p=0.9), a Sysmex
    CBC with its automated differential, and a biologist `bio` (password PASSWORD) to review it.
    The scores are not recomputed after a reclassification (they are tested in tests/analysis)."""
    import io

    from django.utils import timezone

    from apps.analysis.models import AnalysisRun, CellPrediction, RunStatus
    from apps.patients.services import patient_create, specimen_create
    from apps.smears.models import Cell
    from apps.smears.services import smear_read_upload
    from apps.workflow.services import smear_import
    from tests.helpers import export_zip
    from tests.review.cbc import cbc_with_differential

    monkeypatch.setattr("apps.analysis.tasks.analysis_run_execute.delay", lambda *_: None)
    monkeypatch.setattr("apps.analysis.tasks.scores_compute_task.delay", lambda *_: None)
    technician = make_user("tech", "technician", password=PASSWORD)
    make_user("bio", "biologist", password=PASSWORD)
    patient = patient_create(actor=technician, external_id="MRN-1", sex="M")
    specimen = specimen_create(actor=technician, accession="S-0001", patient=patient)
    batch = smear_read_upload(name="e.zip", fileobj=io.BytesIO(export_zip(
        {"neutrophil": 5, "lymphocyte": 4, "monocyte": 2, "eosinophil": 1})))
    smear_import(actor=technician, specimen=specimen, batch=batch)
    cbc_with_differential(actor=technician, specimen=specimen)
    run = AnalysisRun.objects.get(specimen=specimen)
    AnalysisRun.objects.filter(pk=run.pk).update(status=RunStatus.SUCCEEDED,
                                                 finished_at=timezone.now(), progress_done=12)
    for cell in Cell.objects.filter(specimen=specimen):
        others = 0.1 / 8
        CellPrediction.objects.create(
            cell=cell, run=run, model_name="fixture", model_version="0", model_sha256="0" * 64,
            cell_class=cell.analyser_class, cell_class_prob=0.9,
            class_probs={cell.analyser_class: 0.9, **{c: others for c in (
                "neutrophil", "lymphocyte", "monocyte", "eosinophil", "basophil", "ig",
                "erythroblast", "platelet", "other") if c != cell.analyser_class}},
            anomalies={"vacuole": 0.1, "pseudo_pelger": 0.05})
    specimen.status = "analysed"
    specimen.save()
    return specimen


PASSWORD = "correct-horse-battery"  # noqa: S105
