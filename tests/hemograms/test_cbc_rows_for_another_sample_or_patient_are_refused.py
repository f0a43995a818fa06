"""Identity checks on CBC imports: a row whose sample id or patient id does not name the specimen
it would be attached to is refused with its line and a reason code; nothing is attached, no
patient is created, and the rows that do match are still imported. Real-format files: the Sysmex
XN export, the HL7 ORU^R01 message and the generic CSV of the parser tests."""

from __future__ import annotations

import pytest

from apps.core.models import AuditEvent
from apps.hemograms.models import CBCResult
from apps.patients.models import Patient, Specimen
from apps.patients.services import patient_create, specimen_create
from apps.workflow.services import cbc_import
from tests.hemograms.test_generic_csv_documented_example import DOC_EXAMPLE
from tests.hemograms.test_hl7_single_message import MESSAGE as HL7
from tests.hemograms.test_sysmex_export_imports_every_value import DATA as SYSMEX


def _patients() -> set[str]:
    return set(Patient.objects.values_list("external_id", flat=True))


def _codes(outcome) -> list[tuple[int, str, str]]:  # type: ignore[no-untyped-def]
    return [(e["line"], e["code"], e["sample"]) for e in outcome.errors if "code" in e]


@pytest.fixture
def sysmex_specimen(technician):  # type: ignore[no-untyped-def]
    """The first sample of the Sysmex export, registered for its patient H000123."""
    patient = patient_create(actor=technician, external_id="H000123")
    return specimen_create(actor=technician, accession="S24-000101", patient=patient)


def test_sysmex_rows_for_other_samples_are_refused_from_the_specimen_page(technician,
                                                                        sysmex_specimen):
    outcome = cbc_import(actor=technician, data=SYSMEX, specimen=sysmex_specimen)
    assert outcome.results_created == 1 and outcome.specimens == ["S24-000101"]
    assert _codes(outcome) == [(3, "sample_mismatch", "S24-000102"),
                               (4, "sample_mismatch", "S24-000103")]
    assert "S24-000102" in str(outcome.errors[0]["reason"])
    assert set(Specimen.objects.values_list("accession", flat=True)) == {"S24-000101"}
    assert _patients() == {"H000123"}  # H000777 of line 4 was not created


def test_a_sysmex_row_naming_another_patient_is_refused(technician, sysmex_specimen):
    # The tube S24-000103 is registered for H000123, the analyser row says H000777.
    specimen_create(actor=technician, accession="S24-000103", patient=sysmex_specimen.patient)
    outcome = cbc_import(actor=technician, data=SYSMEX)
    assert _codes(outcome) == [(4, "patient_mismatch", "S24-000103")]
    reason = str(outcome.errors[0]["reason"])
    assert "H000777" in reason and "mix-up" in reason
    assert "H000123" not in reason  # the stored record number is not echoed
    assert not CBCResult.objects.filter(specimen__accession="S24-000103").exists()
    # The other rows still import: line 2 matches its patient, line 3 names none.
    assert outcome.results_created == 2
    assert outcome.specimens == ["S24-000101", "S24-000102"]
    assert _patients() == {"H000123"}


@pytest.mark.parametrize("registered_as", ["P999999", ""])
def test_an_hl7_message_whose_pid3_names_another_patient_is_refused(technician, registered_as):
    patient = patient_create(actor=technician, external_id=registered_as, sex="F")
    specimen = specimen_create(actor=technician, accession="24-0311", patient=patient)
    for target in (specimen, None):  # from the specimen page and as a batch
        outcome = cbc_import(actor=technician, data=HL7, specimen=target)
        code = "patient_mismatch" if registered_as else "patient_unverifiable"
        assert (outcome.results_created, _codes(outcome)) == (0, [(1, code, "24-0311")])
        assert "P123456" in str(outcome.errors[0]["reason"])
    assert not CBCResult.objects.exists()
    assert not Patient.objects.filter(external_id="P123456").exists()
    assert not AuditEvent.objects.filter(action="cbc.import").exists()


def test_a_batch_csv_row_naming_another_patient_is_refused(technician):
    mrn_a = patient_create(actor=technician, external_id="MRN-A", sex="F")
    patient_create(actor=technician, external_id="H123456", sex="F")
    specimen_create(actor=technician, accession="S-A", patient=mrn_a)
    data = DOC_EXAMPLE + (
        b"S-A,2024-03-05 15:02,,MRN-B,F,,7.10,4.60,13.9,41.0,90.0,260,4.1,300\n"
        b"S-A,2024-03-05 15:03,,MRN-A,F,,7.20,4.60,13.9,41.0,90.0,260,4.1,300\n"
        b"S-NEW,2024-03-05 15:04,,MRN-GHOST,M,1950-01-01,7.1,4.6,13.9,41.0,90.0,260,4.1,\n"
    )
    outcome = cbc_import(actor=technician, data=data, file_name="batch.csv")
    assert _codes(outcome) == [(4, "patient_mismatch", "S-A"),
                               (6, "patient_unknown", "S-NEW")]
    # Matching rows still import: the documented example (a registered patient and a row
    # with no patient id) and line 5, which names the specimen's own patient.
    assert outcome.results_created == 3
    assert outcome.specimens == ["S-2024-0001", "S-2024-0002", "S-A"]
    (on_a,) = CBCResult.objects.filter(specimen__accession="S-A")
    assert on_a.source_line == 5
    assert Specimen.objects.get(accession="S-2024-0001").patient.external_id == "H123456"
    assert Specimen.objects.get(accession="S-2024-0002").patient is None
    assert not Specimen.objects.filter(accession="S-NEW").exists()
    assert _patients() == {"MRN-A", "H123456"}  # MRN-B and MRN-GHOST were not created


def test_a_possible_mix_up_reads_in_the_technicians_language(technician, sysmex_specimen):
    from django.utils import translation

    specimen_create(actor=technician, accession="S24-000103", patient=sysmex_specimen.patient)
    with translation.override("fr"):
        outcome = cbc_import(actor=technician, data=SYSMEX)
    reason = str(outcome.errors[0]["reason"])
    assert reason == ("l'identifiant patient 'H000777' n'est pas le patient du prélèvement "
                      "S24-000103\u00a0; refusé, rien n'a été rattaché (inversion d'échantillon "
                      "possible)")
    assert "H000123" not in reason
