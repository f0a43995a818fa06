"""The white-cell differential as a haematologist reports it: per 100 white cells.

One rule, used by the case page, the report, the export and the LIS message:
- the denominator is the white cells counted (neutrophils, lymphocytes, monocytes,
  eosinophils, basophils, immature granulocytes, and any other white-cell class a reviewer
  sets); erythroblasts and platelets are not white cells and stay out of it;
- erythroblasts are reported as NRBC per 100 white cells; platelets (and other non-white
  objects) are only counted as excluded;
- band neutrophils (a class only the biologist gives) are neutrophils: in the neutrophils'
  count and share, and reported beside it ("of which band forms");
- cells without a class yet (not analysed, or analysis failed) are reported apart;
- the target count (100 or 200 white cells, a setting) is compared with what was counted:
  fewer means the percentages rest on a smaller count than the lab asks for;
- beside the analyser's white cell count, each share gives an absolute count (x10^9/L), and
  the analyser's automated differential is compared with the smear's: a share outside the 95 %
  interval of the smear count is a difference its size does not explain.

The scanner's pre-classification (its class folders, ``Cell.analyser_class``) goes through
the same rule once its folders are read as classes (``scanner_class``); a folder that names no
class is counted as not mapped, never as a class of its own nor as a zero.

Pure: final classes in (``Cell.final_class``), numbers out.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal

from apps.core.numbers import half_up

WBC_CLASSES: tuple[str, ...] = ("neutrophil", "lymphocyte", "monocyte", "eosinophil",
                                "basophil", "ig")
# White cells only a biologist names (no cell model has the class): in the denominator, listed
# (and sent) only when counted, never as a "0" the model could not have found.
REVIEW_ONLY_WBC: tuple[str, ...] = ("blast",)
NRBC_CLASS = "erythroblast"
# A band (non-segmented) neutrophil, as the biologist classifies it (the cell model names no
# class for it): a neutrophil, counted in the neutrophils' share and reported beside it as
# "of which band forms" (a left shift), never as a white-cell class of its own.
BAND = "band_neutrophil"
NEUTROPHIL_FORMS: frozenset[str] = frozenset({"neutrophil", BAND})


def is_neutrophil(cls: str | None) -> bool:
    """Whether a final class is a neutrophil (segmented, band, or not told apart)."""
    return cls in NEUTROPHIL_FORMS


def wbc_class(cls: str) -> str:
    """The differential's class of a final class: a band neutrophil is a neutrophil."""
    return "neutrophil" if cls == BAND else cls
# Smudge cells: no class of the model or of the review, but a scanner folder; a broken cell is
# not counted as a white cell.
# An artefact (a reviewer's class: an image with no cell, debris, a stain precipitate) is none.
NOT_WBC: frozenset[str] = frozenset({NRBC_CLASS, "platelet", "smudge", "artefact"})


INTERVAL_Z = 1.959963984540054  # two-sided 95 %


def per_100_interval(count: int, counted: int) -> tuple[float, float] | None:
    """The 95 % interval of ``count`` per 100 of ``counted`` white cells (Wilson's score
    interval: a share of a small count is imprecise, 2 of 38 is anywhere from 1.5 to 17 per
    100); None with nothing counted."""
    if counted <= 0 or not 0 <= count <= counted:
        return None
    p, z2 = count / counted, INTERVAL_Z * INTERVAL_Z
    centre = (p + z2 / (2 * counted)) / (1 + z2 / counted)
    half = INTERVAL_Z * math.sqrt(p * (1 - p) / counted + z2 / (4 * counted * counted)) \
        / (1 + z2 / counted)
    # None of the cells or all of them: the interval ends at 0 or 100 exactly (the formula's
    # difference of two equal terms leaves a rounding error, 7e-16, above 0).
    low = 0.0 if count == 0 else 100 * max(0.0, centre - half)
    high = 100.0 if count == counted else 100 * min(1.0, centre + half)
    return low, high


# A white cell of no listed class, in the denominator; the biologist may name it (Cell.
# reviewed_name: a plasma cell), and the report says what the "other" cells were.
OTHER = "other"
# Smudge cells (Gumprecht shadows, a biologist's class): broken cells, not counted as white cells
# but reported per 100 of them, as in chronic lymphocytic leukaemia.
SMUDGE = "smudge"


def per_100_of(count: int, counted: int) -> float | None:
    """``count`` objects per 100 white cells counted, one decimal (None with none counted)."""
    return round(100.0 * count / counted, 1) if counted > 0 else None


