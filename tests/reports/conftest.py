"""A signed specimen with a patient, a CBC, real PBC cells, predictions and Grad-CAM overlays.

Predictions are written directly (not by running the ONNX model) so the report tests depend on
the report code only; the images are real CellaVision cells from the shared PBC set.
"""

from __future__ import annotations

import hashlib
import io
import json
from collections.abc import Callable
from datetime import UTC, date, datetime
from typing import Any

import pytest
from django.core.files.base import ContentFile
from django.core.serializers.json import DjangoJSONEncoder
from PIL import Image

from tests.helpers import export_zip

ACCESSION = "H25-0001"
SIGNED_AT = datetime(2026, 11, 23, 9, 30, tzinfo=UTC)
ATTACK = '<a rel="attachment" href="file:///etc/passwd">x</a>'
CBC_CSV = (
    "Nickname,Analyzer ID,Date,Time,Rack,Position,Sample No.,Patient ID,"
    "WBC(10^9/L),RBC(10^12/L),HGB(g/L),MCV(fL),PLT(10^3/uL),NEUT#(10^9/L)\r\n"
    f"XN-10^1,XN-10^12345,2026/11/20,09:15:02,000001,01,{ACCESSION},MRN-77,"
    "3.10,3.20,98,104.5,90,1.20\r\n"
).encode()
MODEL = {"name": "hemaclinic-cells", "version": "1.0.0", "sha256": "ab" * 32}


def content_sha256(content: dict[str, Any]) -> str:
    canonical = json.dumps(content, sort_keys=True, separators=(",", ":"), cls=DjangoJSONEncoder)
    return hashlib.sha256(canonical.encode()).hexdigest()


def _cam_png(image_bytes: bytes) -> bytes:
    # A plausible overlay: the cell with a red tint, as the analysis stores it.
    with Image.open(io.BytesIO(image_bytes)) as im:
        cell = im.convert("RGB")
    overlay = Image.blend(cell, Image.new("RGB", cell.size, (220, 30, 30)), 0.35)
    out = io.BytesIO()
    overlay.save(out, format="PNG")
    return out.getvalue()


@pytest.fixture
def signer(make_user):  # type: ignore[no-untyped-def]
    user = make_user("cmartin", "biologist")
    user.first_name, user.last_name = "Claire", "Martin"
    user.save()
    return user


def confirm_scanner_disagreements(specimen) -> None:  # type: ignore[no-untyped-def]
    """The biologist confirms the model's class of each cell the slide scanner classed
    otherwise (review.selectors.scanner_differs): validating waits for them."""
    from apps.review.selectors import scanner_differs
    from apps.smears.models import Cell

    for cell in Cell.objects.filter(specimen=specimen).prefetch_related("predictions"):
        prediction = cell.latest_prediction()
        if scanner_differs(cell, prediction):
            cell.reviewed_class = prediction.cell_class
            cell.save(update_fields=["reviewed_class"])


@pytest.fixture
def make_specimen(technician):  # type: ignore[no-untyped-def]
    """Build a specimen ready to sign: patient (names given), CBC, 4 cells with predictions
    (or ``classes``: cells per PBC class)."""
    from apps.analysis.models import AnalysisRun, CellPrediction, RunStatus
    from apps.patients.services import patient_create, specimen_create
    from apps.smears.models import Cell
    from apps.smears.services import smear_read_upload
    from apps.workflow.services import cbc_import, smear_import

    def make(*, family_name: str = "Dupont", given_name: str = "Jeanne",  # type: ignore[no-untyped-def]
             classes: dict[str, int] | None = None):
        patient = patient_create(actor=technician, external_id="MRN-77", family_name=family_name,
                                 given_name=given_name, birth_date=date(1951, 3, 4), sex="F")
        specimen = specimen_create(actor=technician, accession=ACCESSION, patient=patient,
                                   collected_at=datetime(2026, 11, 20, 7, 45, tzinfo=UTC))
        cbc_import(actor=technician, data=CBC_CSV, specimen=specimen)
        # The analysis the import queues runs on commit, which never comes inside a test.
        batch = smear_read_upload(name="export.zip", fileobj=io.BytesIO(
            export_zip(classes or {"neutrophil": 2, "eosinophil": 1, "lymphocyte": 1})))
        smear_import(actor=technician, specimen=specimen, batch=batch)
        run = AnalysisRun.objects.create(specimen=specimen, pipeline="test",
                                         status=RunStatus.SUCCEEDED, models_used=[MODEL])
        for i, cell in enumerate(Cell.objects.filter(specimen=specimen).order_by("pk")):
            predicted = "neutrophil" if cell.analyser_class == "neutrophil" else "monocyte"
            probability = round(0.61 + 0.1 * (i % 4), 2)
            prediction = CellPrediction.objects.create(
                cell=cell, run=run, model_name=MODEL["name"], model_version=MODEL["version"],
                model_sha256=MODEL["sha256"], cell_class=predicted,
                cell_class_prob=probability, class_probs={predicted: probability},
                anomalies={"vacuole": 0.125, "pseudo_pelger": 0.03,
                           "hypogranulation": None, "barr_body": None})
            with cell.image.open("rb") as fh:
                prediction.cam.save(f"{cell.pk}.png", ContentFile(_cam_png(fh.read())))
            if cell.analyser_class == "lymphocyte":
                cell.reviewed_class = "lymphocyte"
                cell.save(update_fields=["reviewed_class"])
        return specimen

    return make


@pytest.fixture
def sign(signer):  # type: ignore[no-untyped-def]
    """Write a Signature as the signing service does: content from report_content, hashed."""
    from apps.review.models import Signature
    from apps.review.selectors import report_content

    def make(specimen, *, comment: str = "Compatible with a reactive neutrophilia.",  # type: ignore[no-untyped-def]
             meaning: str = "validated", version: int = 1, amendment_reason: str = "",
             scores: list[dict[str, Any]] | None = None, by=None):
        user = by or signer
        content = report_content(specimen, comment=comment)
        if scores is not None:
            content["scores"] = scores
        content["signature"] = {
            "version": version, "meaning": meaning,
            "signed_by": user.get_full_name() or user.get_username(),
            "username": user.get_username(), "signed_at": SIGNED_AT.isoformat(),
            "amendment_reason": amendment_reason,
        }
        return Signature.objects.create(
            specimen=specimen, version=version, meaning=meaning, signed_by=user,
            comment=comment, amendment_reason=amendment_reason, content=content,
            content_sha256=content_sha256(content))

    return make


@pytest.fixture
def signed(make_specimen, sign):  # type: ignore[no-untyped-def]
    return sign(make_specimen())


@pytest.fixture
def rendered() -> Callable[..., Any]:
    """Render a signature's report now; return the Report (status ready, or the test fails)."""
    from apps.reports.models import ReportStatus
    from apps.reports.services import report_generate

    def make(signature, language: str = "en"):  # type: ignore[no-untyped-def]
        report = report_generate(signature=signature, language=language, actor=None)
        assert report.status == ReportStatus.READY, report.error
        return report

    return make
