"""The white-cell differential as a haematologist reports it: per 100 white cells.

One rule, used by the case page, the report, the export and the LIS message:
- the denominator is the white cells counted (neutrophils, lymphocytes, monocytes,
  eosinophils, basophils, immature granulocytes, and any other white-cell class a reviewer
  sets); erythroblasts and platelets are not white cells and stay out of it;
- erythroblasts are reported as NRBC per 100 white cells; platelets (and other non-white
  objects) are only counted as excluded;
- cells without a class yet (not analysed, or analysis failed) are reported apart;
- the target count (100 or 200 white cells, a setting) is compared with what was counted:
  fewer means the percentages rest on a smaller count than the lab asks for.

Pure: final classes in (``Cell.final_class``), numbers out.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass

WBC_CLASSES: tuple[str, ...] = ("neutrophil", "lymphocyte", "monocyte", "eosinophil",
                                "basophil", "ig")
NRBC_CLASS = "erythroblast"
NOT_WBC: frozenset[str] = frozenset({NRBC_CLASS, "platelet"})


@dataclass(frozen=True)
class Differential:
    wbc_counted: int
    counts: dict[str, int]  # per white-cell class, in WBC_CLASSES order then others
    per_100_wbc: dict[str, float]  # same keys, one decimal
    nrbc: int
    nrbc_per_100_wbc: float | None
    excluded: dict[str, int]  # non-white objects left out of the denominator (platelets)
    unclassified: int
    target: int
    short_of_target: bool

    def as_dict(self) -> dict[str, object]:
        return {
            "wbc_counted": self.wbc_counted, "counts": dict(self.counts),
            "per_100_wbc": dict(self.per_100_wbc), "nrbc": self.nrbc,
            "nrbc_per_100_wbc": self.nrbc_per_100_wbc, "excluded": dict(self.excluded),
            "unclassified": self.unclassified, "target": self.target,
            "short_of_target": self.short_of_target,
        }


def differential_count(final_classes: Iterable[str | None], *, target: int) -> Differential:
    """The differential of cells whose final classes are given ('' or None: unclassified)."""
    if target < 1:
        raise ValueError("the target count must be at least 1")
    tally = Counter(c or "" for c in final_classes)
    unclassified = tally.pop("", 0)
    nrbc = tally.pop(NRBC_CLASS, 0)
    excluded = {c: tally.pop(c) for c in sorted(NOT_WBC - {NRBC_CLASS}) if c in tally}
    others = sorted(c for c in tally if c not in WBC_CLASSES)
    order = [*WBC_CLASSES, *others]
    counts = {c: tally.get(c, 0) for c in order}
    wbc = sum(counts.values())

    def per_100(n: int) -> float:
        return round(100.0 * n / wbc, 1)

    return Differential(
        wbc_counted=wbc,
        counts=counts,
        per_100_wbc={c: per_100(n) for c, n in counts.items()} if wbc else {},
        nrbc=nrbc,
        nrbc_per_100_wbc=per_100(nrbc) if wbc else None,
        excluded=excluded,
        unclassified=unclassified,
        target=target,
        short_of_target=wbc < target,
    )
