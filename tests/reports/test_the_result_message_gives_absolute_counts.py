"""The result message gives each class's absolute count, as the report prints it, read against
the blood count's own reference interval for that count."""

from __future__ import annotations

import copy
from datetime import UTC, datetime

import hl7
from django.utils import translation

from apps.reports.hl7_result import ABSOLUTE_LOINC, SignatureFacts, oru_r01

CONTENT = {
    "specimen": {"accession": "ACC-9", "collected_at": "2026-12-01T08:30:00+00:00"},
    "differential": {
        "per_100_wbc": {"neutrophil": 8.0, "lymphocyte": 80.0, "monocyte": 6.0,
                        "eosinophil": 4.0, "basophil": 1.0, "blast": 1.0},
        "counts": {"neutrophil": 8, "lymphocyte": 80, "monocyte": 6, "eosinophil": 4,
                   "basophil": 1, "blast": 1},
        "wbc_counted": 100,
        "analyser_wbc": 5.45,
    },
    "cbc": {
        # NEUT# as the file gave it; LYMPH# computed from its share (the file left it out).
        "values": [{"code": "WBC", "value": 5.45, "ref_low": 4.0, "ref_high": 10.0},
                   {"code": "NEUT#", "value": 0.5, "ref_low": 1.8, "ref_high": 7.5},
                   {"code": "MONO#", "value": 0.3, "ref_low": None, "ref_high": None}],
        "computed": [{"code": "LYMPH#", "value": 4.3, "ref_low": 1.0, "ref_high": 3.5}],
    },
}


def _message(content: dict, version: int = 1) -> hl7.Message:
    facts = SignatureFacts(version=version, meaning="validated",
                           signed_at=datetime(2026, 12, 2, 10, 0, tzinfo=UTC),
                           signer_id="bio1", signer_family_name="Martin",
                           signer_given_name="Anne", comment="", amendment_reason="",
                           content_sha256="ab" * 32)
    return hl7.parse(oru_r01(content=content, signature=facts, sending_facility="LAB",
                             receiving_application="LIS", receiving_facility="CHU"))


def _obx(content: dict, version: int = 1) -> dict[str, hl7.Segment]:
    return {str(o[3][0][0]): o for o in _message(content, version).segments("OBX")}


def _note_after(content: dict, code: str) -> str | None:
    """The NTE right under the OBX of ``code``, if any."""
    msg = _message(content)
    segments = list(msg)
    for i, seg in enumerate(segments):
        if str(seg[0]) == "OBX" and str(seg[3][0][0]) == code:
            after = segments[i + 1] if i + 1 < len(segments) else None
            return msg.unescape(str(after[3])) if after is not None and str(after[0]) == "NTE" \
                else None
    raise AssertionError(code)


def test_each_absolute_count_is_the_share_times_the_wbc_with_two_decimals():
    obx = _obx(CONTENT)
    expected = {"neutrophil": "0.44", "lymphocyte": "4.36", "monocyte": "0.33",
                "eosinophil": "0.22", "basophil": "0.05", "blast": "0.05"}
    for cls, value in expected.items():
        row = obx[ABSOLUTE_LOINC[cls][0]]
        assert (str(row[5]), str(row[6])) == (value, "10*9/L"), cls
    # Manual-count codes, never the analyser's automated ones.
    assert "751-8" not in obx and "731-0" not in obx


def test_each_is_read_against_the_blood_counts_interval_for_the_same_count():
    obx = _obx(CONTENT)
    neut, lymph = obx["753-4"], obx["732-8"]
    # 0.44 < 0.5, but its 95% interval (8 of 100 cells: 0.22-0.82) reaches above the critical
    # limit of the ANC: low, not certainly critical (the analyser's ANC is the one called).
    assert (str(neut[7]), str(neut[8])) == ("1.8-7.5", "L")
    # The interval of a count the file left out is the computed row's; 4.36 (its 95% interval
    # 3.88-4.72) lies above 1-3.5 as a whole.
    assert (str(lymph[7]), str(lymph[8])) == ("1-3.5", "H")
    # No interval known (MONO# without one, EO# absent): no flag either.
    for code in ("743-5", "712-0"):
        assert (str(obx[code][7]), str(obx[code][8])) == ("", ""), code
    # Blasts have no place in the blood: abnormal whenever counted, as share and as count.
    assert str(obx["30376-8"][8]) == "A" and str(obx["709-6"][8]) == "A"
    assert str(obx["23761-0"][8]) == ""


def test_a_count_inside_its_interval_is_not_flagged():
    content = copy.deepcopy(CONTENT)
    content["differential"]["analyser_wbc"] = 30.0  # neutrophils 8 % of 30: 2.40
    content["differential"]["per_100_wbc"]["lymphocyte"] = 10.0  # 3.00
    content["differential"]["counts"]["lymphocyte"] = 10
    obx = _obx(content)
    assert (str(obx["753-4"][5]), str(obx["753-4"][8])) == ("2.40", "")
    assert (str(obx["732-8"][5]), str(obx["732-8"][8])) == ("3.00", "")


