"""Upload -> Celery task in a real worker process over the configured broker -> stored results.

On a laptop the broker is the filesystem transport; in CI it is Redis and the database is
PostgreSQL. The worker is a separate process started here, reading the same test database.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

from apps.analysis.models import AnalysisRun, CellPrediction, RunStatus
from apps.patients.models import Specimen, SpecimenStatus
from tests.helpers import export_zip, worker_database_url

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.worker


@pytest.fixture
def worker(transactional_db, settings, tmp_path):  # type: ignore[no-untyped-def]
    from hemaclinic.celery import app

    queue = f"test-{uuid.uuid4().hex[:10]}"  # never picks up another run's leftover messages
    log = tmp_path / "worker.log"
    env = {**os.environ, "DATABASE_URL": worker_database_url(),
           "MEDIA_ROOT": str(settings.MEDIA_ROOT),
           "CELERY_QUEUE": queue, "CELERY_TASK_ALWAYS_EAGER": "0", "ML_THREADS": "1"}
    with log.open("wb") as fh:
        process = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "hemaclinic", "worker", "--loglevel", "INFO",
             "--concurrency", "1", "--queues", queue, "--without-gossip", "--without-mingle",
             "--without-heartbeat", "--hostname", f"{queue}@%h"],
            cwd=ROOT, env=env, stdout=fh, stderr=subprocess.STDOUT)
    settings.CELERY_TASK_ALWAYS_EAGER = False
    app.conf.task_always_eager = False
    previous_queue = app.conf.task_default_queue
    app.conf.task_default_queue = queue
    try:
        yield process, log
    finally:
        app.conf.task_default_queue = previous_queue
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()


def test_upload_is_analysed_by_a_real_worker(client, make_user, worker):
    process, log = worker
    client.force_login(make_user("tech", "technician"))
    client.post("/specimens/new/", {"accession": "E2E-1"})
    data = export_zip({"neutrophil": 4, "lymphocyte": 3, "eosinophil": 3})
    from django.core.files.uploadedfile import SimpleUploadedFile

    response = client.post("/specimens/E2E-1/smear/",
                           {"files": SimpleUploadedFile("export.zip", data, "application/zip")})
    assert response.status_code == 302
    specimen = Specimen.objects.get(accession="E2E-1")
    run = AnalysisRun.objects.get(specimen=specimen)

    deadline = time.monotonic() + 240
    while time.monotonic() < deadline:
        run.refresh_from_db()
        if run.status in (RunStatus.SUCCEEDED, RunStatus.FAILED) or process.poll() is not None:
            break
        time.sleep(0.5)
    assert run.status == RunStatus.SUCCEEDED, (run.status, run.error, log.read_text()[-3000:])
    assert run.progress_done == run.progress_total == 10
    assert run.models_used and run.models_used[0]["sha256"]
    predictions = CellPrediction.objects.filter(cell__specimen=specimen)
    assert predictions.count() == 10
    assert all(p.has_cam for p in predictions)
    specimen.refresh_from_db()
    assert specimen.status == SpecimenStatus.ANALYSED
    # The worker's own process handled it (not an eager call in this process).
    assert "analysis_run_execute" in log.read_text()
