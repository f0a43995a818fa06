"""The warning under the differential reads the count it is about: with no white cell yet there
is no differential to qualify ("Only 0 white cells classified" read as a count)."""

from __future__ import annotations

from django.utils import translation

from apps.review.display import differential_table


def _diff(wbc: int) -> dict:
    return {"per_100_wbc": {}, "counts": {}, "wbc_counted": wbc, "target": 100,
            "short_of_target": wbc < 100}


def test_no_white_cell_reads_as_no_differential_yet():
    with translation.override("en"):
        assert differential_table(_diff(0))["warning"] == \
            "No white cell classified: there is no differential yet."
        assert differential_table(_diff(38))["warning"].startswith(
            "Only 38 white cells classified, fewer than the 100 the laboratory counts")
        assert differential_table(_diff(100))["warning"] == ""
    with translation.override("fr"):
        assert differential_table(_diff(0))["warning"] == \
            "Aucun leucocyte classé : il n'y a pas encore de formule."
