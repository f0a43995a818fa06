"""Training split helpers: sha256 de-duplication and stratified, seeded splits."""

from __future__ import annotations

from collections import Counter

import pytest

pytest.importorskip("torch")

from training.data import Sample, dedup_by_hash, extend_split, stratified_split  # noqa: E402


def _s(path: str, cls: str = "eosinophil", prefix: str = "EO") -> Sample:
    return Sample(path, cls, prefix, {})


def test_identical_files_keep_one_copy_and_conflicts_are_dropped():
    samples = [_s("a.jpg"), _s("b.jpg"), _s("c.jpg"), _s("d.jpg", "basophil", "BA"), _s("e.jpg")]
    hashes = ["h1", "h1", "h2", "h2", "h3"]
    kept, dropped = dedup_by_hash(samples, hashes)
    assert [(s.path, h) for s, h in kept] == [("a.jpg", "h1"), ("e.jpg", "h3")]
    reasons = dict(dropped)
    assert reasons["b.jpg"] == "duplicate of a.jpg"
    assert "conflicting" in reasons["c.jpg"] and "conflicting" in reasons["d.jpg"]


def test_split_is_stratified_seeded_and_covers_small_strata():
    strata = ["big"] * 1000 + ["small"] * 5
    a = stratified_split(strata, (0.7, 0.15, 0.15), seed=7)
    assert a == stratified_split(strata, (0.7, 0.15, 0.15), seed=7)
    assert a != stratified_split(strata, (0.7, 0.15, 0.15), seed=8)
    big = Counter(s for s, k in zip(a, strata, strict=True) if k == "big")
    assert big == {"train": 700, "val": 150, "test": 150}
    small = Counter(s for s, k in zip(a, strata, strict=True) if k == "small")
    assert small["val"] >= 1 and small["test"] >= 1 and small["train"] >= 1


def test_extended_split_keeps_every_earlier_file_where_it_was():
    """Fine-tuning on more images (train_cells --keep-split): files the earlier model saw
    keep their split, matched by content even when renamed; only new files are split."""
    old_hashes = [f"old{i}" for i in range(300)]
    old = stratified_split(["a"] * 300, (0.7, 0.15, 0.15), seed=1)
    previous = dict(zip(old_hashes, old, strict=True))
    new_hashes = [f"new{i}" for i in range(200)]
    hashes = new_hashes[:100] + old_hashes[::-1] + new_hashes[100:]  # reordered, interleaved
    strata = ["a"] * len(hashes)
    got = extend_split(hashes, strata, previous, (0.7, 0.15, 0.15), seed=1)
    assert all(got[i] == previous[h] for i, h in enumerate(hashes) if h in previous)
    fresh = Counter(sp for h, sp in zip(hashes, got, strict=True) if h.startswith("new"))
    assert fresh == {"train": 140, "val": 30, "test": 30}
    # Without it the same seed reshuffles the old files: some test images would be trained on.
    plain = stratified_split(strata, (0.7, 0.15, 0.15), seed=1)
    moved = [h for h, sp in zip(hashes, plain, strict=True) if h in previous and sp != previous[h]]
    assert moved
