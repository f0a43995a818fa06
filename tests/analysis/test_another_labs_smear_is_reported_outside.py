"""End to end with the registered model: a smear from another laboratory (LISC: another
microscope, camera and stain) is reported outside the validated domain, its cell-based scores
are indeterminate and the case page says so; a smear of the training lab's cells is inside."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import pytest

from apps.analysis import pipeline
from apps.analysis.models import AnalysisRun, RunStatus
from apps.analysis.selectors import run_domain
from apps.smears.services import smear_read_upload
from apps.workflow.services import smear_import
from tests.helpers import DATASETS, export_zip

LISC = DATASETS / "lisc"


@pytest.fixture(autouse=True)
def _fresh_runner():
    pipeline.reset_runner()
    yield
    pipeline.reset_runner()


def _lisc_zip(per_class: int) -> bytes:
    if not (LISC / "labels.csv").is_file():
        pytest.fail(f"The LISC dataset is missing: {LISC} (see ../shared/datasets).")
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for cls in ("neutrophil", "lymphocyte", "monocyte", "eosinophil", "basophil"):
            # Every 7th file: different originals, not augmented copies of one cell.
            for path in sorted(Path(LISC / cls).glob("*.jpg"))[::7][:per_class]:
                archive.write(path, f"export/{cls}/{path.name}")
    return buffer.getvalue()


def _analyse(technician, specimen, data, capture):  # type: ignore[no-untyped-def]
    batch = smear_read_upload(name="export.zip", fileobj=io.BytesIO(data))
    with capture(execute=True):
        outcome = smear_import(actor=technician, specimen=specimen, batch=batch)
    run = AnalysisRun.objects.get(pk=outcome.analysis_run_id)
    assert run.status == RunStatus.SUCCEEDED, run.error
    return run


def test_another_labs_smear_is_outside_and_says_so(client, technician, biologist, specimen,  # type: ignore[no-untyped-def]
                                                   django_capture_on_commit_callbacks):
    run = _analyse(technician, specimen, _lisc_zip(8), django_capture_on_commit_callbacks)
    domain = run_domain(run)
    assert domain["code"] == "outside", domain
    client.force_login(biologist)
    page = client.get(f"/review/{specimen.accession}/").content.decode()
    assert 'data-domain="outside"' in page


def test_the_training_labs_smear_is_inside(technician, specimen,  # type: ignore[no-untyped-def]
                                          django_capture_on_commit_callbacks):
    data = export_zip({"neutrophil": 10, "lymphocyte": 8, "monocyte": 4, "eosinophil": 3,
                       "basophil": 2})
    run = _analyse(technician, specimen, data, django_capture_on_commit_callbacks)
    domain = run_domain(run)
    assert domain["code"] == "inside", domain
