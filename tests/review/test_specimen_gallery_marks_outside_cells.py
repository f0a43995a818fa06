"""The specimen page's cell gallery (the technician's view) marks each cell whose image is outside
the cell model's validated domain as the case page does (one partial, one rule:
CellPrediction.domain_flag), in French and in English; a cell inside the domain has no marker.
Its caption keeps the model's probability (inside the domain only) in an element of its own,
which the layout never cuts: in French the class names are long."""

from __future__ import annotations

import re

import pytest

from apps.analysis.models import CellPrediction

FIGURE = re.compile(r'<figure class="cell" data-cell="(\d+)">(.*?)</figure>', re.S)


def _figures(client, user, specimen, language):  # type: ignore[no-untyped-def]
    client.force_login(user)
    client.post("/i18n/setlang/", {"language": language, "next": "/"})
    response = client.get(f"/specimens/{specimen.accession}/")
    assert response.status_code == 200
    page = " ".join(response.content.decode().split())
    return {int(pk): body for pk, body in FIGURE.findall(page)}


def _ids(specimen):  # type: ignore[no-untyped-def]
    return [p.cell_id for p in CellPrediction.objects.filter(
        cell__specimen=specimen).order_by("cell_id")]


@pytest.mark.parametrize(("language", "outside_word", "no_cell_word", "title"), [
    ("en", ">outside<", ">no white cell<",
     "outside the validated domain: unlike the images the model was validated on"),
    ("fr", ">hors domaine<", ">pas de leucocyte<",
     "hors du domaine validé"),
])
def test_outside_cells_are_marked_and_inside_cells_are_not(client, technician, outside,
                                                           language, outside_word,
                                                           no_cell_word, title):
    figures = _figures(client, technician, outside, language)
    ids = _ids(outside)
    assert sorted(figures) == sorted(ids)
    no_cell, *unlike = ids[:4]
    assert 'data-domain-flag="no_stain"' in figures[no_cell] and no_cell_word in figures[no_cell]
    for pk in unlike:
        assert 'data-domain-flag="outside_features"' in figures[pk], figures[pk]
        assert outside_word in figures[pk]
        assert title in figures[pk]
    for pk in ids[4:]:
        assert "data-domain-flag" not in figures[pk], figures[pk]
    if language == "fr":
        assert "outside the validated domain" not in " ".join(figures.values())


def test_the_probability_has_its_own_element_in_french(client, technician, outside):
    figures = _figures(client, technician, outside, "fr")
    neutrophils = [body for body in figures.values() if "Polynucléaire neutrophile" in body]
    assert len(neutrophils) == 3
    no_cell = figures[_ids(outside)[0]]  # a neutrophil folder's image without a white cell
    assert 'class="prediction"' not in no_cell  # the network's class is not shown for it
    neutrophils = [body for body in neutrophils if body is not no_cell]
    for body in neutrophils:
        # Outside the domain: the model's suggestion, not a class counted, and without its
        # probability, which does not hold for the image (CellPrediction.figures_hold).
        assert re.search(r'<span class="prediction"[^>]*>modèle : Polynucléaire neutrophile'
                         r'</span>', body), body
        assert 'class="prob"' not in body
    inside = [figures[pk] for pk in _ids(outside)[4:]]
    assert inside and all(re.search(r'<span class="prob">\d,\d\d</span>', b) for b in inside)


def test_a_specimen_without_a_domain_check_has_no_marker(client, technician, analysed):
    figures = _figures(client, technician, analysed, "en")
    assert len(figures) == 6
    assert not any("data-domain-flag" in body for body in figures.values())