def shares_per_100(counts: dict[str, int]) -> dict[str, float]:
    """Each class's share of the white cells, in tenths that add up to exactly 100.0 (the
    largest-remainder rule): 1, 1 and 1 of 3 read 33.4, 33.3 and 33.3, not three 33.3 that a
    signed differential would print summing to 99.9. Each share is its exact value rounded down
    or up, never further; ties for the last tenths go to the larger count, then in order."""
    total = sum(counts.values())
    if total <= 0:
        return {}
    exact = {c: 1000 * n / total for c, n in counts.items()}
    tenths = {c: math.floor(v) for c, v in exact.items()}
    left = 1000 - sum(tenths.values())
    # sorted() is stable: equal remainders and counts keep the classes' order.
    by_remainder = sorted(counts, key=lambda c: (-(exact[c] - tenths[c]), -counts[c]))
    for c in by_remainder[:left]:
        tenths[c] += 1
    return {c: t / 10 for c, t in tenths.items()}


def adjusted_shares(counts: dict[str, int], shares: dict[str, float]) -> list[str]:
    """The classes whose share (``shares_per_100``) is not their own count rounded to the
    tenth (half up): those the largest-remainder rule moved by 0.1 so that the shares add up to
    100.0 (7 of 98 reads 7.2, not 7.1). A reader checking one share by hand is told why."""
    total = sum(counts.values())
    if total <= 0:
        return []
    return [c for c, n in counts.items()
            if c in shares and round(shares[c] * 10) != math.floor(1000 * n / total + 0.5)]


def names_in_order(names: dict[str, int] | None) -> list[tuple[str, int]]:
    """What the biologist named the cells classed "other", with how many: most first, then by
    name. A signed content's JSON column may keep its keys in any order (PostgreSQL's jsonb
    sorts them), so whatever prints or sends them orders them here."""
    return sorted((names or {}).items(), key=lambda kv: (-kv[1], kv[0]))


ABSOLUTE_DECIMALS = 2  # x10^9/L: an absolute count is printed and sent with two decimals


def absolute_count(per_100: float | None, wbc: float | None) -> float | None:
    """A class's absolute count (x10^9/L): its share of the white cells counted on the smear
    times the analyser's white cell count; None without either."""
    if per_100 is None or wbc is None or wbc < 0:
        return None
    return per_100 * wbc / 100.0


def absolute_figure(count: int, counted: int, wbc: float | None) -> float | None:
    """A class's absolute count as printed and sent: ``count`` of the ``counted`` white cells
    times the analyser's WBC, rounded to ABSOLUTE_DECIMALS. From the count itself, not its
    rounded share: 1, 1 and 1 of 3 cells beside a WBC of 4.00 are 1.33 each, not 1.34 for the
    share the rounding to 100.0 moved."""
    if counted <= 0 or wbc is None or wbc < 0:
        return None
    # In decimal, half up, as a laboratory rounds: 110 of 200 cells beside a WBC of 8.90 are
    # 4.895, printed 4.90 (binary floating point rounds it to 4.89).
    exact = Decimal(count) * Decimal(str(wbc)) / Decimal(counted)
    return half_up(exact, ABSOLUTE_DECIMALS)


def absolute_bounds(count: int, counted: int, wbc: float | None
                    ) -> tuple[float, float] | None:
    """The 95 % interval of a class's absolute count (``absolute_figure``): its share's
    (``per_100_interval``) times the WBC, rounded as printed; None without either."""
    shares = per_100_interval(count, counted)
    if shares is None or wbc is None or wbc < 0:
        return None
    low, high = (round(absolute_count(b, wbc) or 0.0, ABSOLUTE_DECIMALS) for b in shares)
    return low, high


# The key of what the "other" cells were named in a differential, and of an amendment's change
# in it (their share may stay: a plasma cell renamed a reactive lymphocyte is a correction).
OTHER_NAMES = "other_names"


# Classes that read abnormal whenever counted (a blast on a blood smear), whatever their share:
# flagged on the page, in the report and in the result message alike.
ABNORMAL_WHEN_PRESENT = frozenset({"blast"})
# Nucleated red cells (erythroblasts) in the blood read abnormal whenever counted from this age
# (completed years): a newborn's blood has them in its first days, an older child's or an
# adult's does not. Unknown age: not read so (nothing is claimed).
NRBC_ABNORMAL_FROM_AGE = 1


