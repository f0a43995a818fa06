"""Nucleated red cells counted in the blood of a child or an adult are abnormal, whatever their
number: the smear's NRBC row had no flag on the page, in the report or in the result message
(the default reference set has no NRBC interval, and none is invented). Past the newborn age
(NRBC_ABNORMAL_FROM_AGE) they read "Abnormal", as a blast does; a newborn's blood has them,
and an unknown age claims nothing."""

from __future__ import annotations

from datetime import date

import pytest
from django.utils import translation

from apps.patients.models import Patient
from apps.reports.hl7_result import observations
from apps.review.display import differential_table
from apps.review.selectors import differential
from apps.smears.differential import nrbc_abnormal
from apps.smears.models import Cell


def test_the_rule():
    assert nrbc_abnormal(1, 1) and nrbc_abnormal(3, 70)
    assert not nrbc_abnormal(0, 70) and not nrbc_abnormal(2, 0) and not nrbc_abnormal(2, None)


def _with_an_erythroblast(specimen, birth_date):  # type: ignore[no-untyped-def]
    Patient.objects.filter(pk=specimen.patient_id).update(birth_date=birth_date)
    specimen.refresh_from_db()
    cell = Cell.objects.filter(specimen=specimen).first()
    Cell.objects.filter(pk=cell.pk).update(reviewed_class="erythroblast")
    return differential(specimen)


@pytest.mark.parametrize(("birth_date", "flagged"), [
    (date(1950, 3, 1), True), (None, False)])
def test_an_adults_erythroblasts_read_abnormal(analysed, birth_date, flagged):
    diff = _with_an_erythroblast(analysed, birth_date)
    assert diff["nrbc"] == 1 and diff["nrbc_abnormal"] is flagged
    with translation.override("en"):
        row = {r["class"]: r for r in differential_table(diff)["rows"]}["erythroblast"]
    assert row["absolute_flag"] == ("Abnormal" if flagged else "")
    with translation.override("fr"):
        row = {r["class"]: r for r in differential_table(diff)["rows"]}["erythroblast"]
    assert row["absolute_flag"] == ("Anormal" if flagged else "")
    nrbc = next(r for r in observations({"differential": diff}) if r.key == "nrbc")
    assert nrbc.flag == ("A" if flagged else "")


def test_a_newborns_are_not(analysed):
    today = date.today()
    assert _with_an_erythroblast(analysed, today)["nrbc_abnormal"] is False

