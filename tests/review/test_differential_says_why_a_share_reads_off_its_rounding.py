"""The shares add up to 100.0 (largest remainder), so one may read 0.1 from its count's own
rounding: 7 immature granulocytes of 98 read 7.2, not 7.1. A hematologist checking it by hand
is told why, naming the class, on the page (and its live update) and in the report."""

from __future__ import annotations

from django.utils import translation

from apps.review.display import differential_table
from apps.smears.differential import adjusted_shares, differential_count, shares_per_100

CLASSES = (["neutrophil"] * 54 + ["lymphocyte"] * 26 + ["monocyte"] * 6 + ["eosinophil"] * 4
           + ["basophil"] + ["ig"] * 7)


def test_the_rule_names_the_shares_it_moved():
    counts = {"neutrophil": 54, "lymphocyte": 26, "monocyte": 6, "eosinophil": 4,
              "basophil": 1, "ig": 7}
    shares = shares_per_100(counts)
    assert shares["ig"] == 7.2 and round(100 * 7 / 98, 1) == 7.1
    assert adjusted_shares(counts, shares) == ["ig"]
    assert adjusted_shares({"a": 60, "b": 40}, shares_per_100({"a": 60, "b": 40})) == []
    # 1, 1 and 1 of 3: the first reads 33.4.
    assert adjusted_shares({"a": 1, "b": 1, "c": 1},
                           shares_per_100({"a": 1, "b": 1, "c": 1})) == ["a"]
    assert adjusted_shares({}, {}) == []


def test_the_table_says_so_in_the_readers_language():
    diff = {**differential_count(CLASSES, target=100).as_dict(), "cells": 98, "reviewed": 0}
    with translation.override("en"):
        table = differential_table(diff)
    assert table["rounding_note"] == ("Rounded so that the shares add up to 100.0: Immature "
                                      "granulocytes 7.2 (7.14 to two decimals).")
    with translation.override("fr"):
        french = differential_table(diff)
    assert french["rounding_note"] == ("Arrondis pour que les pourcentages totalisent 100,0\u00a0: "
                                       "Granuleux immatures 7,2 (7,14 à deux décimales).")
    even = {**differential_count(["neutrophil"] * 60 + ["lymphocyte"] * 40,
                                 target=100).as_dict(), "cells": 100, "reviewed": 0}
    assert differential_table(even)["rounding_note"] == ""
