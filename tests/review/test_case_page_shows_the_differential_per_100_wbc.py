"""The case page: the differential per 100 white cells (erythroblasts as NRBC per 100 WBC, out of
the denominator), the target count with a warning, the analyser's automated differential (CBC)
and the scanner's pre-classification each named for what it is, one number format per language;
anomaly outputs only on cells whose final class is neutrophil."""

from __future__ import annotations

import re

import pytest

from apps.smears.models import Cell
from apps.workflow.services import cells_reclassify
from tests.helpers import case_page_html
from tests.review.cbc import cbc_with_differential


@pytest.fixture
def reviewed(analysed, technician, biologist):  # type: ignore[no-untyped-def]
    """3 neutrophils, 2 lymphocytes, 1 monocyte (scanner and model); a biologist makes one
    lymphocyte an erythroblast: 5 white cells, 1 NRBC."""
    cbc_with_differential(actor=technician, specimen=analysed)
    lymphocyte = Cell.objects.filter(specimen=analysed, analyser_class="lymphocyte").first()
    cells_reclassify(actor=biologist, specimen=analysed, cell_ids=[lymphocyte.pk],
                     new_class="erythroblast")
    return analysed


def _page(client, user, specimen, language):  # type: ignore[no-untyped-def]
    return case_page_html(client, user, specimen, language)


def _row(page: str, cls: str) -> list[str]:
    """The cells of the differential row of `cls` (in the table the script updates)."""
    body = page.split('id="diff-body"', 1)[1].split("</tbody>", 1)[0]
    row = re.search(rf'<tr data-class="{cls}">(.*?)</tr>', body)
    assert row, cls
    # A share's 95 % interval, under it when the count is short of the target, is checked
    # in tests/review/test_differential_warning_reads_the_count.py, and an absolute count's
    # under it in tests/review/test_differential_gives_absolute_counts_and_flags_discrepancies.
    # An absolute count's reading against the blood count's interval (High, Low) is checked
    # there too, and in test_monocytes_read_high_against_the_blood_counts_interval below.
    return [re.sub(r'<br><(span class="interval nobreak"|strong class="flag")>.*?</(span|strong)>',
                   "", cell)
            for cell in re.findall(r"<td[^>]*>(.*?)</td>", row.group(1))]


def test_per_100_wbc_in_english_with_the_scanner_beside(client, biologist, reviewed):
    page = _page(client, biologist, reviewed, "en")
    # Smear: 3/5, 1/5, 1/5; scanner (class folders, 6 white cells): 3/6, 2/6, 1/6.
    # Beside the shares, the absolute counts from the analyser's WBC (6.52 x10^9/L).
    assert _row(page, "neutrophil") == ["Neutrophils", "3", "60.0", "3.91", "50.0"]
    assert _row(page, "lymphocyte") == ["Lymphocytes", "1", "20.0", "1.30", "33.3"]
    assert _row(page, "monocyte") == ["Monocytes", "1", "20.0", "1.30", "16.7"]
    assert _row(page, "erythroblast") == ["NRBC (per 100 WBC)", "1", "20.0", "1.30", "0.0"]
    assert "WBC 6.52 ×10⁹/L" in page
    assert '<td class="num" id="diff-total">5</td>' in page and "target 100" in page
    assert "Only 5 white cells classified, fewer than the 100 the laboratory counts" in page
    assert "pre-classification (per 100 WBC)" in page
    assert "<th>Analyser</th>" not in page  # the scanner's folders are not the analyser's
    analyser = page.split('id="analyser-differential"', 1)[1].split("</table>", 1)[0]
    assert re.findall(r"<td>([^<]*)</td><td class=\"num\">([^<]*)</td>", analyser) == [
        ("Neutrophils", "60.0"), ("Lymphocytes", "27.9"), ("Monocytes", "8.4"),
        ("Eosinophils", "3.1"), ("Basophils", "0.6"), ("Immature granulocytes", "0.3"),
        ("NRBC (per 100 WBC)", "0.0")]
    assert "Analyser&#x27;s automated differential (CBC)" in page or \
        "Analyser's automated differential (CBC)" in page


def test_french_uses_the_decimal_comma_everywhere(client, biologist, reviewed):
    page = _page(client, biologist, reviewed, "fr")
    assert _row(page, "neutrophil") == ["Polynucléaires neutrophiles", "3", "60,0", "3,91",
                                        "50,0"]
    assert _row(page, "erythroblast") == ["Érythroblastes (pour 100 leucocytes)", "1", "20,0",
                                          "1,30", "0,0"]
    assert "GB 6,52 ×10⁹/L" in page
    assert "Formule leucocytaire (pour 100 leucocytes)" in page
    assert "Pré-classement du scanner de lames (pour 100 leucocytes)" in page
    assert "Seulement 5 leucocytes classés, moins que les 100" in page
    analyser = page.split('id="analyser-differential"', 1)[1].split("</table>", 1)[0]
    assert ">27,9<" in analyser and ">27.9<" not in analyser
    # Its header too, per 100 white cells as its NRBC row is (not "%").
    assert "Automate (NFS, pour 100 leucocytes)" in analyser.replace("\u00a0", " ")
    assert "Analyser (CBC" not in analyser
    assert "60.0" not in page.split('id="differential"', 1)[1].split("</section>", 1)[0]


