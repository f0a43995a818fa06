"""The differential is per 100 white cells: platelets and erythroblasts out of the denominator."""

from __future__ import annotations

import pytest

from apps.smears.differential import WBC_CLASSES, differential_count


def test_platelets_and_erythroblasts_are_not_white_cells():
    classes = (["neutrophil"] * 60 + ["lymphocyte"] * 30 + ["monocyte"] * 6 + ["eosinophil"] * 3
               + ["basophil"] * 1 + ["platelet"] * 15 + ["erythroblast"] * 5)
    d = differential_count(classes, target=100)
    assert d.wbc_counted == 100
    assert d.per_100_wbc["neutrophil"] == 60.0 and d.per_100_wbc["lymphocyte"] == 30.0
    assert sum(d.per_100_wbc.values()) == pytest.approx(100.0)
    assert (d.nrbc, d.nrbc_per_100_wbc) == (5, 5.0)
    assert d.excluded == {"platelet": 15}
    assert not d.short_of_target
    # Counted over all 120 objects, neutrophils would read 50 %: that is the error this prevents.
    assert d.per_100_wbc["neutrophil"] != round(100 * 60 / len(classes), 1)


def test_unclassified_cells_are_reported_apart_and_a_short_count_is_said():
    d = differential_count(["neutrophil"] * 40 + ["lymphocyte"] * 40 + [""] * 7 + [None] * 3,
                           target=200)
    assert (d.wbc_counted, d.unclassified) == (80, 10)
    assert d.short_of_target and d.target == 200
    assert d.per_100_wbc["neutrophil"] == 50.0


def test_every_white_cell_class_is_listed_and_other_classes_follow():
    d = differential_count(["neutrophil", "blast"], target=100)
    assert list(d.counts) == [*WBC_CLASSES, "blast"]
    assert d.per_100_wbc["blast"] == 50.0 and d.per_100_wbc["monocyte"] == 0.0


def test_no_white_cell_gives_no_percentages():
    d = differential_count(["platelet", "erythroblast"], target=100)
    assert d.wbc_counted == 0 and d.per_100_wbc == {} and d.nrbc_per_100_wbc is None
    with pytest.raises(ValueError):
        differential_count([], target=0)
