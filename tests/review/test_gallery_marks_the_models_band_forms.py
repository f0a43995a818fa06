"""The model's subtype output reads some neutrophils as band forms, but only a biologist's band is
counted as one: on a smear with 8 true band forms among 58 neutrophils, the differential said
"Neutrophils 58" with no word of them until each was classed by hand. The gallery marks each
neutrophil not yet reviewed whose subtype the model reads as a band ("model: band") and says how
many wait, for a possible left shift; a reviewed cell is no longer marked, the count follows each
move, and a band subtype outside the validated domain is not shown as a finding."""

from __future__ import annotations

import json

from apps.analysis.models import CellPrediction
from apps.review.selectors import case_gallery
from apps.smears.models import Cell


def test_model_bands_are_marked_until_reviewed(client, biologist, analysed):
    neutrophils = list(Cell.objects.filter(specimen=analysed, analyser_class="neutrophil")
                       .order_by("pk"))
    CellPrediction.objects.filter(cell__in=neutrophils[:2]).update(
        subtype="band_neutrophil", subtype_prob=0.8)
    CellPrediction.objects.filter(cell=neutrophils[2]).update(subtype="segmented_neutrophil")
    gallery = case_gallery(analysed)
    marked = [c["pk"] for g in gallery["groups"] for c in g["cells"] if c["model_band"]]
    assert marked == [str(c.pk) for c in neutrophils[:2]]
    assert gallery["model_bands"] == 2
    client.force_login(biologist)
    page = " ".join(client.get(f"/review/{analysed.accession}/",
                               HTTP_ACCEPT_LANGUAGE="en").content.decode().split())
    assert ('2 neutrophils not yet reviewed are band forms by the model\'s subtype output '
            '(marked "model: band"): they are counted among the neutrophils, not among the band '
            'forms, until you class them (key S).') in page.replace("&quot;", '"').replace(
                "&#x27;", "'")
    assert page.count('class="model-band"') == 2

    answer = client.post(f"/review/{analysed.accession}/reclassify/",
                         data=json.dumps({"cells": [neutrophils[0].pk],
                                          "class": "band_neutrophil"}),
                         content_type="application/json").json()
    assert answer["model_bands_text"].startswith("1 neutrophil not yet reviewed is a band form")
    answer = client.post(f"/review/{analysed.accession}/reclassify/",
                         data=json.dumps({"cells": [neutrophils[1].pk], "class": "neutrophil"}),
                         content_type="application/json").json()
    assert answer["model_bands_text"] == ""  # confirmed a (segmented) neutrophil: read
    assert case_gallery(analysed)["model_bands"] == 0
    french = client.get(f"/review/{analysed.accession}/", HTTP_ACCEPT_LANGUAGE="fr")
    assert '<p class="msg warning" id="model-bands" hidden></p>' in french.content.decode()


def test_outside_the_validated_domain_the_subtype_is_not_a_finding(analysed):
    neutrophil = Cell.objects.filter(specimen=analysed, analyser_class="neutrophil").first()
    CellPrediction.objects.filter(cell=neutrophil).update(
        subtype="band_neutrophil", in_domain=False)
    assert case_gallery(analysed)["model_bands"] == 0
