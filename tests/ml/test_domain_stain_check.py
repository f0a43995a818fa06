"""The stain part of the domain check: a cell stained or lit unlike every training source is
outside even when the network's features look familiar; a cell cut out on black is judged on
its nucleus alone; statistics written before the check existed still load."""

from __future__ import annotations

import numpy as np

from apps.ml.domain import (
    CELL_INSIDE,
    CELL_OUTSIDE,
    CELL_STAIN,
    STAIN_DIMS,
    DomainGuard,
    StainCheck,
    stain_fingerprint,
    stain_fingerprints,
)


def _view(gen: np.random.Generator, *, nucleus=(90, 40, 140), background=(236, 222, 200),
          black: bool = False, size: int = 96) -> np.ndarray:
    """A round purple nucleus in a pale cytoplasm on a slide background (or on black)."""
    yy, xx = np.mgrid[:size, :size]
    r = np.hypot(yy - size / 2, xx - size / 2)
    img = np.empty((size, size, 3), np.float64)
    img[:] = (0, 0, 0) if black else background
    img[r < size * 0.33] = (200, 190, 215)
    img[r < size * 0.18] = nucleus
    img += gen.normal(0, 4, img.shape) * (img.max(axis=-1, keepdims=True) > 30)
    return np.clip(img, 0, 255).astype(np.uint8)


def _population(gen: np.random.Generator, n: int, **kw) -> np.ndarray:
    out = []
    for _ in range(n):
        jitter = gen.normal(0, 6, 3)
        nucleus = tuple(np.clip(np.array(kw.get("nucleus", (90, 40, 140))) + jitter, 0, 255))
        bg = tuple(np.clip(np.array(kw.get("background", (236, 222, 200))) + gen.normal(0, 3, 3),
                           0, 255))
        out.append(_view(gen, nucleus=nucleus, background=bg, black=kw.get("black", False)))
    return stain_fingerprints(out)


def _check() -> StainCheck:
    gen = np.random.default_rng(0)
    fit = _population(gen, 300)
    check = StainCheck.fit(fit, ["pbc"] * len(fit))
    check.calibrate(_population(gen, 300), 0.995)
    return check


def test_fingerprint_has_a_background_only_when_the_view_shows_one():
    gen = np.random.default_rng(1)
    on_slide = stain_fingerprint(_view(gen))
    on_black = stain_fingerprint(_view(gen, black=True))
    assert on_slide.shape == (STAIN_DIMS,) and not np.isnan(on_slide).any()
    assert np.isnan(on_black[:6]).all() and not np.isnan(on_black[6:]).any()
    # The nucleus absorbs more than the background on every channel.
    assert (on_slide[0:3] > 0).all()


def test_same_stain_is_inside_another_stain_or_illumination_is_not():
    check = _check()
    gen = np.random.default_rng(2)
    same = check.scores(_population(gen, 40))
    magenta_on_white = check.scores(_population(
        gen, 40, nucleus=(170, 60, 160), background=(250, 250, 252)))
    pale_nucleus = check.scores(_population(gen, 40, nucleus=(150, 110, 190))
                                  )
    assert (same <= 1).mean() >= 0.9
    assert (magenta_on_white > 1).all() and (pale_nucleus > 1).all()


def test_a_cell_on_black_is_judged_on_its_nucleus():
    check = _check()
    gen = np.random.default_rng(3)
    on_black = check.scores(_population(gen, 30, black=True))
    other_stain_on_black = check.scores(_population(
        gen, 30, black=True, nucleus=(170, 60, 160)))
    assert (on_black <= 1).mean() >= 0.9
    assert (other_stain_on_black > 1).all()


def test_a_second_source_makes_its_stain_inside():
    gen = np.random.default_rng(4)
    pbc = _population(gen, 100)
    lisc = _population(gen, 100, nucleus=(170, 60, 160), background=(250, 250, 252))
    check = StainCheck.fit(np.concatenate([pbc, lisc]), ["pbc"] * 100 + ["lisc"] * 100)
    check.calibrate(_population(gen, 60), 0.99)
    assert check.sources == ["lisc", "pbc"]
    d = check.scores(_population(gen, 30, nucleus=(170, 60, 160), background=(250, 250, 252)))
    assert (d <= 1).mean() >= 0.8


def _feature_guard(stain: StainCheck | None) -> tuple[DomainGuard, np.ndarray]:
    gen = np.random.default_rng(5)
    dim, k = 8, 2
    comps = np.linalg.qr(gen.normal(size=(dim, k)))[0]
    guard = DomainGuard(np.zeros((1, dim)), comps, np.ones(k), 1.0, threshold=100.0,
                        stain=stain)
    return guard, gen.normal(size=(4, dim, 1, 1)).astype(np.float32)


def test_guard_flags_familiar_features_with_an_unknown_stain():
    check = _check()
    guard, feats = _feature_guard(check)
    gen = np.random.default_rng(6)
    same = _population(gen, 20)
    same = same[np.argsort(check.scores(same))[:2]]  # two typical cells of the source
    stains = np.concatenate([same,
                             _population(gen, 2, nucleus=(170, 60, 160),
                                         background=(250, 250, 252))])
    cells = guard.cells(feats, [True] * 4, stains)
    assert [c.code for c in cells] == [CELL_INSIDE, CELL_INSIDE, CELL_STAIN, CELL_STAIN]
    assert all(c.score is not None and c.score > 1 for c in cells[2:])
    assert not any(c.inside for c in cells[2:])
    # Without fingerprints the features alone decide (callers that have no views).
    assert all(c.code == CELL_INSIDE for c in guard.cells(feats, [True] * 4))
    # Far features stay "outside_features" whatever the stain.
    assert guard.cells(feats + 1e3, [True] * 4, stains)[0].code == CELL_OUTSIDE


def test_stain_statistics_round_trip_and_older_files_load_without_them(tmp_path):
    check = _check()
    guard, _ = _feature_guard(check)
    guard.save(tmp_path / "with.npz")
    again = DomainGuard.load(tmp_path / "with.npz")
    assert again.stain is not None and again.stain.sources == ["pbc"]
    x = _population(np.random.default_rng(7), 10)
    np.testing.assert_allclose(again.stain.scores(x), check.scores(x))
    assert again.stain.thresholds == check.thresholds
    older, _ = _feature_guard(None)
    older.save(tmp_path / "older.npz")
    assert DomainGuard.load(tmp_path / "older.npz").stain is None
