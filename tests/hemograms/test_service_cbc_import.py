"""CBC import service: good rows stored with units, ranges and flags; bad rows reported; no
duplicates on a second import; nothing written for a refused file."""

from __future__ import annotations

import pytest

from apps.core.errors import ImportRefusedError
from apps.core.models import AuditEvent
from apps.hemograms.models import CBCImport, CBCResult, CBCValue
from apps.hemograms.parsers import MAX_CBC_BYTES
from apps.patients.models import Specimen
from apps.patients.services import patient_create
from apps.workflow.services import cbc_import

SYSMEX = (
    b"Nickname,Analyzer ID,Date,Time,Rack,Position,Sample No.,Patient ID,"
    b"WBC(10^9/L),RBC(10^12/L),HGB(g/L),MCV(fL),PLT(10^3/uL),NEUT#(10^9/L),[NE-WX]\r\n"
    b"XN-10^1,XN-10^12345,2026/11/20,09:15:02,000001,01,S-0001,MRN-1,"
    b"3.10,3.20,98,104.5,90,1.20,420\r\n"
    b"XN-10^1,XN-10^12345,2026/11/20,09:16:40,000001,02,S-0002,MRN-2,"
    b"abc,4.80,140,88.0,250,3.40,330\r\n"
    b"XN-10^1,XN-10^12345,2026/11/20,09:18:11,000001,03,S-0003,MRN-3,"
    b"7.00,4.80,140,88.0,250,3.40,330\r\n"
)


@pytest.fixture
def mrn_3(technician):  # type: ignore[no-untyped-def]
    """The patient of the third row, registered (a CBC row never creates one)."""
    return patient_create(actor=technician, external_id="MRN-3", sex="F")


def test_good_rows_are_stored_with_units_ranges_and_flags(technician, specimen, mrn_3):
    outcome = cbc_import(actor=technician, data=SYSMEX, file_name="xn.csv")
    assert outcome.format == "sysmex"
    assert outcome.results_created == 2
    assert [e["line"] for e in outcome.errors] == [3]
    assert "WBC" in str(outcome.errors[0]["reason"])
    result = CBCResult.objects.get(specimen__accession="S-0001")
    values = {v.code: v for v in result.values.all()}
    assert values["HGB"].value == pytest.approx(9.8)           # g/L -> g/dL
    assert values["HGB"].unit == "g/dL" and values["HGB"].raw_unit == "g/L"
    assert values["HGB"].flag == "L" and values["HGB"].ref_low == 13.0   # male patient
    assert values["PLT"].value == 90 and values["PLT"].unit == "10^9/L"
    assert values["MCV"].flag == "H"
    assert values["NEUT#"].flag == "L"
    assert values["NE-WX"].value == 420
    assert result.raw.startswith("XN-10^1,XN-10^12345,2026/11/20,09:15:02")
    created = Specimen.objects.get(accession="S-0003")              # created by the import
    assert created.patient == mrn_3                                 # linked to the registered one
    assert not Specimen.objects.filter(accession="S-0002").exists()  # bad row: nothing created
    assert AuditEvent.objects.filter(action="cbc.import").count() == 2


def test_importing_the_same_file_twice_creates_no_duplicates(technician, specimen, mrn_3):
    cbc_import(actor=technician, data=SYSMEX)
    again = cbc_import(actor=technician, data=SYSMEX)
    assert again.results_created == 0
    assert again.duplicates == 2
    assert CBCResult.objects.count() == 2
    assert CBCImport.objects.count() == 1


def test_from_a_specimen_page_other_samples_are_reported_not_attached(technician, specimen):
    outcome = cbc_import(actor=technician, data=SYSMEX, specimen=specimen)
    assert outcome.results_created == 1
    other = [e for e in outcome.errors if "S-0003" in str(e["reason"])]
    assert other and other[0]["line"] == 4
    assert not Specimen.objects.filter(accession="S-0003").exists()


@pytest.mark.parametrize("data", [b"", b"\x89PNG\r\n\x1a\n\x00\x00binary", b"just,a,header\r\n"])
def test_a_refused_file_writes_nothing(technician, data):
    with pytest.raises(ImportRefusedError):
        cbc_import(actor=technician, data=data)
    assert CBCImport.objects.count() == 0
    assert CBCValue.objects.count() == 0
    assert not AuditEvent.objects.filter(action="cbc.import").exists()


def test_a_file_one_byte_over_the_parsers_limit_is_refused(technician):
    data = SYSMEX + b" " * (MAX_CBC_BYTES + 1 - len(SYSMEX))
    with pytest.raises(ImportRefusedError, match="limit"):
        cbc_import(actor=technician, data=data)
    assert not CBCImport.objects.exists()
