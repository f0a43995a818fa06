"""A cell the model classes otherwise than the slide scanner's pre-classification (CellaVision's
class folder) is marked on the case page, and counted above the gallery, until a biologist
reviews it: one of the two is wrong (a band neutrophil called an erythroblast adds to the NRBC
count), and nothing else would point at it."""

from __future__ import annotations

import re

from apps.analysis.models import CellPrediction
from apps.smears.models import Cell
from tests.helpers import case_page_html


def _page(client, user, specimen, language):  # type: ignore[no-untyped-def]
    return " ".join(case_page_html(client, user, specimen, language).split())


def _call_first_neutrophil_an_erythroblast(specimen) -> Cell:  # type: ignore[no-untyped-def]
    cell = Cell.objects.filter(specimen=specimen, analyser_class="neutrophil").order_by("pk")[0]
    CellPrediction.objects.filter(cell=cell).update(cell_class="erythroblast",
                                                    class_probs={"erythroblast": 0.9})
    return cell


def test_a_disagreement_is_marked_and_counted(client, biologist, analysed):
    assert "scanner-differs" not in _page(client, biologist, analysed, "en")
    cell = _call_first_neutrophil_an_erythroblast(analysed)
    page = _page(client, biologist, analysed, "en")
    marked = re.findall(r'<figure class="cell scanner-differs" tabindex="0" data-cell="(\d+)"',
                        page)
    assert marked == [str(cell.pk)]
    assert "≠ scanner: Neutrophil" in page
    assert ("1 cell not yet reviewed is classed otherwise by the model and by the slide scanner "
            "(marked ≠): one of the two is wrong, read it first.") in page
    french = _page(client, biologist, analysed, "fr")
    assert "≠ pré-classement : Polynucléaire neutrophile" in french
    assert "1 cellule non encore relue est classée autrement" in french


def test_once_reviewed_the_cell_is_no_longer_marked(client, biologist, analysed):
    cell = _call_first_neutrophil_an_erythroblast(analysed)
    Cell.objects.filter(pk=cell.pk).update(reviewed_class="neutrophil")
    page = _page(client, biologist, analysed, "en")
    assert "scanner-differs" not in page and "classed otherwise" not in page


def test_a_cell_outside_the_validated_domain_is_not_marked(client, biologist, analysed):
    """Its class is a suggestion, not counted (it waits for the biologist anyway): comparing it
    with the scanner's would point at a disagreement nobody counts."""
    cell = _call_first_neutrophil_an_erythroblast(analysed)
    CellPrediction.objects.filter(cell=cell).update(in_domain=False, domain_score=3.0,
                                                    view="found")
    page = _page(client, biologist, analysed, "en")
    assert "scanner-differs" not in page and "classed otherwise" not in page


def test_validation_waits_for_the_disagreement_to_be_read(client, biologist, analysed):
    """A case was validated with the disagreeing cells unread, counted in the model's class (an
    immature granulocyte on a normal smear): validating now waits for them; rejecting does
    not (it releases no count)."""
    from apps.review.services import sign_blockers_by_meaning

    blocker = ("1 cell is classed otherwise by the model and by the slide scanner (marked ≠) "
               "and is not reviewed yet: confirm or reclassify it before validating.")
    assert blocker not in sign_blockers_by_meaning(analysed)["validated"]
    cell = _call_first_neutrophil_an_erythroblast(analysed)
    blockers = sign_blockers_by_meaning(analysed)
    assert blocker in blockers["validated"] and blocker not in blockers["rejected"]
    assert blocker in _page(client, biologist, analysed, "en")
    assert "1 cellule est classée autrement par le modèle" in _page(client, biologist, analysed,
                                                                   "fr")
    Cell.objects.filter(pk=cell.pk).update(reviewed_class="erythroblast")   # read: confirmed
    assert blocker not in sign_blockers_by_meaning(analysed)["validated"]
