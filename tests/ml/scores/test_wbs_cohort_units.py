"""The wbs_cbc reader converts units and derives ANC exactly as documented."""

from __future__ import annotations

from pathlib import Path

import pytest

from training.scores.cohort import CohortError, load_cohort


def test_real_rows_are_converted(wbs_cbc: Path):
    c = load_cohort(wbs_cbc)
    # blood_count_data.csv: XVI_4,6200,9.4,326000,0,0,0,0,66,2,0,2,30,0
    row = c.rows[c.ids.index("XVI_4")]
    assert row.wbc == pytest.approx(6.2)
    assert row.plt == pytest.approx(326.0)
    assert row.hb == pytest.approx(9.4)
    assert row.anc == pytest.approx(6.2 * 66 / 100)
    assert row.mono == pytest.approx(6.2 * 2 / 100)
    assert row.mcv is None and row.ne_wx is None
    assert c.format == "wbs_cbc" and len(c.files) == 3


def test_label_and_exclusions(wbs_cbc: Path):
    c = load_cohort(wbs_cbc)
    assert set(c.classes) == {"mds", "anemia", "normal"}
    assert all((cls == "mds") == bool(y) for cls, y in zip(c.classes, c.y, strict=True))
    # X_8 has no WBC, Hb or PLT ("n.k."): indeterminate, not imputed.
    assert "X_8" not in c.ids
    assert any("X_8" in ids for ids in c.excluded.values())
    assert len(c) + sum(len(v) for v in c.excluded.values()) == 362


def test_unknown_folder_is_refused(tmp_path: Path):
    with pytest.raises(CohortError):
        load_cohort(tmp_path)
