"""The canonical view against the implementation the registered model was trained on.

    .venv/bin/python bench/check_canonical_view.py [--pbc-step 1] [--datasets DIR]

The reference below is apps/ml/canonical.py as hemaclinic-cells 2.1.0 was trained with it
(binary closing by ndimage, a loop over the labels, float arithmetic for the stain signal).
Both implementations run on every PBC image (every ``--pbc-step``-th), every LISC image,
every TXL-PBC white-cell box (1.5 times the box, clamped to the field) and every TXL-PBC
field (its view, and ``locate_nucleus`` at full resolution as training/domain_eval.py calls
it), plus grey and RGBA copies of every 20th PBC image. Prints per set how many results differ
(view pixels; reason, centre, scale or nucleus area) and the CPU time of each implementation
on the same images in the same run. Exit status 1 when anything differs.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
from PIL import Image

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from apps.ml import canonical  # noqa: E402
from apps.ml.canonical import (  # noqa: E402
    FOUND,
    View,
    ViewParams,
    _crop_resize,
)
from tests.ml.canonical_reference import ref_locate as ref_locate_nucleus  # noqa: E402

# ---- reference: the rule as 2.1.0 was trained with it (do not optimise) -------------------


def ref_locate(im: Image.Image, p: ViewParams
               ) -> tuple[float, tuple[str, tuple[float, float], float, float]]:
    w, h = im.size
    k = p.analysis_px / max(w, h)
    small = im.resize((max(1, round(w * k)), max(1, round(h * k))), Image.Resampling.BILINEAR)
    return k, ref_locate_nucleus(np.asarray(small, dtype=np.uint8), p)


def ref_border_colour(rgb: np.ndarray) -> tuple[int, int, int]:
    edge = np.concatenate([rgb[0], rgb[-1], rgb[:, 0], rgb[:, -1]])
    return tuple(int(v) for v in np.median(edge, axis=0))  # type: ignore[return-value]


def ref_canonical_view(image: Image.Image, params: ViewParams | None = None) -> View:
    p = params or ViewParams()
    im = image.convert("RGB")
    w, h = im.size
    k, (reason, (sx, sy), spread, area_frac) = ref_locate(im, p)
    fill = ref_border_colour(np.asarray(im, dtype=np.uint8))
    if reason == FOUND and spread > 0:
        cx, cy = (sx + 0.5) / k, (sy + 0.5) / k
        scale = float(np.clip(p.target_spread / (spread / k), p.min_scale, p.max_scale))
    else:
        cx, cy = w / 2, h / 2
        scale = p.size / min(w, h)
    half = p.size / (2 * scale)
    box = (cx - half, cy - half, cx + half, cy + half)
    out = _crop_resize(im, box, p.size, fill)
    return View(out, reason, (cx, cy), scale, area_frac)


# ---- comparison ---------------------------------------------------------------------------


class Tally:
    def __init__(self, name: str) -> None:
        self.name = name
        self.n = self.pixels = self.meta = 0
        self.t_ref = self.t_new = 0.0
        self.reasons: dict[str, int] = {}
        self.examples: list[str] = []

    def timed(self, fn: Callable[[], object], ref: bool) -> object:
        s = time.process_time()
        out = fn()
        dt = time.process_time() - s
        if ref:
            self.t_ref += dt
        else:
            self.t_new += dt
        return out

    def both(self, key: str, ref: Callable[[], object], new: Callable[[], object]
             ) -> tuple[object, object]:
        # Alternate which runs first so that neither always finds the caches warm.
        if self.n % 2:
            b = self.timed(new, False)
            a = self.timed(ref, True)
        else:
            a = self.timed(ref, True)
            b = self.timed(new, False)
        self.n += 1
        return a, b

    def view(self, key: str, image: Image.Image, p: ViewParams) -> None:
        a, b = self.both(key, lambda: ref_canonical_view(image, p),
                         lambda: canonical.canonical_view(image, p))
        assert isinstance(a, View) and isinstance(b, View)
        self.reasons[a.reason] = self.reasons.get(a.reason, 0) + 1
        pixels = a.image.mode != b.image.mode or a.image.tobytes() != b.image.tobytes()
        meta = (a.reason, a.centre, a.scale, a.nucleus_area_frac) != (
            b.reason, b.centre, b.scale, b.nucleus_area_frac)
        self._count(key, pixels, meta)

    def locate(self, key: str, rgb: np.ndarray, p: ViewParams) -> None:
        a, b = self.both(key, lambda: ref_locate_nucleus(rgb, p),
                         lambda: canonical.locate_nucleus(rgb, p))
        assert isinstance(a, tuple)
        self.reasons[a[0]] = self.reasons.get(a[0], 0) + 1
        self._count(key, False, a != b)

    def _count(self, key: str, pixels: bool, meta: bool) -> None:
        self.pixels += pixels
        self.meta += meta
        if (pixels or meta) and len(self.examples) < 5:
            self.examples.append(key)

    def line(self) -> str:
        ratio = self.t_ref / self.t_new if self.t_new else float("nan")
        return (f"{self.name:<25} {self.n:6d}  pixels differ {self.pixels:3d}  "
                f"reason/centre/scale/area differ {self.meta:3d}   CPU ms per call "
                f"reference {1000 * self.t_ref / max(1, self.n):6.2f}  "
                f"new {1000 * self.t_new / max(1, self.n):6.2f}  ({ratio:.2f}x)")


def _open(path: Path) -> Image.Image:
    with Image.open(path) as im:
        im.load()
        return im.copy()


def txl_boxes(root: Path) -> Iterator[tuple[Path, list[tuple[float, float, float, float]]]]:
    """Each TXL-PBC field and its white-cell boxes (YOLO class 0, fractions of the field)."""
    for image in sorted((root / "images").glob("*/*")):
        label = root / "labels" / image.parent.name / f"{image.stem}.txt"
        boxes = []
        if label.exists():
            for row in label.read_text().split("\n"):
                parts = row.split()
                if len(parts) == 5 and parts[0] == "0":
                    x, y, bw, bh = (float(v) for v in parts[1:])
                    boxes.append((x, y, bw, bh))
        yield image, boxes


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--datasets", type=Path, default=REPO.parent / "shared" / "datasets")
    ap.add_argument("--pbc-step", type=int, default=1, help="every n-th PBC image (sorted)")
    args = ap.parse_args()
    p = ViewParams()
    tallies = []

    pbc_files = sorted((args.datasets / "pbc").glob("*/*.jpg"))[:: args.pbc_step]
    lisc_files = sorted((args.datasets / "lisc").glob("*/*.jpg"))
    txl_root = args.datasets / "txl_pbc"
    if not pbc_files or not lisc_files or not (txl_root / "images").is_dir():
        sys.exit(f"datasets not found under {args.datasets}")

    t = Tally("pbc")
    modes = Tally("pbc L, RGBA (every 20th)")
    for i, f in enumerate(pbc_files):
        im = _open(f)
        t.view(str(f), im, p)
        if i % 20 == 0:
            for mode in ("L", "RGBA"):
                modes.view(f"{f} {mode}", im.convert(mode), p)
    tallies += [t, modes]
    print(t.line(), modes.line(), sep="\n", flush=True)

    t = Tally("lisc")
    for f in lisc_files:
        t.view(str(f), _open(f), p)
    tallies.append(t)
    print(t.line(), flush=True)

    crops, fields, full = Tally("txl_pbc wbc crops"), Tally("txl_pbc fields"), Tally(
        "txl_pbc fields locate")
    for f, boxes in txl_boxes(txl_root):
        im = _open(f).convert("RGB")
        w, h = im.size
        for x, y, bw, bh in boxes:
            half_w, half_h = 0.75 * bw * w, 0.75 * bh * h
            box = (max(0, round(x * w - half_w)), max(0, round(y * h - half_h)),
                   min(w, round(x * w + half_w)), min(h, round(y * h + half_h)))
            if box[2] - box[0] >= 8 and box[3] - box[1] >= 8:
                crops.view(f"{f} {box}", im.crop(box), p)
        fields.view(str(f), im, p)
        rgb = np.asarray(im, dtype=np.uint8)
        full.locate(str(f), rgb, ViewParams(analysis_px=max(rgb.shape)))
    tallies += [crops, fields, full]
    for t in tallies[-3:]:
        print(t.line(), flush=True)

    print("\nreasons (reference):")
    for t in tallies:
        print(f"  {t.name:<25} {dict(sorted(t.reasons.items()))}")
    bad = [t for t in tallies if t.pixels or t.meta]
    total_ref = sum(t.t_ref for t in tallies)
    total_new = sum(t.t_new for t in tallies)
    print(f"\nall: {sum(t.n for t in tallies)} calls, {sum(t.pixels for t in tallies)} views "
          f"with other pixels, {sum(t.meta for t in tallies)} with another reason, centre, "
          f"scale or area; CPU {total_ref:.1f} s reference, {total_new:.1f} s new "
          f"({total_ref / total_new:.2f}x)")
    for t in bad:
        print(f"  {t.name}: e.g. {t.examples}")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
