"""A gallery group's heading names the cells under it, in the plural, as a differential row
does: "Neutrophils 12", French "Polynucléaires neutrophiles 12" and "Non classées 40", not
"Non classée 40". The page's script heads a group it adds the same way."""

from __future__ import annotations

import json
import re

from apps.workflow.services import cells_reclassify


def _headings(html: str) -> dict[str, str]:
    return dict(re.findall(r'<div class="group" data-group="([^"]+)">\s*<h3><span '
                           r'class="group-label">([^<]+)</span>', html))


def test_the_headings_are_plural_in_english_and_french(client, biologist, analysed):
    cell = analysed.cells.order_by("pk").first()
    cells_reclassify(actor=biologist, specimen=analysed, cell_ids=[cell.pk],
                     new_class="band_neutrophil")
    client.force_login(biologist)
    html = client.get(f"/review/{analysed.accession}/").content.decode()
    headings = _headings(html)
    assert headings["neutrophil"] == "Neutrophils"
    assert headings["band_neutrophil"] == "Band neutrophils"
    labels = json.loads(re.search(r'id="group-labels"[^>]*>(.*?)</script>', html).group(1))
    assert labels["unclassified"] == "Unclassified" and labels["artefact"] == "Artefacts"
    # A cell keeps its own name, in the singular.
    classes = json.loads(re.search(r'id="class-labels"[^>]*>(.*?)</script>', html).group(1))
    assert classes["neutrophil"] == "Neutrophil"
    client.post("/i18n/setlang/", {"language": "fr", "next": "/worklist/"})
    html = client.get(f"/review/{analysed.accession}/").content.decode()
    assert _headings(html)["neutrophil"] == "Polynucléaires neutrophiles"
    labels = json.loads(re.search(r'id="group-labels"[^>]*>(.*?)</script>', html).group(1))
    assert labels["unclassified"] == "Non classées"
    assert labels["band_neutrophil"] == "Polynucléaires neutrophiles non segmentés"
