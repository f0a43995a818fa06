"""No cell model has a blast class, yet blasts are the finding a flagged smear is read for: the
biologist classifies a cell as a blast with its own key (A); it counts per 100 white cells, is
sent under LOINC 709-6, and a differential without blasts neither lists nor sends a "0" the
model could not have found. A scanner's "Blasts" folder reads as blasts."""

from __future__ import annotations

import json

from apps.reports.hl7_result import LOINC_PER_100_WBC
from apps.review.selectors import differential
from apps.review.views import KEYS
from apps.smears.differential import differential_count, scanner_class
from apps.smears.models import Cell


def test_a_cell_classified_as_a_blast_counts_per_100_white_cells(client, biologist, analysed):
    assert KEYS["a"] == "blast"
    before = differential(analysed)
    assert "blast" not in before["per_100_wbc"]  # no blast counted: none listed, none sent
    cell = Cell.objects.filter(specimen=analysed, analyser_class="lymphocyte").first()
    client.force_login(biologist)
    response = client.post(f"/review/{analysed.accession}/reclassify/",
                           json.dumps({"cells": [cell.pk], "class": "blast"}),
                           content_type="application/json")
    assert response.status_code == 200, response.content
    after = differential(analysed)
    assert after["counts"]["blast"] == 1 and after["wbc_counted"] == 6
    # 1 of 6, to the tenth below or above (the differential adds up to 100.0).
    assert after["per_100_wbc"]["blast"] in (16.6, 16.7)
    assert round(sum(after["per_100_wbc"].values()), 1) == 100.0
    page = client.get(f"/review/{analysed.accession}/").content.decode()
    assert "The cell model has no blast class" in page and "<kbd>A</kbd>" in page


def test_blasts_are_sent_under_their_loinc_code():
    assert LOINC_PER_100_WBC["blast"] == ("709-6", "Blasts/100 leukocytes in Blood by Manual count")
    assert "blast" not in differential_count(["neutrophil"] * 3, target=100).per_100_wbc


def test_a_scanners_blast_folder_reads_as_blasts():
    assert scanner_class("Blasts") == scanner_class("blast") == "blast"