def nrbc_abnormal(nrbc: int, age: int | None) -> bool:
    """Whether ``nrbc`` erythroblasts counted beside the white cells read abnormal, for a
    patient of ``age`` (NRBC_ABNORMAL_FROM_AGE)."""
    return nrbc > 0 and age is not None and age >= NRBC_ABNORMAL_FROM_AGE


# The blood count's own absolute count of each smear class: its reference interval reads the
# smear's absolute count (the differential's "absolute_reference").
CBC_COUNT_OF_CLASS: dict[str, str] = {
    "neutrophil": "NEUT#", "lymphocyte": "LYMPH#", "monocyte": "MONO#", "eosinophil": "EO#",
    "basophil": "BASO#", "ig": "IG#"}


def outside_interval(count: int, counted: int, share: float | None) -> bool:
    """Whether another count's ``share`` (per 100, the analyser's automated differential) lies
    outside the 95 % interval of ``count`` of ``counted`` smear cells: a difference that the
    size of the smear count does not explain, so one of the two counts misses cells."""
    bounds = per_100_interval(count, counted)
    if bounds is None or share is None:
        return False
    # Against the interval as printed (one decimal): a share the page shows inside it is not
    # marked as outside it.
    return not round(bounds[0], 1) <= share <= round(bounds[1], 1)


@dataclass(frozen=True)
class Differential:
    wbc_counted: int
    counts: dict[str, int]  # per white-cell class, in WBC_CLASSES order then others
    per_100_wbc: dict[str, float]  # same keys, in tenths adding up to 100.0 (shares_per_100)
    nrbc: int
    nrbc_per_100_wbc: float | None
    excluded: dict[str, int]  # non-white objects left out of the denominator (platelets)
    unclassified: int
    target: int
    short_of_target: bool
    # Band neutrophils among the neutrophils (already in their count): a left shift.
    bands: int = 0
    bands_per_100_wbc: float | None = None

    def as_dict(self) -> dict[str, object]:
        return {
            "wbc_counted": self.wbc_counted, "counts": dict(self.counts),
            "per_100_wbc": dict(self.per_100_wbc), "nrbc": self.nrbc,
            "nrbc_per_100_wbc": self.nrbc_per_100_wbc, "excluded": dict(self.excluded),
            "unclassified": self.unclassified, "target": self.target,
            "short_of_target": self.short_of_target,
            "bands": self.bands, "bands_per_100_wbc": self.bands_per_100_wbc,
        }


def _band_share(bands: int, neutrophils: int, shares: dict[str, float],
                wbc: int) -> float | None:
    """The band forms per 100 white cells: among the neutrophils, never above their share
    (rounded down or up so that the differential adds up), and that very share when every
    neutrophil is a band form."""
    if not wbc:
        return None
    if bands == neutrophils:
        return shares["neutrophil"]
    return min(per_100_of(bands, wbc) or 0.0, shares["neutrophil"])


def differential_count(final_classes: Iterable[str | None], *, target: int) -> Differential:
    """The differential of cells whose final classes are given ('' or None: unclassified)."""
    if target < 1:
        raise ValueError("the target count must be at least 1")
    tally = Counter(c or "" for c in final_classes)
    bands = tally.pop(BAND, 0)
    if bands:
        tally["neutrophil"] += bands
    unclassified = tally.pop("", 0)
    nrbc = tally.pop(NRBC_CLASS, 0)
    excluded = {c: tally.pop(c) for c in sorted(NOT_WBC - {NRBC_CLASS}) if c in tally}
    others = sorted(c for c in tally if c not in WBC_CLASSES)
    order = [*WBC_CLASSES, *others]
    counts = {c: tally.get(c, 0) for c in order}
    wbc = sum(counts.values())

    shares = shares_per_100(counts)
    return Differential(
        wbc_counted=wbc,
        counts=counts,
        per_100_wbc=shares,
        nrbc=nrbc,
        nrbc_per_100_wbc=per_100_of(nrbc, wbc),
        bands=bands,
        bands_per_100_wbc=_band_share(bands, counts["neutrophil"], shares, wbc),
        excluded=excluded,
        unclassified=unclassified,
        target=target,
        short_of_target=wbc < target,
    )


