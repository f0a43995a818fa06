"""The result message's fixed notes are written in HL7_NOTES_LANGUAGE (the laboratory's
clinicians read them in the LIS): French with "fr", English with "en", the numbers and the cell
model interpolated either way. The signer's own text, the control id, the LOINC codes and the
sha256 note are the same in both; a language the site does not have stops start-up."""

from __future__ import annotations

from datetime import UTC, datetime

import hl7
import pytest
from django.core.checks import run_checks
from django.utils import translation

from apps.reports.services import result_message_create
from apps.review.models import Signature

SHA = "ab" * 32
CONTENT = {
    "specimen": {"accession": "ACC-12", "collected_at": "2026-12-01T08:30:00+00:00"},
    "domain": {"code": "outside", "cells": 40, "outside": 38, "max_outside": 0.25,
               "models": [{"name": "hemaclinic-cells", "version": "2.1.2"}]},
    "differential": {"per_100_wbc": {"neutrophil": 60.0, "lymphocyte": 40.0},
                     "wbc_counted": 38, "target": 100, "short_of_target": True,
                     "cells": 40, "reviewed": 3},
    "signature": {"meaning": "validated", "signed_at": "2026-12-02T10:00:00+00:00",
                  "domain_acknowledged": True},
}
FRENCH = [
    "Conclusion du biologiste: Amendment: à revoir",
    "Motif de la modification\u00a0: Recomptage des lymphocytes",
    "Images de cellules hors du domaine sur lequel le modèle cellulaire (hemaclinic-cells "
    "2.1.2) a été validé\u00a0: 38 images sur 40. Les classifications automatiques des "
    "cellules et les scores qui en sont calculés ne sont pas fiables pour ce frottis.",
    "Le biologiste validant a confirmé avoir revu les images des cellules, qui sont hors du "
    "domaine sur lequel le modèle cellulaire a été validé.",
    "Formule établie sur 38 leucocytes, moins que la cible de 100.",
    "Cellules classées une à une par le biologiste (reclassées ou confirmées)\u00a0: 3 sur 40"
    "\u00a0; les autres gardent la classe du modèle.",
    f"Empreinte sha256 du contenu signé {SHA}",
]
ENGLISH = [
    "Conclusion du biologiste: Amendment: à revoir",
    "Amendment: Recomptage des lymphocytes",
    "Cell images outside the domain the cell model (hemaclinic-cells 2.1.2) was validated on: "
    "38 of 40 images. Automated cell classifications and the scores computed from them are not "
    "reliable for this smear.",
    "The validating biologist confirmed reviewing the cell images, which are outside the cell "
    "model's validated domain.",
    "Differential from 38 white cells, fewer than the target of 100.",
    "Cells classified one by one by the biologist (reclassified or confirmed): 3 of 40; the "
    "others keep the model's class.",
    f"Signed content sha256 {SHA}",
]


def _sign(specimen, biologist, *, version: int, meaning: str):  # type: ignore[no-untyped-def]
    signed = {**CONTENT["signature"], "meaning": meaning}
    return Signature.objects.create(
        specimen=specimen, version=version, meaning=meaning, signed_by=biologist,
        signed_at=datetime(2026, 12, 2, 10, 0, tzinfo=UTC),
        comment="Conclusion du biologiste: Amendment: à revoir",
        amendment_reason="Recomptage des lymphocytes",
        content={**CONTENT, "signature": signed}, content_sha256=SHA)


@pytest.fixture
def signature(specimen, biologist):  # type: ignore[no-untyped-def]
    """An amendment (version 2) whose content is outside the domain with a short count; the
    signer's comment carries an English-looking 'Amendment:' that must stay as typed."""
    return _sign(specimen, biologist, version=2, meaning="validated")


def _message(signature, settings, language):  # type: ignore[no-untyped-def]
    settings.HL7_NOTES_LANGUAGE = language
    settings.LIS_OUTBOX_DIR = ""
    return hl7.parse(result_message_create(signature=signature).message)


def _notes(msg: hl7.Message) -> list[str]:
    return [msg.unescape(str(n[3])) for n in msg.segments("NTE")]


@pytest.mark.parametrize(("language", "expected"), [("fr", FRENCH), ("en", ENGLISH)])
def test_notes_are_in_the_configured_language(signature, settings, language, expected):  # type: ignore[no-untyped-def]
    msg = _message(signature, settings, language)
    assert _notes(msg) == expected
    # Codes and identifiers do not change with the language.
    assert str(msg.segment("MSH")[10]) == "ACC-12-v2"
    assert str(msg.segment("OBR")[4]) == "24318-8^Manual differential panel - Blood^LN"
    assert str(msg.segment("OBR")[25]) == "C"
    assert [str(o[3]) for o in msg.segments("OBX")][:2] == [
        "23761-0^Neutrophils/100 leukocytes in Blood by Manual count^LN",
        "737-7^Lymphocytes/100 leukocytes in Blood by Manual count^LN"]


def test_the_language_of_the_request_does_not_leak_into_the_message(  # type: ignore[no-untyped-def]
        signature, settings):
    """Built while a French page is active, with English configured: English notes."""
    with translation.override("fr"):
        msg = _message(signature, settings, "en")
        assert translation.get_language() == "fr"
    assert _notes(msg) == ENGLISH


def test_a_rejection_says_so_in_french(specimen, biologist, settings):  # type: ignore[no-untyped-def]
    rejected = _sign(specimen, biologist, version=1, meaning="rejected")
    notes = _notes(_message(rejected, settings, "fr"))
    assert notes[0] == "Résultat non validé (rejeté)."
    # No review is claimed on a rejection.
    assert not any(n.startswith("Le biologiste validant") for n in notes)


def test_a_language_the_site_does_not_have_stops_start_up(settings):  # type: ignore[no-untyped-def]
    assert [e.id for e in run_checks() if e.id == "hemaclinic.E003"] == []
    settings.HL7_NOTES_LANGUAGE = "de"
    errors = [e for e in run_checks() if e.id == "hemaclinic.E003"]
    assert len(errors) == 1 and errors[0].is_serious()
    assert "HL7_NOTES_LANGUAGE='de'" in errors[0].msg and "fr, en" in errors[0].msg
