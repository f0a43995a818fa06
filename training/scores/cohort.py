"""Read a labelled cohort (wbs_cbc folder or the lab CSV format) into CBC features.

Two formats, detected from the folder contents:

- ``wbs_cbc``: the Haemorasis blood-count release (all_classes.csv, blood_count_data.csv,
  demographic_data.csv). Label: coarse_class "mds" = 1; "anemia" and "normal" = 0.
- ``lab``: ``cohort.csv`` with one row per patient: patient_id, label (mds / not_mds), anc,
  mcv, ne_wx, hb, plt, sex (M/F), age, image_dir, and optionally wbc and mono. Units as in
  ``apps.ml.scores.features.FEATURES``; an empty cell is a missing value. See docs/scores.md.
"""

from __future__ import annotations

import csv
import hashlib
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import numpy as np

from apps.ml.scores.features import FEATURE_NAMES, REQUIRED, CBCFeatures

WBS_FILES = ("all_classes.csv", "blood_count_data.csv", "demographic_data.csv")
LAB_FILE = "cohort.csv"
LAB_COLUMNS = ("patient_id", "label", "anc", "mcv", "ne_wx", "hb", "plt", "sex", "age",
               "image_dir")
LAB_OPTIONAL = ("wbc", "mono")


class CohortError(ValueError):
    """The cohort folder is missing, of an unknown format, or malformed."""


@dataclass(frozen=True)
class Cohort:
    format: Literal["wbs_cbc", "lab"]
    ids: tuple[str, ...]
    y: np.ndarray  # int64 [N], 1 = MDS
    rows: tuple[CBCFeatures, ...]
    classes: tuple[str, ...]  # the source label of each patient (e.g. mds / anemia / normal)
    image_dirs: tuple[Path | None, ...]
    files: dict[str, str]  # file name -> sha256
    excluded: dict[str, list[str]] = field(default_factory=dict)  # reason -> patient ids

    def __len__(self) -> int:
        return len(self.ids)


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _num(text: str | None) -> float | None:
    """Numbers as written in the files; n.k. / n.d. / empty are missing."""
    if text is None:
        return None
    t = text.strip().replace(",", ".")
    if not t:
        return None
    try:
        v = float(t)
    except ValueError:
        return None
    return v if math.isfinite(v) else None


