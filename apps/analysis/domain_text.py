"""Words for the domain check's codes, in the reader's language.

apps.ml writes codes only: the canonical view's reasons (apps.ml.canonical) and the per-cell
domain codes (apps.ml.domain). A cell is flagged by ``CellPrediction.domain_flag``; these are
the labels the case page, the report and the score reasons print for those codes.
"""

from __future__ import annotations

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from apps.ml.canonical import NO_STAIN, TOO_LARGE, TOO_SMALL
from apps.ml.domain import CELL_OUTSIDE

CELL_FLAGS: dict[str, Promise] = {
    NO_STAIN: _("no white cell found: no stained nucleus in the image"),
    TOO_SMALL: _("no white cell found: the stained region is too small for a nucleus"),
    TOO_LARGE: _("no white cell found: the stained region fills the image"),
    CELL_OUTSIDE: _("outside the validated domain: unlike the images the model was "
                    "validated on"),
}


def cell_flag_text(code: str | None) -> str:
    """The label of a cell's domain flag; "" for none (an unlisted code is a view reason)."""
    if not code:
        return ""
    return str(CELL_FLAGS.get(code, _("no white cell found: %(reason)s") % {"reason": code}))
