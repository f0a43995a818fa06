"""Cytopenia as the 2022 classifications of myeloid neoplasms (WHO 5th edition and ICC) define
it for myelodysplastic neoplasms: haemoglobin < 13 g/dL in men and < 12 g/dL in women,
absolute neutrophil count < 1.8 x 10^9/L, platelets < 150 x 10^9/L (each strictly below).

One rule for every score that reads it: the VEXAS rule's anaemia and thrombocytopenia parts,
and the CBC MDS model, which is not scored on a count without any cytopenia (an MDS needs at
least one; on its training cohort the model otherwise flags healthy older men on age and sex).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

HB_MALE_G_DL = 13.0
HB_FEMALE_G_DL = 12.0
ANC_10_9_L = 1.8
PLT_10_9_L = 150.0


def hb_cutoff(sex: str | None) -> float | None:
    """The anaemia cut-off for ``sex`` (M or F); None when the sex is not known."""
    return {"M": HB_MALE_G_DL, "F": HB_FEMALE_G_DL}.get(sex or "")


def no_cytopenia(hb: float | None, anc: float | None, plt: float | None,
                 sex: str | None) -> Mapping[str, Any] | None:
    """The count's figures and the cut-offs they are at or above when it shows no cytopenia;
    None when it shows one or when that cannot be told (a value not measured; a haemoglobin
    between the two sexes' cut-offs with the sex unknown)."""
    if hb is None or anc is None or plt is None:
        return None
    cut = hb_cutoff(sex)
    if cut is None:
        cut = HB_MALE_G_DL  # sex unknown: the higher cut-off, so no anaemia is missed
    if hb < cut or anc < ANC_10_9_L or plt < PLT_10_9_L:
        return None
    return {"hb": hb, "anc": anc, "plt": plt, "hb_cutoff": cut, "anc_cutoff": ANC_10_9_L,
            "plt_cutoff": PLT_10_9_L, "sex": sex or ""}
