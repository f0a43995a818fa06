"""A worklist reason quotes a count as the analyser wrote it (cbc-flags-5): the CBC table shows
"WBC 3.10" and "ANC 0.40", so the reason beside it does not read "3.1" and "0.4"; in French
with a decimal comma. Reasons stored before the decimals were recorded read as before."""

from __future__ import annotations

from django.utils import translation

from apps.hemograms.flags import RULES_VERSION, Value, cbc_findings
from apps.hemograms.wording import cbc_short_name
from apps.patients.flag_text import flag_reason
from apps.patients.models import SpecimenFlag
from apps.patients.services import patient_create, specimen_create
from apps.workflow.services import cbc_import

HEADER = ("Nickname,Date,Time,Sample No.,Patient ID,WBC(10^3/uL),HGB(g/dL),PLT(10^3/uL),"
          "NEUT#(10^3/uL)")
ROW = "XN-10^11036,2026/11/20,09:15:02,DEC-0001,MRN-DEC,3.10,6.0,140,0.40"


def _reasons(specimen, language: str) -> dict[str, str]:  # type: ignore[no-untyped-def]
    with translation.override(language):
        return {f.name: flag_reason(f, analyte_name=cbc_short_name)
                for f in SpecimenFlag.objects.filter(specimen=specimen, source="cbc")}


def test_an_imported_count_is_quoted_with_its_decimals(technician):  # type: ignore[no-untyped-def]
    patient = patient_create(actor=technician, external_id="MRN-DEC", sex="M")
    specimen = specimen_create(actor=technician, accession="DEC-0001", patient=patient)
    outcome = cbc_import(actor=technician, data=f"{HEADER}\r\n{ROW}\r\n".encode(),
                         file_name="XN_SAMPLE.csv")
    assert outcome.errors == []
    flags = {f.name: f for f in SpecimenFlag.objects.filter(specimen=specimen, source="cbc")}
    assert {f.rules_version for f in flags.values()} == {RULES_VERSION}
    assert flags["leukopenia"].rule == "WBC 3.10 x10^9/L < 4"
    english = _reasons(specimen, "en")
    assert english["leukopenia"] == "WBC 3.10 ×10⁹/L < 4"
    assert english["neutropenia"] == "critical value: ANC 0.40 ×10⁹/L < 0.5"
    assert english["anaemia"] == "critical value: Hb 6.0 g/dL < 7"
    french = _reasons(specimen, "fr")
    assert french["leukopenia"] == "GB 3,10 ×10⁹/L < 4"
    assert french["neutropenia"] == "valeur critique\u00a0: PNN 0,40 ×10⁹/L < 0,5"


def test_a_reason_stored_without_decimals_reads_as_before():
    (found,) = cbc_findings([Value("PLT", 88.0, 150.0, 400.0)])
    assert "decimals" not in found.reason.params and found.rule == "PLT 88 x10^9/L < 150"

    class Flag:  # a SpecimenFlag as stored by cbc-flags-4
        reason, rule = found.reason.as_dict(), ""

    with translation.override("en"):
        assert flag_reason(Flag(), analyte_name=cbc_short_name) == "Platelets 88 ×10⁹/L < 150"
