"""The canonical parameter table fits the database columns and is documented for users."""

from __future__ import annotations

from pathlib import Path

from apps.hemograms.parsers import PARAMETERS
from apps.hemograms.parsers.units import BY_LOINC

DOCS = Path(__file__).resolve().parents[2] / "docs" / "cbc-formats.md"


def test_codes_and_units_fit_the_stored_columns():
    for code, parameter in PARAMETERS.items():
        assert parameter.code == code
        assert 0 < len(code) <= 16
        assert len(parameter.kind.canonical) <= 16


def test_the_contract_codes_are_present():
    for code in ("WBC", "RBC", "HGB", "HCT", "MCV", "MCH", "MCHC", "RDW-CV", "RDW-SD", "PLT",
                 "NEUT#", "NEUT%", "LYMPH#", "LYMPH%", "MONO#", "MONO%", "EO#", "EO%", "BASO#",
                 "BASO%", "IG#", "IG%", "NRBC#", "RET%", "NE-WX", "NE-WY", "NE-SFL", "NE-SSC"):
        assert code in PARAMETERS


def test_loinc_codes_are_unique_and_known():
    pairs = [(code, p.code) for p in PARAMETERS.values() for code in p.loinc]
    assert len(pairs) == len(BY_LOINC)
    assert BY_LOINC["6690-2"].code == "WBC"
    assert BY_LOINC["777-3"].code == "PLT"
    assert BY_LOINC["770-8"].code == "NEUT%"
    assert BY_LOINC["731-0"].code == "LYMPH#"
    assert BY_LOINC["5905-5"].code == "MONO%"
    assert BY_LOINC["704-7"].code == "BASO#"


def test_every_code_and_loinc_is_documented():
    text = DOCS.read_text(encoding="utf-8")
    for parameter in PARAMETERS.values():
        assert f"`{parameter.code}`" in text, parameter.code
        for code in parameter.loinc:
            assert code in text, code
