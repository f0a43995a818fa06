"""The differential is per 100 white cells: platelets and erythroblasts out of the denominator."""

from __future__ import annotations

import pytest

from apps.smears.differential import BAND, WBC_CLASSES, differential_count


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


@pytest.mark.parametrize("n_classes", [(1, 1, 1), (2, 2, 3), (5, 7, 11, 13, 1), (33, 33, 34),
                                       (1, 2, 4, 8, 16, 32)])
def test_a_differential_adds_up_to_100_per_100_white_cells(n_classes):
    """A signed differential whose rows each round on their own can print 99.9 or 100.1."""
    named = zip(WBC_CLASSES[:len(n_classes)], n_classes, strict=True)
    classes = [cls for cls, n in named for _ in range(n)]
    d = differential_count(classes, target=100)
    tenths = {c: round(10 * v) for c, v in d.per_100_wbc.items()}
    assert sum(tenths.values()) == 1000
    for cls, count in d.counts.items():
        exact = 1000 * count / d.wbc_counted
        # Each share is its exact value to the tenth below or above, never further.
        assert abs(tenths[cls] - exact) < 1


def test_three_thirds_read_one_share_up():
    d = differential_count(["neutrophil", "lymphocyte", "monocyte"], target=100)
    shares = [d.per_100_wbc[c] for c in ("neutrophil", "lymphocyte", "monocyte")]
    assert sorted(shares) == [33.3, 33.3, 33.4]
    assert d.per_100_wbc["eosinophil"] == 0.0


@pytest.mark.parametrize("lymphocytes", range(1, 40))
def test_band_forms_never_read_above_the_neutrophils_they_are_among(lymphocytes):
    # Every neutrophil a band form: the two shares are one count, the neutrophils' possibly
    # rounded down so that the differential adds up; the bands' follow it.
    d = differential_count([BAND] * 7 + ["lymphocyte"] * lymphocytes + ["monocyte"] * 3,
                           target=100)
    assert d.bands == 7 and d.bands_per_100_wbc == d.per_100_wbc["neutrophil"]
