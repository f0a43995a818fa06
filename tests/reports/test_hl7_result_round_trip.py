"""The signed result as HL7 v2.5 ORU^R01, read back with an independent parser."""

from __future__ import annotations

from datetime import UTC, datetime

import hl7

from apps.reports.hl7_result import (
    LOINC_PER_100_WBC,
    OTHER_PER_100_WBC,
    Amended,
    Sent,
    SignatureFacts,
    oru_r01,
    sent_observations,
)

CONTENT = {
    "specimen": {"accession": "ACC-7", "collected_at": "2026-12-01T08:30:00+00:00"},
    "patient": {"external_id": "MRN|1", "pseudo_id": "P-1", "family_name": "Dupont",
                "given_name": "Zoé", "birth_date": "1950-03-02", "sex": "F"},
    "differential": {
        "per_100_wbc": {"neutrophil": 57.5, "lymphocyte": 30.5, "monocyte": 7.0,
                        "eosinophil": 3.0, "basophil": 1.0, "ig": 0.5, "other": 0.5},
        "nrbc_per_100_wbc": 2.0,
        "wbc_counted": 200,
    },
}


def _facts(**kw) -> SignatureFacts:  # type: ignore[no-untyped-def]
    base = dict(version=1, meaning="validated",
                signed_at=datetime(2026, 12, 2, 10, 0, tzinfo=UTC), signer_id="bio1",
                signer_family_name="Martin", signer_given_name="Anne",
                comment="Neutrophiles normaux | pas de ^ dysplasie & rien~d'autre",
                amendment_reason="", content_sha256="ab" * 32)
    base.update(kw)
    return SignatureFacts(**base)  # type: ignore[arg-type]


def _message(**kw) -> hl7.Message:  # type: ignore[no-untyped-def]
    er7 = oru_r01(content=CONTENT, signature=_facts(**kw), sending_facility="CHU LAB",
                  receiving_application="LIS", receiving_facility="CHU")
    assert "\n" not in er7 and er7.startswith("MSH|^~\\&|HEMACLINIC|")
    return hl7.parse(er7)


def test_every_differential_value_comes_back_under_its_loinc_code():
    msg = _message()
    assert str(msg.segment("MSH")[9]) == "ORU^R01^ORU_R01"
    assert str(msg.segment("MSH")[12]) == "2.5"
    values = {str(o[3][0][0]): (float(str(o[5])), str(o[6]), str(o[11]))
              for o in msg.segments("OBX")}
    for cls, value in CONTENT["differential"]["per_100_wbc"].items():
        code = LOINC_PER_100_WBC[cls][0] if cls != "other" else OTHER_PER_100_WBC[0]
        assert values[code] == (value, "%", "F")
    # Every class of the denominator is sent: the shares add up to 100.
    assert sum(v[0] for v in values.values() if v[1] == "%") == 100.0
    assert values["18309-5"][0] == 2.0
    assert values["HC-WBC-COUNTED"][0] == 200
    assert str(msg.segment("MSH")[18]) == "UNICODE UTF-8"


def test_identity_signer_and_conclusion_survive_escaping():
    msg = _message()
    pid, obr = msg.segment("PID"), msg.segment("OBR")
    assert msg.unescape(str(pid[3][0][0])) == "MRN|1"
    assert str(pid[5]) == "Dupont^Zoé" and str(pid[7]) == "19500302" and str(pid[8]) == "F"
    assert str(obr[3]) == "ACC-7" and str(obr[4][0][0]) == "24318-8" and str(obr[25]) == "F"
    assert str(obr[32]) == "bio1&Martin&Anne"
    notes = [msg.unescape(str(n[3])) for n in msg.segments("NTE")]
    assert notes[0] == "Neutrophiles normaux | pas de ^ dysplasie & rien~d'autre"
    assert notes[-1] == f"Signed content sha256 {'ab' * 32}"


