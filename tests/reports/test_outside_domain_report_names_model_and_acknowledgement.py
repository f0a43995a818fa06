"""A case whose cell images are outside the cell model's validated domain, validated by a
biologist who confirmed reviewing the cells: the result message names the cell model and its
version (never 'unknown'), also for content signed before the domain entry named it, and both
the message and the report (in English and French) say that the biologist confirmed reviewing
the cells. Inside the domain, or on a rejection, no such confirmation is printed."""

from __future__ import annotations

import hl7
import pytest

from apps.analysis.models import AnalysisRun, CellPrediction, RunStatus
from apps.reports.document import report_html
from apps.reports.hl7_result import SignatureFacts, oru_r01
from apps.reports.models import ResultMessage
from apps.smears.models import Cell
from apps.workflow.services import case_sign
from tests.reports.conftest import MODEL, SIGNED_AT, confirm_scanner_disagreements
from tests.reports.pdfs import pdf_bytes, pdf_text

PASSWORD = "correct-horse-battery"
ACK_EN = ("The validating biologist confirmed reviewing the cell images, which are outside the "
          "model's validated domain.")
ACK_FR = ("Le biologiste validant a confirmé avoir revu les images des cellules, qui sont hors "
          "du domaine sur lequel le modèle a été validé.")
ACK_HL7 = ("The validating biologist confirmed reviewing the cell images, which are outside "
           "the cell model's validated domain.")
NAMED = "Cell images outside the domain the cell model (hemaclinic-cells 1.0.0) was validated on"


@pytest.fixture
def make_specimen(make_specimen, settings, tmp_path):  # type: ignore[no-untyped-def]
    """The report fixture's specimen, ready to sign (the run its import queued, never started
    in a test, is dropped), its cells outside the domain (3 of 4, each confirmed by the
    biologist) unless `inside`."""
    settings.LIS_OUTBOX_DIR = str(tmp_path / "outbox")

    def make(*, inside: bool = False):  # type: ignore[no-untyped-def]
        specimen = make_specimen()
        AnalysisRun.objects.filter(specimen=specimen, status=RunStatus.QUEUED).delete()
        AnalysisRun.objects.filter(specimen=specimen).update(domain_max_outside=0.2)
        for i, p in enumerate(CellPrediction.objects.filter(cell__specimen=specimen)
                              .order_by("cell_id")):
            p.view, p.in_domain = "found", inside or i == 3
            p.domain_score = 0.5 if p.in_domain else 4.0
            p.save()
            if not p.in_domain:  # a cell outside counts once the biologist confirms it
                Cell.objects.filter(pk=p.cell_id).update(reviewed_class=p.cell_class)
        confirm_scanner_disagreements(specimen)  # read before validating, inside or not
        return specimen
    return make


def _sign(specimen, signer, capture, **kw):  # type: ignore[no-untyped-def]
    with capture(execute=True):
        return case_sign(actor=signer, specimen=specimen, password=PASSWORD,
                         meaning=kw.pop("meaning", "validated"), count_acknowledged=True, **kw)


def _notes(er7: str) -> list[str]:
    msg = hl7.parse(er7)
    return [msg.unescape(str(n[3])) for n in msg.segments("NTE")]


def _flat(html: str) -> str:
    return " ".join(html.split()).replace("&#x27;", "'")


