"""Beside the analyser's white cell count the smear differential gives each class's absolute
count (x10^9/L), and an analyser share outside the 95% interval of the smear's share is marked:
neutrophils 47.2 on the smear against 65.4 on the analyser passed without a word."""

from __future__ import annotations

import pytest
from django.utils import translation

from apps.review.display import differential_table
from apps.smears.differential import (
    absolute_count,
    absolute_figure,
    differential_count,
    outside_interval,
    per_100_interval,
)

# 100 white cells: 47 neutrophils, 40 lymphocytes, 8 monocytes, 4 eosinophils, 1 basophil;
# 2 erythroblasts beside them.
CLASSES = (["neutrophil"] * 47 + ["lymphocyte"] * 40 + ["monocyte"] * 8 + ["eosinophil"] * 4
           + ["basophil"] + ["erythroblast"] * 2)


def _diff(**extra: object) -> dict:
    counted = differential_count(CLASSES, target=100).as_dict()
    analyser = {"analyser": "XN-1000", "per_100_wbc": {"neutrophil": 65.4, "lymphocyte": 38.0,
                                                       "monocyte": 7.9, "eosinophil": 3.1,
                                                       "basophil": 0.6},
                "nrbc_per_100_wbc": 2.0, "codes": {}}
    return {**counted, "cells": 102, "reviewed": 0, "analyser": analyser, **extra}


def test_the_rules():
    assert absolute_count(47.0, 7.8) == 47.0 * 7.8 / 100
    # Printed from the count, rounded half up in decimal as a laboratory rounds: 110 of 200
    # beside 8.90 are 4.895, "4.90" (binary floating point made it 4.89).
    assert absolute_figure(110, 200, 8.9) == 4.9
    assert absolute_figure(1, 3, 4.0) == 1.33 and absolute_figure(3, 0, 4.0) is None
    assert absolute_count(None, 7.8) is None and absolute_count(47.0, None) is None
    # 47 of 100: 95% interval 37.5-56.7; 65.4 is outside, 50.0 inside.
    assert outside_interval(47, 100, 65.4) and not outside_interval(47, 100, 50.0)
    assert not outside_interval(47, 100, None) and not outside_interval(0, 0, 3.0)


@pytest.mark.parametrize("counted", [5, 7, 12, 35, 100, 200])
def test_a_share_at_the_end_of_the_interval_is_inside_it(counted):
    """None of the cells counted and the analyser's 0.0, or all of them and its 100.0: the
    printed interval starts at 0.0 or ends at 100.0, and the analyser's share is within it."""
    assert per_100_interval(0, counted)[0] == 0.0
    assert per_100_interval(counted, counted)[1] == 100.0
    assert not outside_interval(0, counted, 0.0)
    assert not outside_interval(counted, counted, 100.0)
    assert outside_interval(0, counted, 60.0)


def test_the_mark_follows_the_interval_as_printed():
    low, high = per_100_interval(2, 35)
    assert (round(low, 1), round(high, 1)) == (1.6, 18.6)
    assert not outside_interval(2, 35, 18.6) and outside_interval(2, 35, 18.7)
    assert not outside_interval(2, 35, 1.6) and outside_interval(2, 35, 1.5)


def test_absolute_counts_and_the_mark_on_the_page_table():
    with translation.override("en"):
        table = differential_table(_diff(analyser_wbc=7.8))
    rows = {r["class"]: r for r in table["rows"]}
    assert rows["neutrophil"]["absolute"] == "3.67" and rows["lymphocyte"]["absolute"] == "3.12"
    assert rows["erythroblast"]["absolute"] == "0.16"  # NRBC per 100 WBC x WBC
    assert rows["neutrophil"]["analyser_differs"]
    assert not any(rows[c]["analyser_differs"] for c in ("lymphocyte", "monocyte",
                                                         "eosinophil", "basophil"))
    assert table["has_absolute"]
    assert table["absolute_note"] == ("×10⁹/L: each share times the analyser's white cell "
                                      "count (WBC 7.8 ×10⁹/L).")
    assert table["discrepancy_note"].startswith(
        "≠: the analyser's share lies outside the 95% interval of the smear's share on the "
        "100 white cells counted")
    with translation.override("fr"):
        french = differential_table(_diff(analyser_wbc=7.8))
    assert {r["class"]: r for r in french["rows"]}["neutrophil"]["absolute"] == "3,67"
    assert french["discrepancy_note"].startswith("≠\u00a0: le pourcentage de l'automate sort de "
                                                 "l'intervalle à 95\u00a0% du pourcentage")