def test_an_amendment_is_a_corrected_result_with_its_reason():
    msg = _message(version=2, amendment_reason="Lymphocyte recount")
    assert str(msg.segment("MSH")[10]) == "ACC-7-v2"
    assert str(msg.segment("OBR")[25]) == "C"
    assert {str(o[11]) for o in msg.segments("OBX")} == {"C"}
    assert "Amendment: Lymphocyte recount" in [msg.unescape(str(n[3]))
                                               for n in msg.segments("NTE")]


def test_the_message_says_what_limits_the_numbers():
    """Outside the validated domain, a short count and unreviewed cells travel with the
    differential as notes, as the signed report shows them."""
    content = {**CONTENT,
               "domain": {"code": "outside", "cells": 40, "outside": 38, "max_outside": 0.25,
                          "models": [{"name": "hemaclinic-cells", "version": "2.1.2"}]},
               "differential": {**CONTENT["differential"], "wbc_counted": 38, "target": 100,
                                "short_of_target": True, "cells": 40, "reviewed": 3}}
    er7 = oru_r01(content=content, signature=_facts(), sending_facility="CHU LAB",
                  receiving_application="LIS", receiving_facility="CHU")
    msg = hl7.parse(er7)
    notes = [msg.unescape(str(n[3])) for n in msg.segments("NTE")]
    assert any(n.startswith("Cell images outside the domain the cell model "
                            "(hemaclinic-cells 2.1.2) was validated on: 38 of 40 images")
               for n in notes)
    assert "Differential from 38 white cells, fewer than the target of 100." in notes
    assert ("Cells classified one by one by the biologist (reclassified or confirmed): 3 of 40; "
            "the others keep the model's class.") in notes
    assert notes[-1].startswith("Signed content sha256")
    # Every cell classified by the biologist: no "others" to keep the model's class.
    every = {**content, "differential": {**content["differential"], "reviewed": 40}}
    every_notes = [msg.unescape(str(n[3])) for n in hl7.parse(oru_r01(
        content=every, signature=_facts(), sending_facility="CHU LAB",
        receiving_application="LIS", receiving_facility="CHU")).segments("NTE")]
    assert ("All 40 cells classified one by one by the biologist (reclassified or confirmed): "
            "no class of the model is counted.") in every_notes
    assert not any("the others keep" in n for n in every_notes)
    # The others left without a class (outside the domain, waiting): no model class counted.
    waiting = {**content, "differential": {**content["differential"], "unclassified": 37}}
    waiting_notes = [msg.unescape(str(n[3])) for n in hl7.parse(oru_r01(
        content=waiting, signature=_facts(), sending_facility="CHU LAB",
        receiving_application="LIS", receiving_facility="CHU")).segments("NTE")]
    assert ("Cells classified one by one by the biologist (reclassified or confirmed): 3 of "
            "40; no class of the model is counted: the other images were left without a "
            "class.") in waiting_notes
    # Inside the domain with a full count: none of these notes.
    inside = {**CONTENT, "domain": {**content["domain"], "code": "inside", "outside": 1}}
    plain = hl7.parse(oru_r01(content=inside, signature=_facts(), sending_facility="CHU LAB",
                              receiving_application="LIS", receiving_facility="CHU"))
    texts = [plain.unescape(str(n[3])) for n in plain.segments("NTE")]
    assert not any("outside the domain" in t or "fewer than the target" in t for t in texts)


