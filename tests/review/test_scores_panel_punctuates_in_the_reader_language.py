"""The MDS image evidence's per-output line and its cells' captions follow the reader's
language: in French a space before ':' and a no-break space before '%' ("vacuoles
cytoplasmiques : 0 %", the sign never alone at the start of a line), as the rest of the French
pages, and the short captions translated; in English none ("...: 0%")."""

from __future__ import annotations

import re

import pytest

from apps.analysis.models import Score
from apps.smears.models import Cell


@pytest.fixture
def mds_image_scored(analysed):  # type: ignore[no-untyped-def]
    cell = Cell.objects.filter(specimen=analysed, analyser_class="neutrophil").first()
    Score.objects.create(
        specimen=analysed, name="mds_image", revision=99, definition="mds-image-evidence",
        version="1", state="scored", value=0.0, level="below_who",
        thresholds={"anomaly_prob_cutoff": 0.5, "who_fraction": 0.1},
        evidence={"per_anomaly_fraction": {"vacuole": 0.0, "pseudo_pelger": 0.25,
                                           "hypogranulation": None},
                  "n_dysplastic": 0,
                  "cells": [{"cell_id": cell.pk, "probability": 0.9, "anomaly": "pseudo_pelger"},
                            {"cell_id": cell.pk, "probability": 0.8, "anomaly": "vacuole"}]},
        reasons=[], text="", trigger="test")
    return analysed


def _scores(client, user, specimen, language):  # type: ignore[no-untyped-def]
    client.force_login(user)
    client.post("/i18n/setlang/", {"language": language, "next": "/"})
    page = client.get(f"/specimens/{specimen.accession}/").content.decode()
    section = page.split('id="scores"', 1)[1] if 'id="scores"' in page else page
    return re.sub(r"[ \t\r\n]+", " ", section)  # collapse the layout, keep no-break spaces


def test_french_puts_a_space_before_colons_and_percents(client, biologist, mds_image_scored):
    page = _scores(client, biologist, mds_image_scored, "fr")
    assert "vacuoles cytoplasmiques\u00a0: 0\u00a0%" in page
    assert "noyau hyposegmenté (indicateur approché)\u00a0: 25\u00a0%" in page
    assert "hypogranulation\u00a0: non disponible dans ce modèle" in page
    assert "cytoplasmiques: " not in page and "0%" not in page
    assert ">vac " not in page and ">hypo-seg " not in page
    assert "vacuol. 0,80" in page and "non seg. 0,90" in page


def test_english_has_no_space_before_colons_and_percents(client, biologist, mds_image_scored):
    page = _scores(client, biologist, mds_image_scored, "en")
    assert "cytoplasmic vacuoles: 0%" in page
    assert "hyposegmented nucleus (proxy): 25%" in page
    assert "hypogranulation: not available in this model" in page
    assert " : " not in page.split("anomaly-fractions", 1)[1].split("</p>", 1)[0]
    assert "vac 0.80" in page and "hypo-seg 0.90" in page


def test_the_case_gallery_short_captions_are_french_in_french(client, biologist, analysed):
    client.force_login(biologist)
    client.post("/i18n/setlang/", {"language": "fr", "next": "/"})
    page = client.get(f"/review/{analysed.accession}/").content.decode()
    gallery = page.split('id="review-cells"', 1)[1].split('class="review-side"', 1)[0]
    assert "vacuol. 0,10" in gallery and ">vac " not in gallery
    # No cell shows the lobation proxy (none of these predictions has it): the legend does not
    # name it, and says what is missing as the dysplasia finding it would be.
    assert "vacuol. = vacuoles cytoplasmiques. Noyau pseudo-Pelger" in page
    assert "non seg." not in page