def test_the_note_prints_the_wbc_as_the_analyser_gave_it():
    """"1.40" in the CBC table is "1.40" in the note, not "1.4" (content signed before the
    decimals were kept prints the value without padding zeros)."""
    with translation.override("en"):
        table = differential_table(_diff(analyser_wbc=1.4, analyser_wbc_decimals=2))
        older = differential_table(_diff(analyser_wbc=1.4))
    assert "(WBC 1.40 ×10⁹/L)" in table["absolute_note"]
    assert "(WBC 1.4 ×10⁹/L)" in older["absolute_note"]
    with translation.override("fr"):
        french = differential_table(_diff(analyser_wbc=1.4, analyser_wbc_decimals=2))
    assert "1,40" in french["absolute_note"]


def test_without_the_analysers_count_or_its_differential_nothing_is_claimed():
    with translation.override("en"):
        # Content signed before the count was kept: no column, no note.
        table = differential_table(_diff())
        assert not table["has_absolute"] and table["absolute_note"] == ""
        assert all(r.get("absolute", "") == "" for r in table["rows"])
        agreeing = _diff(analyser_wbc=7.8)
        agreeing["analyser"]["per_100_wbc"]["neutrophil"] = 50.0
        assert differential_table(agreeing)["discrepancy_note"] == ""
        assert differential_table({**_diff(analyser_wbc=7.8), "analyser": None})[
            "discrepancy_note"] == ""


def test_a_short_count_gives_each_absolute_count_its_interval():
    """3 neutrophils of 3 cells beside a WBC of 3.08: the smear's "3.08 x10^9/L" is not the
    patient's neutrophil count; its 95% interval (the share's, 43.9-100.0, times the WBC) says
    how little 3 cells tell."""
    short = {**differential_count(["neutrophil"] * 3, target=100).as_dict(), "cells": 3,
             "reviewed": 3, "analyser": None, "analyser_wbc": 3.08}
    with translation.override("en"):
        table = differential_table(short)
    rows = {r["class"]: r for r in table["rows"]}
    low = per_100_interval(3, 3)[0]
    high = per_100_interval(0, 3)[1]
    assert rows["neutrophil"]["absolute"] == "3.08"
    assert rows["neutrophil"]["absolute_interval"] == f"{low * 3.08 / 100:.2f}–3.08"
    assert rows["lymphocyte"]["absolute_interval"] == f"0.00–{high * 3.08 / 100:.2f}"
    assert table["absolute_note"].endswith(
        "In brackets: its 95% interval on the 3 white cells counted (the share's, times the "
        "WBC).")
    # A full count gives none.
    with translation.override("en"):
        full = differential_table(_diff(analyser_wbc=7.8))
    assert all(not r.get("absolute_interval") for r in full["rows"])
    assert "In brackets" not in full["absolute_note"]


def test_the_column_is_there_before_any_cell_is_counted():
    """A smear outside the domain opens with no cell counted: the column of absolute counts is
    drawn (empty) beside the analyser's WBC, for the page's live update to fill."""
    none = {**differential_count([], target=100).as_dict(), "cells": 30, "reviewed": 0,
            "analyser": None, "analyser_wbc": 3.21}
    with translation.override("en"):
        table = differential_table(none)
    assert table["has_absolute"] and table["absolute_note"] == ""
    assert all(not r.get("absolute") for r in table["rows"])


