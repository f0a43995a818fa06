"""Words for the domain check's codes, in the reader's language.

apps.ml writes codes only: the canonical view's reasons (apps.ml.canonical) and the per-cell
domain codes (apps.ml.domain). A cell is flagged by ``CellPrediction.domain_flag``; these are
the labels the case page, the report and the score reasons print for those codes.
"""

from __future__ import annotations

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from apps.ml.canonical import NO_STAIN, TOO_LARGE, TOO_SMALL
from apps.ml.domain import CELL_OUTSIDE, CELL_SMEAR_OUTSIDE, SPECIMEN_OUTSIDE

CELL_FLAGS: dict[str, Promise] = {
    NO_STAIN: _("no white cell found: no stained nucleus in the image"),
    TOO_SMALL: _("no white cell found: the stained region is too small for a nucleus"),
    TOO_LARGE: _("no white cell found: the stained region fills the image"),
    CELL_OUTSIDE: _("outside the validated domain: unlike the images the model was "
                    "validated on"),
    CELL_SMEAR_OUTSIDE: _("its smear is outside the validated domain: this image passed the "
                          "check, but too many of its smear's did not, so its class is not "
                          "counted until you confirm it"),
}


# A cell's flag where its card has little room (the report's key cells, below the banner that
# says what the domain is): the reason a white cell was not found stays whole.
CELL_FLAGS_SHORT: dict[str, Promise] = {
    CELL_OUTSIDE: _("outside the validated domain"),
    CELL_SMEAR_OUTSIDE: _("its smear is outside the validated domain"),
}


# The specimen's verdict in a few words, where a line has no room for the banner's sentence
# (the worklist's reasons); only a specimen outside the domain is named.
SPECIMEN_SHORT: dict[str, Promise] = {
    SPECIMEN_OUTSIDE: _("images outside the validated domain"),
}


def specimen_domain_short(domain: dict[str, object] | None) -> str:
    """A few words for a specimen's domain verdict (specimen_domain_latest); "" when there is
    nothing to say (inside, unchecked, no finished analysis)."""
    if not domain:
        return ""
    text = SPECIMEN_SHORT.get(str(domain.get("code")))
    return "" if text is None else str(text)


def cell_flag_text(code: str | None, *, short: bool = False) -> str:
    """The label of a cell's domain flag; "" for none (an unlisted code is a view reason).
    ``short``: CELL_FLAGS_SHORT's words where it has them."""
    if not code:
        return ""
    if short and code in CELL_FLAGS_SHORT:
        return str(CELL_FLAGS_SHORT[code])
    return str(CELL_FLAGS.get(code, _("no white cell found: %(reason)s") % {"reason": code}))