def test_without_the_analysers_wbc_no_absolute_count_is_sent():
    content = copy.deepcopy(CONTENT)
    del content["differential"]["analyser_wbc"]
    obx = _obx(content)
    assert not {code for code, _n in ABSOLUTE_LOINC.values()} & set(obx)
    assert str(obx["23761-0"][5]) == "8.0"  # the shares still go


def test_the_interval_kept_with_the_differential_reads_it():
    """Signed now, the differential keeps the interval of each class's count (the blood
    count's NEUT#...): the message reads the smear's count against it, as the page does."""
    content = copy.deepcopy(CONTENT)
    content["cbc"] = {}
    content["differential"]["absolute_reference"] = {"neutrophil": ["NEUT#", 2.0, 7.0],
                                                     "lymphocyte": ["LYMPH#", 1.5, 3.5]}
    obx = _obx(content)
    assert (str(obx["753-4"][7]), str(obx["753-4"][8])) == ("2-7", "L")
    assert (str(obx["732-8"][7]), str(obx["732-8"][8])) == ("1.5-3.5", "H")


def test_a_count_whose_interval_reaches_into_the_reference_is_not_flagged():
    """4.36 lymphocytes beside 1-4 lie above it, but their 95% interval (3.88-4.72) reaches
    into it: no H, as the report reads it; one basophil of 100 beside a WBC of 12.4 (0.12,
    above 0-0.1; its interval 0.02-0.68) likewise."""
    content = copy.deepcopy(CONTENT)
    content["cbc"] = {}
    content["differential"]["absolute_reference"] = {"lymphocyte": ["LYMPH#", 1.0, 4.0],
                                                     "basophil": ["BASO#", 0.0, 0.1]}
    content["differential"]["analyser_wbc"] = 12.4
    obx = _obx(content)
    assert (str(obx["705-4"][5]), str(obx["705-4"][7]), str(obx["705-4"][8])) == (
        "0.12", "0-0.1", "")
    # Under it, a note says why a value outside OBX-7 carries no OBX-8.
    assert _note_after(content, "705-4") == (
        "Not flagged: its 95% interval on the 100 white cells counted (0.02-0.68) reaches into "
        "the reference interval.")
    assert _note_after(content, "753-4") is None  # no interval known for it: no note
    with translation.override("fr"):   # a French note writes its numbers the French way
        assert "(0,02-0,68)" in _note_after(content, "705-4")
    content["differential"]["analyser_wbc"] = 5.45
    obx = _obx(content)
    assert (str(obx["732-8"][5]), str(obx["732-8"][8])) == ("4.36", "")


def test_equal_counts_give_equal_absolute_counts():
    """1, 1 and 1 of 3 cells read 33.4, 33.3 and 33.3 (the shares add up to 100.0); their
    absolute counts are each a third of the WBC, not a share the rounding moved."""
    content = {"specimen": CONTENT["specimen"], "differential": {
        "per_100_wbc": {"neutrophil": 33.4, "lymphocyte": 33.3, "monocyte": 33.3},
        "counts": {"neutrophil": 1, "lymphocyte": 1, "monocyte": 1}, "wbc_counted": 3,
        "analyser_wbc": 4.0}}
    obx = _obx(content)
    assert [str(obx[c][5]) for c in ("753-4", "732-8", "743-5")] == ["1.33", "1.33", "1.33"]


def test_a_count_whose_whole_interval_is_below_the_critical_limit_reads_ll():
    """2 neutrophils of 100 beside a WBC of 5.45: 0.11, its interval 0.03-0.38 wholly below 0.5."""
    content = copy.deepcopy(CONTENT)
    content["differential"]["counts"].update({"neutrophil": 2, "lymphocyte": 86})
    content["differential"]["per_100_wbc"].update({"neutrophil": 2.0, "lymphocyte": 86.0})
    neut = _obx(content)["753-4"]
    assert (str(neut[5]), str(neut[8])) == ("0.11", "LL")


def test_a_count_the_analysers_differential_contradicts_says_so():
    """8 neutrophils of 100 (95% interval 4.1-15.0%) where the analyser's automated
    differential gives 20.0%: the page marks it "≠"; the message says it under the absolute
    count, with the analyser's share and count, in the notes' language. A share inside the
    interval adds nothing."""
    content = copy.deepcopy(CONTENT)
    content["differential"]["analyser"] = {"per_100_wbc": {"neutrophil": 20.0,
                                                           "lymphocyte": 78.0}}
    assert _note_after(content, "753-4") == (
        "The analyser's automated differential gives 20.0% (1.09 ×10⁹/L), outside this "
        "count's 95% interval: one of the two counts misses cells.")
    assert _note_after(content, "732-8") is None  # 78.0 lies inside 80 of 100's interval
    with translation.override("fr"):  # its numbers the note's language's way
        note = _note_after(content, "753-4")
    assert "20,0" in note and "1,09" in note