def test_no_warning_when_the_target_is_reached(client, biologist, reviewed, settings):
    settings.DIFFERENTIAL_TARGET_WBC = 5
    page = _page(client, biologist, reviewed, "en")
    # The warning's place stays, empty and hidden, for the live update after a reclassification.
    assert "target 5" in page and '<p class="msg warning" id="diff-short" hidden></p>' in page


def test_the_live_update_carries_the_same_rows(client, biologist, reviewed):
    client.force_login(biologist)
    client.post("/i18n/setlang/", {"language": "fr", "next": "/"})
    monocyte = Cell.objects.get(specimen=reviewed, analyser_class="monocyte")
    response = client.post(f"/review/{reviewed.accession}/reclassify/",
                           {"cells": [monocyte.pk], "class": "platelet"},
                           content_type="application/json")
    diff = response.json()["differential"]
    rows = {r["class"]: r for r in diff["rows"]}
    assert diff["total"] == 4  # a platelet leaves the denominator
    assert rows["neutrophil"]["percent"] == "75,0"
    assert rows["platelet"]["count"] == 1 and rows["platelet"]["percent"] == ""


def test_anomaly_outputs_only_on_cells_whose_final_class_is_neutrophil(client, biologist,
                                                                        reviewed):
    page = _page(client, biologist, reviewed, "en")
    assert len(re.findall(r">vac 0\.10<", page)) == 3
    neutrophil = Cell.objects.filter(specimen=reviewed, analyser_class="neutrophil").first()
    cells_reclassify(actor=biologist, specimen=reviewed, cell_ids=[neutrophil.pk],
                     new_class="ig")
    page = _page(client, biologist, reviewed, "en")
    assert len(re.findall(r">vac 0\.10<", page)) == 2
    figure = re.search(rf'<figure[^>]*data-cell="{neutrophil.pk}".*?</figure>', page, re.S)
    assert figure and "vac" not in figure.group(0)


def test_the_analyser_footnote_names_only_the_parameters_the_cbc_has(client, biologist,
                                                                      technician, analysed):
    from apps.workflow.services import cbc_import
    from tests.review.cbc import COLUMNS

    kept = [c for c in COLUMNS if not c[0].startswith(("IG%", "NRBC%"))]
    data = (",".join(c[0] for c in kept) + "\r\n" + ",".join(c[1] for c in kept) + "\r\n")
    assert cbc_import(actor=technician, data=data.encode(), specimen=analysed).results_created
    page = _page(client, biologist, analysed, "en")
    section = page.split('id="analyser-differential"', 1)[1].split("</section>", 1)[0]
    note = re.search(r'<p class="hint">([^<]*)</p>', section).group(1)
    assert note.endswith("NEUT%, LYMPH%, MONO%, EO%, BASO%")
    assert "IG%" not in section and "NRBC%" not in note
    assert "includes the immature granulocytes" not in section  # no IG%: nothing to say


def test_the_analysers_neut_percentage_is_said_to_include_its_ig(client, biologist, reviewed):
    """Sysmex XN counts the immature granulocytes inside NEUT% (and gives IG% apart); beside a
    smear that counts them apart, the page says so, in both languages."""
    page = " ".join(_page(client, biologist, reviewed, "en").split()).replace("&#x27;", "'")
    # As usually set up: it depends on the analyser's setting, which the page says to check.
    assert ("On a Sysmex XN as usually set up, NEUT% includes the immature granulocytes (IG%, "
            "also given apart; check the analyser's setting); the smear counts them apart.") in page
    page = " ".join(_page(client, biologist, reviewed, "fr").split()).replace("&#x27;", "'")
    assert "Sur un Sysmex XN dans son paramétrage habituel, le NEUT% inclut les granuleux" in page


def test_monocytes_on_one_cell_are_not_read_high(client, biologist, reviewed):
    """1 monocyte of 5 beside a WBC of 6.52 is 1.30 x10^9/L, above the 0.2-1 the blood count
    gives its own (computed) MONO#; but its 95 % interval (0.24-4.07) reaches into it: not
    flagged High, the interval printed and the note saying why, as the result message reads it.
    The count with its whole interval outside is flagged: test_a_count_is_flagged_only_on_its_
    whole_interval."""
    page = _page(client, biologist, reviewed, "en")
    body = page.split('id="diff-body"', 1)[1].split("</tbody>", 1)[0]
    row = re.search(r'<tr data-class="monocyte">(.*?)</tr>', body).group(1)
    assert '1.30<br><span class="interval nobreak">(0.24–4.07)</span>' in row
    assert "High" not in row
    assert "only when its whole 95% interval lies past the limit" in page
