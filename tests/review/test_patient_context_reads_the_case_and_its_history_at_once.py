"""The patient context reads the case and its earlier specimens in one query (with their CBCs,
values and signatures: four in all); specimens collected at the case's very time are not
earlier ones."""

from __future__ import annotations

from datetime import UTC, datetime

from apps.patients.models import Specimen
from apps.patients.services import specimen_create
from apps.review.selectors import CONTEXT_PREVIOUS, patient_context
from apps.workflow.services import cbc_import
from tests.review.cbc import COLUMNS

CASE_DAY = datetime(2026, 11, 20, 8, tzinfo=UTC)


def _specimen(technician, patient, accession: str, when: datetime, hgb: str) -> Specimen:  # type: ignore[no-untyped-def]
    specimen = specimen_create(actor=technician, accession=accession, patient=patient)
    Specimen.objects.filter(pk=specimen.pk).update(collected_at=when)
    row = dict(COLUMNS, **{"Sample No.": accession, "Patient ID": "MRN-1", "HGB(g/dL)": hgb})
    data = (",".join(row) + "\r\n" + ",".join(row.values()) + "\r\n").encode()
    assert cbc_import(actor=technician, data=data, specimen=specimen).results_created == 1
    return specimen


def test_four_queries_for_the_case_and_its_history(technician, specimen,
                                                   django_assert_max_num_queries):
    case = _specimen(technician, specimen.patient, "C-0001", CASE_DAY, "9.5")
    for i in range(12):
        _specimen(technician, specimen.patient, f"H-{i:04d}", datetime(2026, 1, 1 + i, tzinfo=UTC),
                  "12.0")
    _specimen(technician, specimen.patient, "L-0001", datetime(2026, 12, 1, tzinfo=UTC), "8.0")
    case = Specimen.objects.select_related("patient").get(pk=case.pk)
    with django_assert_max_num_queries(4):
        context = patient_context(case)
    assert [row["accession"] for row in context["previous"]] == [
        f"H-{i:04d}" for i in range(11, 1, -1)]  # the newest ten before the case; never later
    hb = next(t for t in context["trends"] if t["code"] == "HGB")
    assert [(p.value, p.current) for p in hb["points"]][:2] == [(9.5, True), (12.0, False)]


def test_specimens_of_the_cases_very_time_are_not_earlier_ones(technician, specimen):
    """Collected at the case's very time (a tube drawn again, a second order): not history.
    The case is still found and its trend drawn from it and what came before."""
    case = _specimen(technician, specimen.patient, "C-0001", CASE_DAY, "9.5")
    before = _specimen(technician, specimen.patient, "B-0001", datetime(2026, 11, 1, tzinfo=UTC),
                       "12.5")
    # Created after the case (higher ids), at the same time.
    for i in range(CONTEXT_PREVIOUS + 2):
        _specimen(technician, specimen.patient, f"D-{i:04d}", CASE_DAY, "11.0")
    context = patient_context(Specimen.objects.select_related("patient").get(pk=case.pk))
    assert [row["accession"] for row in context["previous"]] == [before.accession]
    assert context["when"] == CASE_DAY
    hb = next(t for t in context["trends"] if t["code"] == "HGB")
    assert [(p.value, p.current) for p in hb["points"]] == [(9.5, True), (12.5, False)]