def test_the_message_names_the_model_and_both_say_the_cells_were_reviewed(
        make_specimen, signer, tmp_path, rendered, django_capture_on_commit_callbacks):
    signature = _sign(make_specimen(), signer, django_capture_on_commit_callbacks,
                      domain_acknowledged=True)
    assert signature.content["domain"]["models"] == [MODEL]
    assert signature.content["signature"]["domain_acknowledged"] is True

    notes = _notes(ResultMessage.objects.get(signature=signature).message)
    assert any(n.startswith(f"{NAMED}: 3 of 4 images") for n in notes)
    assert not any("unknown" in n for n in notes)
    assert ACK_HL7 in notes
    # Right after the domain note, before the counts it qualifies.
    assert notes.index(ACK_HL7) == next(i for i, n in enumerate(notes) if n.startswith(NAMED)) + 1

    en = _flat(report_html(signature=signature, language="en", media_root=tmp_path))
    fr = _flat(report_html(signature=signature, language="fr", media_root=tmp_path))
    assert ACK_EN in en and ACK_FR not in en
    assert ACK_FR in fr and ACK_EN not in fr
    # Printed in the PDF, next to the domain warning.
    pdf = " ".join(pdf_text(pdf_bytes(rendered(signature, "fr")), tmp_path).split())
    assert ACK_FR in pdf
    assert pdf.index("Ces images sont hors du domaine") < pdf.index(ACK_FR)


def test_inside_the_domain_nothing_is_said(make_specimen, signer, tmp_path,
                                           django_capture_on_commit_callbacks):
    signature = _sign(make_specimen(inside=True), signer, django_capture_on_commit_callbacks)
    assert signature.content["domain"]["code"] == "inside"
    notes = _notes(ResultMessage.objects.get(signature=signature).message)
    assert not any("outside" in n or "confirmed reviewing" in n for n in notes)
    for language, ack in (("en", ACK_EN), ("fr", ACK_FR)):
        html = _flat(report_html(signature=signature, language=language, media_root=tmp_path))
        assert ack not in html and "domain-acknowledged" not in html


def test_a_rejection_outside_the_domain_claims_no_review(make_specimen, signer, tmp_path,
                                                         django_capture_on_commit_callbacks):
    signature = _sign(make_specimen(), signer, django_capture_on_commit_callbacks,
                      meaning="rejected", domain_acknowledged=True)
    notes = _notes(ResultMessage.objects.get(signature=signature).message)
    assert any(n.startswith(NAMED) for n in notes)
    assert ACK_HL7 not in notes
    html = _flat(report_html(signature=signature, language="en", media_root=tmp_path))
    assert ACK_EN not in html


def _facts() -> SignatureFacts:
    return SignatureFacts(version=1, meaning="validated", signed_at=SIGNED_AT, signer_id="cm",
                          signer_family_name="Martin", signer_given_name="Claire", comment="",
                          amendment_reason="", content_sha256="ab" * 32)


def test_content_signed_before_the_domain_named_its_model_falls_back_to_the_cell_model():
    """The domain entry had no models: the cell model is read from the content's models, not
    a score's definition, and the acknowledgement is still reported."""
    content = {
        "specimen": {"accession": "ACC-9", "collected_at": None},
        "domain": {"code": "outside", "cells": 30, "outside": 12, "max_outside": 0.25},
        "differential": {"per_100_wbc": {"neutrophil": 60.0}, "cells": 30, "reviewed": 0,
                         "wbc_counted": 30},
        "scores": [{"name": "vexas", "definition": "vexas-rule", "version": "1.2"}],
        "models": [{"name": "hemaclinic-cells", "version": "2.1.2", "sha256": "cd" * 32},
                   {"name": "vexas-rule", "version": "1.2", "sha256": "ef" * 32}],
        "signature": {"meaning": "validated", "domain_acknowledged": True},
    }
    notes = _notes(oru_r01(content=content, signature=_facts(), sending_facility="LAB",
                           receiving_application="LIS", receiving_facility="CHU"))
    assert any(n.startswith("Cell images outside the domain the cell model "
                            "(hemaclinic-cells 2.1.2) was validated on: 12 of 30 images")
               for n in notes)
    assert not any("unknown" in n or "vexas-rule" in n for n in notes)
    assert ACK_HL7 in notes
    unacknowledged = {**content, "signature": {"meaning": "validated"}}
    assert ACK_HL7 not in _notes(oru_r01(content=unacknowledged, signature=_facts(),
                                         sending_facility="LAB", receiving_application="LIS",
                                         receiving_facility="CHU"))
