"""A neutrophil the slide scanner put in its band folder is counted by the model among the
neutrophils (it has no band class): on a left-shifted smear 14 scanner bands were absorbed
without a word. The gallery marks each such cell not yet reviewed ("scanner: band") and says
how many wait, so the biologist reads them; a reviewed cell is no longer marked, and the count
follows each move."""

from __future__ import annotations

import json

from apps.review.selectors import case_gallery
from apps.smears.models import Cell


def test_scanner_bands_are_marked_until_reviewed(client, biologist, analysed):
    neutrophil = Cell.objects.filter(specimen=analysed, analyser_class="neutrophil").first()
    Cell.objects.filter(pk=neutrophil.pk).update(analyser_class="band neutrophil")
    gallery = case_gallery(analysed)
    marked = [c for g in gallery["groups"] for c in g["cells"] if c["scanner_band"]]
    assert [c["pk"] for c in marked] == [str(neutrophil.pk)]
    assert gallery["scanner_bands"] == 1
    # Not a disagreement: the scanner's band is a neutrophil, as the model says.
    assert not marked[0]["scanner_label"] and gallery["disagreements"] == 0
    client.force_login(biologist)
    page = " ".join(client.get(f"/review/{analysed.accession}/").content.decode().split())
    assert ('1 neutrophil not yet reviewed was pre-classified as a band form by the slide '
            'scanner (marked "scanner: band")') in page.replace("&quot;", '"')
    assert f'data-cell="{neutrophil.pk}"' in page and 'class="scanner-band"' in page
    # The page's key (the reclassify endpoint) counts them again, for the page to follow.
    answer = client.post(f"/review/{analysed.accession}/reclassify/",
                         data=json.dumps({"cells": [neutrophil.pk], "class": "band_neutrophil"}),
                         content_type="application/json").json()
    assert answer["scanner_bands_text"] == ""
    assert case_gallery(analysed)["scanner_bands"] == 0
    assert '<p class="msg warning" id="scanner-bands" hidden></p>' in client.get(
        f"/review/{analysed.accession}/").content.decode()