def _read(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8-sig") as fh:
        return list(csv.DictReader(fh))


def _sex(text: str | None) -> Literal["M", "F"] | None:
    t = (text or "").strip().lower()
    if t in ("m", "male"):
        return "M"
    if t in ("f", "female"):
        return "F"
    return None


def load_cohort(folder: Path, *, require: tuple[str, ...] = REQUIRED) -> Cohort:
    """Read ``folder``; patients lacking a ``require``-d feature go to ``excluded``."""
    folder = Path(folder)
    if not folder.is_dir():
        raise CohortError(f"cohort folder {folder} does not exist")
    if all((folder / f).is_file() for f in WBS_FILES):
        return _load_wbs(folder, require)
    if (folder / LAB_FILE).is_file():
        return _load_lab(folder, require)
    raise CohortError(
        f"{folder}: neither a wbs_cbc folder ({', '.join(WBS_FILES)}) nor a lab cohort "
        f"({LAB_FILE})"
    )


def _finish(fmt, folder, files, entries, require) -> Cohort:  # type: ignore[no-untyped-def]
    ids, ys, rows, classes, dirs = [], [], [], [], []
    excluded: dict[str, list[str]] = {}
    for pid, y, row, cls, image_dir in entries:
        missing = [r for r in require if row.values()[r] is None]
        if missing:
            excluded.setdefault(f"missing {', '.join(missing)}", []).append(pid)
            continue
        ids.append(pid)
        ys.append(y)
        rows.append(row)
        classes.append(cls)
        dirs.append(image_dir)
    if not ids:
        raise CohortError(f"{folder}: no usable patient")
    return Cohort(fmt, tuple(ids), np.asarray(ys, dtype=np.int64), tuple(rows), tuple(classes),
                  tuple(dirs), files, excluded)


def _load_wbs(folder: Path, require: tuple[str, ...]) -> Cohort:
    classes = _read(folder / "all_classes.csv")
    counts = {r["id"]: r for r in _read(folder / "blood_count_data.csv")}
    demo = {r["id"]: r for r in _read(folder / "demographic_data.csv")}
    files = {f: _sha256(folder / f) for f in WBS_FILES}
    entries = []
    for c in sorted(classes, key=lambda r: r["id"]):
        pid = c["id"]
        coarse = c["coarse_class"].strip().lower()
        if coarse not in ("mds", "anemia", "normal"):
            raise CohortError(f"{pid}: unknown coarse_class {coarse!r}")
        b, d = counts.get(pid, {}), demo.get(pid, {})
        wbc_ul = _num(b.get("wbc_ul"))
        wbc = wbc_ul / 1000.0 if wbc_ul is not None else None  # per µL -> 10^9/L
        plt_ul = _num(b.get("plt_ul"))
        stabs, segs = _num(b.get("stabs_perc")), _num(b.get("segs_perc"))
        mono_pc = _num(b.get("monocytes_perc"))
        anc = wbc * (stabs + segs) / 100.0 if None not in (wbc, stabs, segs) else None  # type: ignore[operator]
        mono = wbc * mono_pc / 100.0 if None not in (wbc, mono_pc) else None  # type: ignore[operator]
        row = CBCFeatures(
            anc=anc, hb=_num(b.get("hb_g_dl")),
            plt=plt_ul / 1000.0 if plt_ul is not None else None,
            wbc=wbc, mono=mono, age=_num(d.get("age")), sex=_sex(d.get("sex")),
        )
        entries.append((pid, int(coarse == "mds"), row, coarse, None))
    return _finish("wbs_cbc", folder, files, entries, require)


def _load_lab(folder: Path, require: tuple[str, ...]) -> Cohort:
    path = folder / LAB_FILE
    rows = _read(path)
    if not rows:
        raise CohortError(f"{path}: empty")
    lacking = set(LAB_COLUMNS) - set(rows[0])
    if lacking:
        raise CohortError(f"{path}: missing columns {sorted(lacking)}")
    entries = []
    seen = set()
    for n, r in enumerate(rows, start=2):
        pid = r["patient_id"].strip()
        if not pid or pid in seen:
            raise CohortError(f"{path} line {n}: empty or duplicate patient_id")
        seen.add(pid)
        label = r["label"].strip().lower()
        if label not in ("mds", "not_mds"):
            raise CohortError(f"{path} line {n}: label must be mds or not_mds, not {label!r}")
        rel = (r.get("image_dir") or "").strip()
        image_dir = None
        if rel:
            image_dir = (folder / rel).resolve()
            if folder.resolve() not in image_dir.parents:
                raise CohortError(f"{path} line {n}: image_dir must stay inside the cohort")
        row = CBCFeatures(
            anc=_num(r.get("anc")), hb=_num(r.get("hb")), plt=_num(r.get("plt")),
            wbc=_num(r.get("wbc")), mono=_num(r.get("mono")), age=_num(r.get("age")),
            sex=_sex(r.get("sex")), mcv=_num(r.get("mcv")), ne_wx=_num(r.get("ne_wx")),
        )
        entries.append((pid, int(label == "mds"), row, label, image_dir))
    return _finish("lab", folder, {LAB_FILE: _sha256(path)}, entries, require)


def training_ranges(cohort: Cohort) -> dict[str, list[float] | None]:
    """Each feature's lowest and highest value among the patients the model is fitted on
    (None when no patient has it), to 10 significant digits: the runtime calls a CBC with a
    value outside them indeterminate, since the model never saw such a count. Here, not with
    the export, so that the card can be checked against the cohort without the ONNX tools."""
    out: dict[str, list[float] | None] = {}
    for name in FEATURE_NAMES:
        seen = [v for v in (row.values()[name] for row in cohort.rows) if v is not None]
        out[name] = [float(f"{min(seen):.10g}"), float(f"{max(seen):.10g}")] if seen else None
    return out
