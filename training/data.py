"""PBC dataset: label vocabularies, sha256 de-duplication, stratified split, preprocessing.

Pure helpers (no torch) so that they are cheap to test.
"""

from __future__ import annotations

import csv
import os
import random
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

REPO_ROOT = Path(__file__).resolve().parent.parent
DATASETS_ENV = "HEMACLINIC_DATASETS"

CELL_CLASSES: tuple[str, ...] = (
    "basophil",
    "eosinophil",
    "erythroblast",
    "ig",
    "lymphocyte",
    "monocyte",
    "neutrophil",
    "platelet",
)
# labels.csv `subtype` prefix -> subtype label; IG and NEUTROPHIL are unspecified (masked).
SUBTYPE_BY_PREFIX: dict[str, str] = {
    "BNE": "band_neutrophil",
    "SNE": "segmented_neutrophil",
    "PMY": "promyelocyte",
    "MY": "myelocyte",
    "MMY": "metamyelocyte",
    "EO": "eosinophil",
    "BA": "basophil",
    "LY": "lymphocyte",
    "MO": "monocyte",
    "ERB": "erythroblast",
    "PLATELET": "platelet",
}
SUBTYPES: tuple[str, ...] = tuple(SUBTYPE_BY_PREFIX.values())
UNSPECIFIED_PREFIXES = frozenset({"IG", "NEUTROPHIL"})
ATTRIBUTES: tuple[str, ...] = (
    "cell_size",
    "cell_shape",
    "nucleus_shape",
    "nuclear_cytoplasmic_ratio",
    "chromatin_density",
    "cytoplasm_vacuole",
    "cytoplasm_texture",
    "cytoplasm_colour",
    "granule_type",
    "granule_colour",
    "granularity",
)
IGNORE = -100


def default_datasets_dir() -> Path:
    env = os.environ.get(DATASETS_ENV)
    return Path(env) if env else (REPO_ROOT.parent / "shared" / "datasets")


@dataclass(frozen=True)
class Sample:
    path: str  # relative to the pbc/ folder
    cell_class: str
    prefix: str
    attributes: dict[str, str]  # empty when the row has no WBCAtt labels

    @property
    def subtype(self) -> str | None:
        return SUBTYPE_BY_PREFIX.get(self.prefix)

    @property
    def has_attributes(self) -> bool:
        return bool(self.attributes)

    @property
    def stratum(self) -> str:
        return f"{self.cell_class}/{self.prefix}/{'att' if self.has_attributes else 'noatt'}"


def read_labels(labels_csv: Path) -> list[Sample]:
    samples = []
    with labels_csv.open(newline="") as fh:
        for row in csv.DictReader(fh):
            attrs = {a: row[a] for a in ATTRIBUTES if row[a]}
            if attrs and len(attrs) != len(ATTRIBUTES):
                raise ValueError(f"{row['path']}: partial attribute row")
            if row["class"] not in CELL_CLASSES:
                raise ValueError(f"{row['path']}: unknown class {row['class']!r}")
            if row["subtype"] not in SUBTYPE_BY_PREFIX and row["subtype"] not in (
                UNSPECIFIED_PREFIXES
            ):
                raise ValueError(f"{row['path']}: unknown subtype prefix {row['subtype']!r}")
            samples.append(Sample(row["path"], row["class"], row["subtype"], attrs))
    return samples


def attribute_vocab(samples: Iterable[Sample]) -> dict[str, tuple[str, ...]]:
    values: dict[str, set[str]] = defaultdict(set)
    for s in samples:
        for a, v in s.attributes.items():
            values[a].add(v)
    return {a: tuple(sorted(values[a])) for a in ATTRIBUTES}


def _label_key(s: Sample) -> tuple[str, str, tuple[tuple[str, str], ...]]:
    return (s.cell_class, s.prefix, tuple(sorted(s.attributes.items())))


def dedup_by_hash(
    samples: Sequence[Sample], hashes: Sequence[str]
) -> tuple[list[tuple[Sample, str]], list[tuple[str, str]]]:
    """Keep one sample per identical file content.

    Returns the kept (sample, sha256) pairs and the dropped (path, reason) pairs.
    Duplicates whose labels disagree are all dropped: no label can be trusted.
    """
    groups: dict[str, list[Sample]] = defaultdict(list)
    for s, h in zip(samples, hashes, strict=True):
        groups[h].append(s)
    kept: list[tuple[Sample, str]] = []
    dropped: list[tuple[str, str]] = []
    for h, group in groups.items():
        group = sorted(group, key=lambda s: s.path)
        if len({_label_key(s) for s in group}) > 1:
            dropped += [(s.path, "duplicate content with conflicting labels") for s in group]
            continue
        kept.append((group[0], h))
        dropped += [(s.path, f"duplicate of {group[0].path}") for s in group[1:]]
    kept.sort(key=lambda t: t[0].path)
    return kept, dropped


