"""The case page says plainly when the smear's images are outside the domain the cell model was
validated on (a banner with the counts, a marker on each such cell with its reason), in French
and in English, and says the check is not available for a model without one."""

from __future__ import annotations

import html
import re

from apps.analysis.models import AnalysisRun, CellPrediction
from tests.helpers import case_page_html

BANNER_EN = ("These images are outside the domain the model was validated on (4 of 6 images): "
             "the model's classes and the scores that depend on them are not reliable.")
BANNER_FR = "Ces images sont hors du domaine sur lequel le modèle a été validé (4 images sur 6)"


def _page(client, user, specimen, language):  # type: ignore[no-untyped-def]
    return " ".join(case_page_html(client, user, specimen, language).split())


def test_the_banner_and_cell_markers_in_english(client, biologist, outside):
    page = _page(client, biologist, outside, "en")
    assert BANNER_EN in page
    # With the smear outside, an image inside waits too: the count says of what, not "N of
    # them" after "4 of 6 images" outside.
    assert ("With the smear outside, no image is counted on the model's class alone: 4 of its 6 "
            "images are not counted until you confirm or reclassify them.") in html.unescape(page)
    assert "of them" not in page
    assert 'data-domain="outside"' in page
    assert len(re.findall(r'data-domain-flag="outside_features"', page)) == 3
    assert len(re.findall(r'data-domain-flag="no_stain"', page)) == 1
    assert "no white cell found: no stained nucleus in the image" in page
    assert "outside the validated domain: unlike the images the model was validated on" in page
    # Each of the 3 cells outside shows the model's class as a suggestion, as the specimen's
    # gallery does, without the probability that does not hold for it; the image without a
    # white cell, none.
    suggestions = re.findall(r'<figure class="cell[^"]*"[^>]*>(?:(?!</figure>).)*?'
                             r'<span class="prediction suggestion"[^>]*>([^<]+)</span>', page)
    assert sorted(s.strip() for s in suggestions) == ["Lymphocyte", "Neutrophil", "Neutrophil"]


def test_the_banner_and_cell_markers_in_french(client, biologist, outside):
    page = _page(client, biologist, outside, "fr")
    assert BANNER_FR in page
    assert ("Le frottis étant hors du domaine, aucune image n'est comptée sur la seule classe du "
            "modèle : 4 de ses 6 images ne sont comptées qu'une fois confirmées ou "
            "reclassées.") in html.unescape(page)  # (its spaces made plain by _page)
    assert "outside the domain" not in page
    assert "aucun leucocyte trouvé" in page
    assert "no white cell found" not in page


def test_inside_the_domain_there_is_no_warning(client, biologist, analysed):
    AnalysisRun.objects.filter(specimen=analysed).update(domain_max_outside=0.2)
    CellPrediction.objects.filter(cell__specimen=analysed).update(
        view="found", in_domain=True, domain_score=0.4)
    page = _page(client, biologist, analysed, "en")
    assert 'data-domain="inside"' in page and 'role="alert"' not in page
    assert "data-domain-flag" not in page


def test_a_model_without_domain_check_is_said_so_never_inside(client, biologist, analysed):
    # The fixture's predictions carry no domain check, as the 1.3.0 model's do.
    page = _page(client, biologist, analysed, "en")
    assert "Domain check not available for this model." in page
    assert 'data-domain="inside"' not in page and 'data-domain="outside"' not in page
    page = _page(client, biologist, analysed, "fr")
    assert "Contrôle du domaine non disponible pour ce modèle." in page


def test_a_smear_inside_with_a_few_images_outside_says_they_wait(client, biologist, analysed):
    """Inside as a whole, yet 1 of 6 images outside: the banner does not read as all clear."""
    AnalysisRun.objects.filter(specimen=analysed).update(domain_max_outside=0.25)
    CellPrediction.objects.filter(cell__specimen=analysed).update(
        view="found", in_domain=True, domain_score=0.4)
    first = CellPrediction.objects.filter(cell__specimen=analysed).order_by("cell_id").first()
    CellPrediction.objects.filter(pk=first.pk).update(in_domain=False, domain_score=3.0)
    page = " ".join(_page(client, biologist, analysed, "en").split())
    assert 'data-domain="inside"' in page
    assert ("but 1 of its 6 images is outside it. It is not counted until you confirm or "
            "reclassify it.") in page
    page = " ".join(_page(client, biologist, analysed, "fr").split()).replace("&#x27;", "'")
    assert ("mais 1 de ses 6 images n'y est pas. Elle n'est comptée qu'une fois confirmée ou "
            "reclassée.") in page


def test_once_confirmed_the_banner_no_longer_says_it_waits(client, biologist, analysed):
    """The banner is part of the signed report: after the biologist confirmed the image outside,
    it must not say that image is still left out of the count."""
    AnalysisRun.objects.filter(specimen=analysed).update(domain_max_outside=0.5)
    CellPrediction.objects.filter(cell__specimen=analysed).update(
        view="found", in_domain=True, domain_score=0.4)
    first, second = CellPrediction.objects.filter(
        cell__specimen=analysed).order_by("cell_id").select_related("cell")[:2]
    CellPrediction.objects.filter(pk__in=[first.pk, second.pk]).update(
        in_domain=False, domain_score=3.0)
    type(first.cell).objects.filter(pk=first.cell_id).update(
        reviewed_class="neutrophil", reviewed_by=biologist)
    page = _page(client, biologist, analysed, "en")
    assert ("but 2 of its 6 images are outside it. 1 of them is not counted until you confirm "
            "or reclassify it.") in page
    type(first.cell).objects.filter(pk=second.cell_id).update(
        reviewed_class="lymphocyte", reviewed_by=biologist)
    page = _page(client, biologist, analysed, "en")
    assert ("but 2 of its 6 images are outside it. Each was confirmed or reclassified by a "
            "biologist before it was counted.") in page and "not counted" not in page
    page = _page(client, biologist, analysed, "fr").replace("&#x27;", "'")
    assert "Chacune a été confirmée ou reclassée par un biologiste avant d'être comptée." in page