def test_an_amendment_deletes_what_it_no_longer_holds():
    """Version 1 sent 'other 0.5' and 'IG 0.5'; the biologist then reclassified those cells.
    The correction sends both as deleted (OBX-11 D, no value), not merely leaves them out: the
    information system would otherwise keep them beside the corrected result. Each value it
    changes is a correction (C), each it keeps the same stays final (F)."""
    first = oru_r01(content=CONTENT, signature=_facts(), sending_facility="CHU LAB",
                    receiving_application="LIS", receiving_facility="CHU")
    amended = {**CONTENT, "differential": {
        **CONTENT["differential"],
        "per_100_wbc": {**{k: v for k, v in CONTENT["differential"]["per_100_wbc"].items()
                           if k not in ("other", "ig")},
                        "neutrophil": CONTENT["differential"]["per_100_wbc"]["neutrophil"] + 1}}}
    er7 = oru_r01(content=amended, signature=_facts(version=2, amendment_reason="Recount"),
                  sending_facility="CHU LAB", receiving_application="LIS",
                  receiving_facility="CHU", previous=sent_observations(first))
    obx = {str(o[3][0][0]): (str(o[5]), str(o[11])) for o in hl7.parse(er7).segments("OBX")}
    assert obx[OTHER_PER_100_WBC[0]] == ("", "D")
    assert obx[LOINC_PER_100_WBC["ig"][0]] == ("", "D")
    neutrophils = CONTENT["differential"]["per_100_wbc"]["neutrophil"] + 1
    assert obx[LOINC_PER_100_WBC["neutrophil"][0]] == (str(neutrophils), "C")
    lymphocytes = CONTENT["differential"]["per_100_wbc"]["lymphocyte"]
    assert obx[LOINC_PER_100_WBC["lymphocyte"][0]] == (str(lymphocytes), "F")
    assert sorted(int(str(o[1])) for o in hl7.parse(er7).segments("OBX")) == list(
        range(1, len(obx) + 1))
    # A first version has nothing to delete or correct, whatever is passed as before it.
    again = oru_r01(content=amended, signature=_facts(), sending_facility="CHU LAB",
                    receiving_application="LIS", receiving_facility="CHU",
                    previous=sent_observations(first))
    assert {str(o[11]) for o in hl7.parse(again).segments("OBX")} == {"F"}


def test_an_observation_sent_under_an_earlier_code_is_deleted_under_it():
    """A version signed before the codes changed sent its neutrophils under the share of no
    method (26511-6); its amendment sends them under the manual-count code and deletes the
    earlier code's value, so the laboratory system keeps one neutrophil share, not two; the share
    is final under its new code, which corrects nothing sent before."""
    first = oru_r01(content=CONTENT, signature=_facts(), sending_facility="CHU LAB",
                    receiving_application="LIS", receiving_facility="CHU")
    earlier = [p if not p.ident.startswith(LOINC_PER_100_WBC["neutrophil"][0] + "^") else
               Sent(p.vtype, "26511-6^Neutrophils/100 leukocytes in Blood^LN", p.value, p.unit)
               for p in sent_observations(first)]
    er7 = oru_r01(content=CONTENT, signature=_facts(version=2, amendment_reason="Recount"),
                  sending_facility="CHU LAB", receiving_application="LIS",
                  receiving_facility="CHU", previous=earlier)
    obx = {str(o[3][0][0]): (str(o[5]), str(o[11])) for o in hl7.parse(er7).segments("OBX")}
    assert obx["26511-6"] == ("", "D")
    assert obx[LOINC_PER_100_WBC["neutrophil"][0]][1] == "F"  # new under this code
    assert {status for code, (_v, status) in obx.items() if code not in (
        "26511-6", LOINC_PER_100_WBC["neutrophil"][0])} == {"F"}


def test_the_stored_correction_reads_the_version_it_replaces(specimen, biologist, settings):
    from apps.reports.services import result_message_create
    from apps.review.models import Signature

    settings.LIS_OUTBOX_DIR = ""
    amended = {**CONTENT, "differential": {**CONTENT["differential"], "per_100_wbc": {
        "neutrophil": 58.0, "lymphocyte": 31.0, "monocyte": 7.0, "eosinophil": 3.0,
        "basophil": 1.0}}}
    signed = []
    for version, content in ((1, CONTENT), (2, amended)):
        signed.append(Signature.objects.create(
            specimen=specimen, version=version, meaning="validated", signed_by=biologist,
            signed_at=datetime(2026, 12, 2, 10, version, tzinfo=UTC), comment="",
            amendment_reason="Recount" if version > 1 else "", content=content,
            content_sha256=f"{version:02d}" * 32))
    first, second = (hl7.parse(result_message_create(signature=s).message) for s in signed)
    assert "D" not in {str(o[11]) for o in first.segments("OBX")}
    deleted = {str(o[3][0][0]) for o in second.segments("OBX") if str(o[11]) == "D"}
    assert deleted == {OTHER_PER_100_WBC[0], LOINC_PER_100_WBC["ig"][0]}


