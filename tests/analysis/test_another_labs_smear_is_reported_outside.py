"""End to end with the registered model: a smear from another laboratory is reported outside
the validated domain, its cell-based scores are indeterminate and the case page says so; a
smear of the training lab's cells is inside.

The other laboratory: white cells cut from the Raabin-WBC fields of TXL-PBC (575 x 575 px
fields: another microscope, camera and stain, never trained on by any registered model). LISC
is not used here: the registered model may have been trained on it (its card says)."""

from __future__ import annotations

import io
import zipfile

import pytest
from PIL import Image

from apps.analysis import pipeline
from apps.analysis.models import AnalysisRun, RunStatus
from apps.analysis.selectors import run_domain
from apps.smears.services import smear_read_upload
from apps.workflow.services import smear_import
from tests.helpers import DATASETS, export_zip

TXL = DATASETS / "txl_pbc"
RAABIN_FIELD = (575, 575)  # the size of the Raabin-WBC fields in TXL-PBC


@pytest.fixture(autouse=True)
def _fresh_runner():
    pipeline.reset_runner()
    yield
    pipeline.reset_runner()


def _other_lab_zip(cells: int) -> bytes:
    """Square crops 1.5 x the white-cell boxes of Raabin-WBC fields, as a scanner exports them."""
    if not (TXL / "labels").is_dir():
        pytest.fail(f"The TXL-PBC dataset is missing: {TXL} (see ../shared/datasets).")
    buffer = io.BytesIO()
    n = 0
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for label in sorted((TXL / "labels" / "test").glob("*.txt")):
            field = TXL / "images" / "test" / f"{label.stem}.jpg"
            with Image.open(field) as im:
                if im.size != RAABIN_FIELD:
                    continue
                rgb = im.convert("RGB")
            for line in label.read_text().splitlines():
                c, x, y, bw, bh = (float(v) for v in line.split())
                if int(c) != 0 or n >= cells:
                    continue
                w, h = rgb.size
                half = 0.75 * max(bw * w, bh * h)
                crop = rgb.crop((round(x * w - half), round(y * h - half),
                                 round(x * w + half), round(y * h + half)))
                out = io.BytesIO()
                crop.save(out, format="JPEG", quality=92)
                archive.writestr(f"export/cell_{n:03d}.jpg", out.getvalue())
                n += 1
    assert n == cells, f"only {n} Raabin-WBC white cells in the TXL-PBC test split"
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
    run = _analyse(technician, specimen, _other_lab_zip(30), django_capture_on_commit_callbacks)
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