# The scanner's class folders (CellaVision and the names labs give them) read as classes, in
# lower case with "_" and "-" as spaces; the singular or the plural. A folder not listed names
# no class ("Unidentified", "Artefacts", another lab's own names): not mapped.
_SCANNER_FOLDERS: dict[str, str] = {
    **{name: name for name in (*WBC_CLASSES, *REVIEW_ONLY_WBC, NRBC_CLASS, "platelet")},
    "segmented neutrophil": "neutrophil", "band neutrophil": BAND,
    "neutrophil, segmented": "neutrophil", "neutrophil, band": BAND, "stab": BAND,
    "immature granulocyte": "ig", "promyelocyte": "ig", "myelocyte": "ig",
    "metamyelocyte": "ig", "blast cell": "blast", "myeloblast": "blast",
    "lymphoblast": "blast",
    "nrbc": NRBC_CLASS, "nucleated red blood cell": NRBC_CLASS,
    "thrombocyte": "platelet", "giant thrombocyte": "platelet", "giant platelet": "platelet",
    "thrombocyte aggregation": "platelet", "platelet aggregation": "platelet",
    "platelet clump": "platelet",
    "smudge": "smudge", "smudge cell": "smudge",
}


# The folders of a scanner that sorts its neutrophils into band and segmented forms: an export
# holding one of them says how many band forms the scanner found, none included. An export
# whose neutrophils are in one "Neutrophils" folder does not separate them.
_SEPARATES_BANDS = frozenset({"segmented neutrophil", "neutrophil, segmented"})


def _folder_name(folder: str | None) -> str:
    """A class folder's name as the map reads it: lower case, "_" and "-" as spaces, singular
    when the plural is not listed."""
    name = " ".join((folder or "").lower().replace("_", " ").replace("-", " ").split())
    if name not in _SCANNER_FOLDERS and name not in _SEPARATES_BANDS and name.endswith("s"):
        name = name[:-1]
    return name


def scanner_class(folder: str | None) -> str:
    """The class a scanner's class folder names, or '' when it names none."""
    return _SCANNER_FOLDERS.get(_folder_name(folder), "")


def separates_bands(folders: Iterable[str]) -> bool:
    """Whether a scanner's export sorts its neutrophils into band and segmented forms (a band or
    a segmented-neutrophil folder): only then is its count of band forms a figure, zero
    included."""
    return any(scanner_class(f) == BAND or _folder_name(f) in _SEPARATES_BANDS
               for f in folders)


@dataclass(frozen=True)
class ScannerDifferential:
    """The scanner's pre-classification per 100 of the white cells it mapped to a class.

    A figure is given only where the scanner said something: with every cell mapped, a class
    it found none of is a real zero; with cells not mapped, such a class is unknown (they may
    be among them) and is left out of `per_100_wbc`, as is the NRBC figure."""
    differential: Differential
    per_100_wbc: dict[str, float]
    nrbc_per_100_wbc: float | None
    unmapped: int
    unmapped_folders: dict[str, int]  # folder name -> cells, largest first
    separates_bands: bool = True  # separates_bands(folders)

    def as_dict(self) -> dict[str, object]:
        d = self.differential
        return {
            "wbc_counted": d.wbc_counted, "counts": dict(d.counts),
            "per_100_wbc": dict(self.per_100_wbc), "nrbc": d.nrbc,
            "nrbc_per_100_wbc": self.nrbc_per_100_wbc, "excluded": dict(d.excluded),
            "unmapped": self.unmapped, "unmapped_folders": dict(self.unmapped_folders),
            # Its band-neutrophil folder, under the same rule: none found is a zero only when
            # every cell was mapped, and only from a scanner that sorts out band forms.
            "bands": d.bands, "bands_per_100_wbc": d.bands_per_100_wbc
            if d.bands or (not self.unmapped and self.separates_bands) else None,
        }


def scanner_differential(folders: Iterable[str], *, target: int) -> ScannerDifferential:
    """The differential of the scanner's class folders (one per cell it pre-classified)."""
    folders = list(folders)
    classes = [scanner_class(f) for f in folders]
    unmapped = Counter(f for f, c in zip(folders, classes, strict=True) if not c)
    d = differential_count([c for c in classes if c], target=target)
    missing = sum(unmapped.values())
    return ScannerDifferential(
        differential=d,
        per_100_wbc={c: v for c, v in d.per_100_wbc.items() if not missing or d.counts[c]},
        nrbc_per_100_wbc=d.nrbc_per_100_wbc if not missing or d.nrbc else None,
        unmapped=missing,
        unmapped_folders=dict(sorted(unmapped.items(), key=lambda kv: (-kv[1], kv[0]))),
        separates_bands=separates_bands(folders),
    )
