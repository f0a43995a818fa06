"""The specimen page names the cell classes as the case page does (apps.review.display's one
translation): the gallery's groups, the model's class under each cell and the scanner's folder
read as a class; never a raw class key ('neutrophil', 'ig', 'unclassified') in French."""

from __future__ import annotations

import re

from apps.smears.models import Cell


def _gallery(client, user, specimen, language):  # type: ignore[no-untyped-def]
    client.force_login(user)
    client.post("/i18n/setlang/", {"language": language, "next": "/"})
    response = client.get(f"/specimens/{specimen.accession}/")
    assert response.status_code == 200
    return response.content.decode().split('id="gallery"', 1)[1].split("</section>", 1)[0]


def _text(html: str) -> str:
    return " ".join(re.sub(r"<[^>]+>", " ", html).split())


def test_french_gallery_names_groups_predictions_and_scanner_classes(client, biologist,
                                                                      analysed):
    neutrophil = Cell.objects.filter(specimen=analysed, analyser_class="neutrophil").first()
    Cell.objects.filter(pk=neutrophil.pk).update(reviewed_class="ig")
    Cell.objects.filter(specimen=analysed, analyser_class="monocyte").update(
        analyser_class="unclassified")
    text = _text(_gallery(client, biologist, analysed, "fr"))
    groups = re.findall(r"<summary><strong>([^<]*)</strong>",
                        _gallery(client, biologist, analysed, "fr"))
    assert sorted(groups) == ["Granuleux immature", "Lymphocyte", "Monocyte",
                              "Polynucléaire neutrophile"]
    assert "Polynucléaire neutrophile 0,90" in text and "Lymphocyte 0,90" in text
    assert "pré-classement : Polynucléaire neutrophile" in text
    assert "pré-classement : Non classée" in text
    for key in ("neutrophil", "lymphocyte", "unclassified", "ig", "automate"):
        assert not re.search(rf"(?<![\w-]){key}(?![\w-])", text), key


def test_english_gallery_reads_the_same_way(client, biologist, analysed):
    text = _text(_gallery(client, biologist, analysed, "en"))
    assert "Neutrophil 0.90" in text and "scanner: Neutrophil" in text
    assert "scanner: Lymphocyte" in text and "analyser:" not in text
