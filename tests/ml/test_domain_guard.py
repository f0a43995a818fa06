"""The domain check: distances, the per-cell code, the per-specimen rule, the card entry."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

from apps.ml.cards import CardError, load_card, sha256_file
from apps.ml.domain import (
    CELL_INSIDE,
    CELL_NO_NUCLEUS,
    CELL_OUTSIDE,
    SPECIMEN_INSIDE,
    SPECIMEN_OUTSIDE,
    SPECIMEN_UNCHECKED,
    CellDomain,
    DomainGuard,
    specimen_domain,
)


def _guard(dim: int = 16, k: int = 4) -> tuple[DomainGuard, np.ndarray]:
    gen = np.random.default_rng(0)
    means = np.stack([np.zeros(dim), np.full(dim, 5.0)]).astype(np.float32)
    comps = np.linalg.qr(gen.normal(size=(dim, k)))[0].astype(np.float32)
    guard = DomainGuard(means, comps, np.ones(k, np.float32), 1.0, threshold=1.0)
    inside = gen.normal(size=(200, dim)).astype(np.float32) + means[gen.integers(0, 2, 200)]
    guard.threshold = float(np.quantile(guard.distance(inside), 0.99))
    return guard, inside


def test_cells_near_a_class_are_inside_and_far_ones_outside():
    guard, inside = _guard()
    far = inside[:10] + 40.0
    feats = np.concatenate([inside[:10], far])[:, :, None, None]  # (N, C, 1, 1) maps
    cells = guard.cells(feats, [True] * 20)
    assert [c.code for c in cells[:10]].count(CELL_INSIDE) >= 9
    assert all(c.code == CELL_OUTSIDE and c.score > 1 for c in cells[10:])


def test_a_cell_without_a_nucleus_is_outside_whatever_its_features():
    guard, inside = _guard()
    cells = guard.cells(inside[:2, :, None, None], [True, False])
    assert cells[1].code == CELL_NO_NUCLEUS and not cells[1].inside


def test_guard_round_trips_through_its_file(tmp_path):
    guard, inside = _guard()
    guard.save(tmp_path / "domain.npz")
    again = DomainGuard.load(tmp_path / "domain.npz")
    np.testing.assert_allclose(again.distance(inside), guard.distance(inside), rtol=1e-5)


def test_specimen_rule():
    inside, outside = CellDomain(0.5, CELL_INSIDE), CellDomain(3.0, CELL_OUTSIDE)
    assert specimen_domain([inside] * 80 + [outside] * 20, 0.25).code == SPECIMEN_INSIDE
    res = specimen_domain([inside] * 70 + [outside] * 30, 0.25)
    assert (res.code, res.cells, res.outside) == (SPECIMEN_OUTSIDE, 100, 30)
    # A model without a domain check says so; it never claims "inside".
    assert specimen_domain([None] * 5, None).code == SPECIMEN_UNCHECKED
    assert specimen_domain([], 0.25).code == SPECIMEN_UNCHECKED


def test_card_domain_entry_is_validated(tmp_path, model_dir):  # type: ignore[no-untyped-def]
    target = tmp_path / "m"
    shutil.copytree(model_dir, target)
    guard, _ = _guard()
    guard.save(target / "domain.npz")
    raw = json.loads((target / "card.json").read_text())
    raw["files"]["domain"] = {"path": "domain.npz", "sha256": sha256_file(target / "domain.npz")}
    raw["domain"] = {"specimen_max_outside": 0.25}
    (target / "card.json").write_text(json.dumps(raw))
    card = load_card(target)
    assert card.domain is not None and card.domain.specimen_max_outside == 0.25
    assert card.domain_path == target / "domain.npz"
    del raw["domain"]
    (target / "card.json").write_text(json.dumps(raw))
    with pytest.raises(CardError, match="domain"):
        load_card(target)