def stratified_split(
    strata: Sequence[str], fractions: tuple[float, float, float], seed: int
) -> list[str]:
    """Assign 'train'/'val'/'test' per index, stratified by the given key.

    Per stratum the counts are rounded so that every stratum with >= 3 items
    has at least one item in val and test.
    """
    if abs(sum(fractions) - 1.0) > 1e-9:
        raise ValueError("fractions must sum to 1")
    rng = random.Random(seed)
    by_stratum: dict[str, list[int]] = defaultdict(list)
    for i, key in enumerate(strata):
        by_stratum[key].append(i)
    out = [""] * len(strata)
    for key in sorted(by_stratum):
        idx = by_stratum[key]
        rng.shuffle(idx)
        n = len(idx)
        n_test = round(n * fractions[2])
        n_val = round(n * fractions[1])
        if n >= 3:
            n_test, n_val = max(n_test, 1), max(n_val, 1)
        for j, i in enumerate(idx):
            out[i] = "test" if j < n_test else "val" if j < n_test + n_val else "train"
    return out


def extend_split(
    hashes: Sequence[str],
    strata: Sequence[str],
    previous: dict[str, str],
    fractions: tuple[float, float, float],
    seed: int,
) -> list[str]:
    """Keep each file's split from an earlier model, split only the files it never saw.

    ``previous`` maps sha256 -> split (an earlier split.csv), so a renamed or moved file
    keeps its split. Fine-tuning a shipped model on more images with this split never
    trains on that model's validation or test images, so figures stay comparable.
    """
    new = [i for i, h in enumerate(hashes) if h not in previous]
    fresh = stratified_split([strata[i] for i in new], fractions, seed)
    out = [previous.get(h, "") for h in hashes]
    for i, sp in zip(new, fresh, strict=True):
        out[i] = sp
    return out


def write_split_csv(path: Path, rows: Iterable[tuple[str, str, str]]) -> None:
    with path.open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["path", "sha256", "split"])
        w.writerows(rows)


def read_split_csv(path: Path) -> list[tuple[str, str, str]]:
    with path.open(newline="") as fh:
        return [(r["path"], r["sha256"], r["split"]) for r in csv.DictReader(fh)]


def load_cell_image(path: Path, size: int) -> np.ndarray:
    """Decode to RGB, resize the shorter side to ``size`` (bilinear, aspect kept),
    centre-crop ``size`` x ``size``. Returns uint8 HxWx3.

    The runtime (apps/ml) reimplements this from the model card; tests pin both.
    """
    with Image.open(path) as im:
        im = im.convert("RGB")
        w, h = im.size
        scale = size / min(w, h)
        nw, nh = max(size, round(w * scale)), max(size, round(h * scale))
        im = im.resize((nw, nh), Image.Resampling.BILINEAR)
        left, top = (nw - size) // 2, (nh - size) // 2
        im = im.crop((left, top, left + size, top + size))
        return np.asarray(im, dtype=np.uint8).copy()


def load_view_image(path: Path, size: int, view: dict | None = None) -> np.ndarray:
    """The model input for one file: the canonical view when ``view`` (a card's
    ``input.resize`` of rule ``canonical_nucleus_v1``) is given, else ``load_cell_image``.
    """
    if view is None:
        return load_cell_image(path, size)
    from apps.ml.canonical import ViewParams, canonical_view

    params = ViewParams.from_card(view)
    if params.size != size:
        raise ValueError(f"view size {params.size} != input size {size}")
    with Image.open(path) as im:
        return np.asarray(canonical_view(im, params).image, dtype=np.uint8).copy()


def read_lisc_split(path: Path) -> dict[str, str]:
    """LISC path -> 'train' or 'test', from a lisc_split.csv (training/lisc_groups.py)."""
    with path.open(newline="") as fh:
        return {r["path"]: r["split"] for r in csv.DictReader(fh)}


# TXL-PBC gathers fields from four sources; each has its own field size.
TXL_SOURCES = {(575, 575): "Raabin-WBC", (640, 480): "BCCD", (416, 416): "BCD",
               (360, 363): "PBC", (366, 369): "PBC"}
TXL_WBC = 0  # the white-cell class of TXL-PBC's box labels


def txl_white_cell_boxes(root: Path, splits: Sequence[str]
                         ) -> list[tuple[Path, tuple[float, float, float, float]]]:
    """The white-cell boxes of TXL-PBC fields (YOLO: centre x, y, width, height, relative),
    with their field image, in file order."""
    boxes: list[tuple[Path, tuple[float, float, float, float]]] = []
    for split in splits:
        for lab in sorted((root / "labels" / split).glob("*.txt")):
            img = root / "images" / split / (lab.stem + ".jpg")
            for line in lab.read_text().splitlines():
                c, x, y, bw, bh = (float(v) for v in line.split())
                if int(c) == TXL_WBC and img.exists():
                    boxes.append((img, (x, y, bw, bh)))
    return boxes


def txl_white_cell_crop(field: Image.Image, box: tuple[float, float, float, float]
                        ) -> tuple[Image.Image, str]:
    """The square crop of 1.5 times the box's longer side around a white-cell box, and the
    field's source (by its size, TXL_SOURCES; 'other' when unknown)."""
    x, y, bw, bh = box
    w, h = field.size
    side = 1.5 * max(bw * w, bh * h)
    cx, cy = x * w, y * h
    crop = field.crop(tuple(round(v) for v in (cx - side / 2, cy - side / 2,
                                               cx + side / 2, cy + side / 2)))
    return crop, TXL_SOURCES.get((w, h), "other")