def test_each_absolute_count_is_read_against_the_blood_counts_interval():
    """The smear's 3.67 neutrophils beside an interval of 1.8-7.5 read nothing; 3.12
    lymphocytes (95% interval 2.41-3.88) beside 1.0-2.2 read High, 0.62 monocytes (0.32-1.17)
    beside 1.2-2.0 Low; the same rule as the result message (hemograms.flags.count_reading),
    worded as the CBC table words it."""
    reference = {"neutrophil": ["NEUT#", 1.8, 7.5], "lymphocyte": ["LYMPH#", 1.0, 2.2],
                 "monocyte": ["MONO#", 1.2, 2.0]}
    with translation.override("en"):
        table = differential_table(_diff(analyser_wbc=7.8, absolute_reference=reference))
    rows = {r["class"]: r for r in table["rows"]}
    assert (rows["neutrophil"]["absolute"], rows["neutrophil"]["absolute_flag"]) == ("3.67", "")
    assert (rows["lymphocyte"]["absolute"], rows["lymphocyte"]["absolute_flag"]) == ("3.12",
                                                                                   "High")
    assert (rows["monocyte"]["absolute"], rows["monocyte"]["absolute_flag"]) == ("0.62", "Low")
    assert rows["eosinophil"]["absolute_flag"] == ""  # no interval known
    # Flagged on their whole interval: no interval printed at the target count, no note.
    assert not rows["lymphocyte"]["absolute_interval"]
    assert "whole 95% interval" not in table["absolute_note"]
    # Critical only when the whole interval is below 0.5: 0.42 (0.34-0.51) is low; 0.24
    # (0.19-0.28, 47 of 100 beside 0.5: 0.235 rounded half up) critical.
    with translation.override("fr"):
        rows = {r["class"]: r for r in differential_table(
            _diff(analyser_wbc=0.9, absolute_reference=reference))["rows"]}
        assert (rows["neutrophil"]["absolute"], rows["neutrophil"]["absolute_flag"]) == (
            "0,42", "Bas")
        rows = {r["class"]: r for r in differential_table(
            _diff(analyser_wbc=0.5, absolute_reference=reference))["rows"]}
    assert (rows["neutrophil"]["absolute"], rows["neutrophil"]["absolute_flag"]) == (
        "0,24", "Critique (bas)")


def test_a_count_whose_interval_reaches_into_the_reference_is_not_flagged():
    """3.12 lymphocytes beside 1.0-3.0 are above it, but their 95% interval (2.41-3.88) reaches
    into it; 0.62 monocytes (0.32-1.17) beside 0.7-1.0 likewise below: neither is flagged, each
    shows its interval, and the note says why. A blast is abnormal whenever counted."""
    reference = {"lymphocyte": ["LYMPH#", 1.0, 3.0], "monocyte": ["MONO#", 0.7, 1.0]}
    counted = differential_count(CLASSES[:-3] + ["blast"], target=100).as_dict()
    with translation.override("en"):
        table = differential_table({**counted, "cells": 102, "reviewed": 0, "analyser": None,
                                    "analyser_wbc": 7.8, "absolute_reference": reference})
    rows = {r["class"]: r for r in table["rows"]}
    assert (rows["lymphocyte"]["absolute_flag"], rows["lymphocyte"]["absolute_interval"]) == (
        "", "2.41–3.88")
    assert (rows["monocyte"]["absolute_flag"], rows["monocyte"]["absolute_interval"]) == (
        "", "0.32–1.17")
    assert rows["neutrophil"]["absolute_interval"] == ""  # no reference: nothing to explain
    assert table["absolute_note"].endswith(
        "A count is marked low, high or critical only when its whole 95% interval lies past the "
        "limit: a count whose interval reaches into it (in brackets) is not, as "
        "one basophil among 100 cells is not a basophilia; the analyser's counts (blood count) "
        "measure them on thousands of cells.")
    assert rows["blast"]["absolute_flag"] == "Abnormal"
    with translation.override("fr"):
        rows = {r["class"]: r for r in differential_table(
            {**counted, "cells": 102, "reviewed": 0, "analyser": None})["rows"]}
    assert rows["blast"]["absolute_flag"] == "Anormal"  # without a WBC as well


def test_equal_counts_give_equal_absolute_counts():
    """1, 1 and 1 of 3 read 33.4, 33.3 and 33.3: each is still a third of the WBC."""
    counted = differential_count(["neutrophil", "lymphocyte", "monocyte"], target=100).as_dict()
    table = differential_table({**counted, "cells": 3, "reviewed": 0, "analyser_wbc": 4.0})
    rows = {r["class"]: r for r in table["rows"]}
    assert [rows[c]["percent"] for c in ("neutrophil", "lymphocyte", "monocyte")] == [
        "33.4", "33.3", "33.3"]
    assert {rows[c]["absolute"] for c in ("neutrophil", "lymphocyte", "monocyte")} == {"1.33"}


def test_a_marked_share_shows_the_interval_it_is_outside_of():
    """At the target count the intervals are not shown, but a "≠" points at one: the marked
    row shows its interval, so the biologist can check it; the others do not."""
    table = differential_table(_diff(analyser_wbc=7.8))
    assert not table["short_of_target"]
    rows = {r["class"]: r for r in table["rows"]}
    assert rows["neutrophil"]["analyser_differs"]
    assert rows["neutrophil"]["interval"] == "37.5–56.7"
    assert rows["lymphocyte"]["interval"] == "" and not rows["lymphocyte"]["analyser_differs"]
