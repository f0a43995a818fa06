"""The scores read the patient's age on the sample's day: the blood count's measurement, else the
specimen's collection, else its registration, the day the case page and the report give the age
for. A smear without a blood count no longer reads "age missing" beside "68 years at
collection"."""

from __future__ import annotations

from datetime import UTC, date, datetime

from apps.analysis.scores import _cbc_features
from apps.patients.services import patient_create, specimen_create
from apps.workflow.services import cbc_import
from tests.review.cbc import SYSMEX_WITH_DIFFERENTIAL


def test_without_a_blood_count_the_age_is_the_one_at_collection(technician):
    patient = patient_create(actor=technician, external_id="MRN-1", sex="M")
    patient.birth_date = date(1958, 6, 1)
    patient.save()
    specimen = specimen_create(actor=technician, accession="S-0001", patient=patient)
    specimen.collected_at = datetime(2026, 5, 31, 9, 0, tzinfo=UTC)
    specimen.save()
    features, context = _cbc_features(specimen)
    assert features.age == 67 and context["age"] == 67 and context["cbc_result"] is None

    # With a blood count, its measurement day (2026-11-20): 68.
    cbc_import(actor=technician, data=SYSMEX_WITH_DIFFERENTIAL, specimen=specimen)
    assert _cbc_features(specimen)[0].age == 68