def test_each_observation_is_timed_at_collection_and_read_at_signing():
    """OBX-14 is the observation's physiologically relevant time, the specimen's collection
    (as OBR-7); the time the count was read and validated is OBX-19."""
    message = hl7.parse(oru_r01(content=CONTENT, signature=_facts(), sending_facility="CHU LAB",
                                receiving_application="LIS", receiving_facility="CHU"))
    (obr,) = message.segments("OBR")
    for obx in message.segments("OBX"):
        assert str(obx[14]) == str(obr[7]) == "20261201083000+0000"
        assert str(obx[19]) == str(obr[22])
    unknown = {**CONTENT, "specimen": {**CONTENT["specimen"], "collected_at": None}}
    message = hl7.parse(oru_r01(content=unknown, signature=_facts(), sending_facility="CHU LAB",
                                receiving_application="LIS", receiving_facility="CHU"))
    assert {str(obx[14]) for obx in message.segments("OBX")} == {""}


def test_a_rejected_result_releases_no_value():
    """Nothing is released without a biologist's validation: a rejection tells the LIS the
    order has no result (OBR-25 X) and why, and sends no observation a system could file."""
    msg = _message(meaning="rejected")
    assert str(msg.segment("OBR")[25]) == "X"
    assert not [s for s in msg if str(s[0]) == "OBX"]
    assert msg.unescape(str(msg.segments("NTE")[0][3])) == "Result not validated (rejected)."


def test_an_amendment_that_rejects_deletes_what_was_sent():
    first = oru_r01(content=CONTENT, signature=_facts(), sending_facility="CHU LAB",
                    receiving_application="LIS", receiving_facility="CHU")
    # Content that, validated, would carry notes about its differential.
    content = {**CONTENT, "differential": {**CONTENT["differential"], "cells": 210,
                                           "reviewed": 12,
                                           "other_names": {"plasma cell": 1}}}
    rejected = hl7.parse(oru_r01(content=content, signature=_facts(version=2, meaning="rejected",
                                                                   amendment_reason="Bad smear"),
                                 sending_facility="CHU LAB", receiving_application="LIS",
                                 receiving_facility="CHU", previous=sent_observations(first),
                                 amended=Amended(version=1, changes=(), comment_changed=False)))
    assert str(rejected.segment("OBR")[25]) == "X"
    notes = [rejected.unescape(str(n[3])) for n in rejected.segments("NTE")]
    assert "Replaces version 1: its result is withdrawn, and this version is not validated." \
        in notes
    # Nothing about a differential that is not sent (which, validated, the notes would say).
    validated = hl7.parse(oru_r01(content=content, signature=_facts(version=2),
                                  sending_facility="CHU LAB", receiving_application="LIS",
                                  receiving_facility="CHU"))
    said = [validated.unescape(str(n[3])) for n in validated.segments("NTE")]
    assert any(n.startswith("Cells classified") for n in said)
    assert any(n.startswith("Other leukocytes") for n in said)
    assert not any(n.startswith(("Changed from version", "Differential from", "Cells classified",
                                 "Other leukocytes")) for n in notes)
    obx = list(rejected.segments("OBX"))
    assert {str(o[11]) for o in obx} == {"D"} and all(str(o[5]) == "" for o in obx)
    assert {str(o[3][0][0]) for o in obx} == {
        str(o[3][0][0]) for o in hl7.parse(first).segments("OBX")}


def test_every_segment_ends_with_a_carriage_return_the_last_one_too():
    er7 = oru_r01(content=CONTENT, signature=_facts(), sending_facility="CHU LAB",
                  receiving_application="LIS", receiving_facility="CHU")
    assert er7.endswith("\r") and not er7.endswith("\r\r")
    assert all(segment[:3].isalnum() for segment in er7.split("\r")[:-1])
