from __future__ import annotations

import io
import json

import pytest
from django.core.management import CommandError, call_command

from apps.hemograms.models import CBCResult
from apps.patients.models import Patient
from apps.patients.services import patient_create

HL7 = (
    b"MSH|^~\\&|XN|LAB|LIS|HOSP|20261120101500||ORU^R01|MSG0001|P|2.5.1\r"
    b"PID|1||MRN-55^^^HOSP^MR||DOE^JANE||19600101|F\r"
    b"OBR|1||HL7-1|58410-2^CBC panel^LN|||20261120100000\r"
    b"OBX|1|NM|6690-2^WBC^LN||3.2|10*3/uL|4.0-10.0|L|||F\r"
    b"OBX|2|NM|718-7^Hemoglobin^LN||95|g/L|120-160|L|||F\r"
    b"OBX|3|NM|787-2^MCV^LN||108|fL|80-100|H|||F\r"
    b"OBX|4|NM|777-3^Platelets^LN||88|10*3/uL|150-400|L|||F\r"
)


def test_hl7_import_reports_json_and_is_idempotent(technician, tmp_path):
    patient_create(actor=technician, external_id="MRN-55", sex="F")
    path = tmp_path / "oru.hl7"
    path.write_bytes(HL7)
    out = io.StringIO()
    call_command("import_cbc", str(path), "--json", stdout=out)
    summary = json.loads(out.getvalue().strip().splitlines()[-1])
    assert summary["format"] == "hl7"
    assert summary["results_created"] == 1
    assert summary["specimens"] == ["HL7-1"]
    result = CBCResult.objects.get(specimen__accession="HL7-1")
    values = {v.code: v for v in result.values.all()}
    assert values["HGB"].value == pytest.approx(9.5) and values["HGB"].flag == "L"
    assert values["WBC"].value == pytest.approx(3.2) and values["WBC"].unit == "10^9/L"
    assert result.specimen.patient.sex == "F"

    again = io.StringIO()
    call_command("import_cbc", str(path), "--format", "hl7", "--json", stdout=again)
    assert json.loads(again.getvalue().strip().splitlines()[-1])["duplicates"] == 1
    assert CBCResult.objects.count() == 1


def test_an_unregistered_patient_is_refused_in_the_json_and_not_created(db, tmp_path):
    path = tmp_path / "oru.hl7"
    path.write_bytes(HL7)
    out = io.StringIO()
    call_command("import_cbc", str(path), "--json", stdout=out)
    summary = json.loads(out.getvalue().strip().splitlines()[-1])
    assert summary["results_created"] == 0
    assert [(e["line"], e["code"], e["sample"]) for e in summary["errors"]] == [
        (1, "patient_unknown", "HL7-1")]
    assert "MRN-55" in summary["errors"][0]["reason"]
    assert not Patient.objects.exists()
    assert not CBCResult.objects.exists()


def test_unreadable_file_exits_non_zero(db, tmp_path):
    path = tmp_path / "photo.csv"
    path.write_bytes(b"\xff\xd8\xff\xe0\x00\x10JFIF\x00binary")
    with pytest.raises(CommandError, match="refused"):
        call_command("import_cbc", str(path), stdout=io.StringIO())
