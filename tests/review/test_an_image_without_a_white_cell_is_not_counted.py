"""An image in which no white cell was found (a blank frame, a field of red cells) is never
counted under the class the network still gives it: it has no class until a biologist gives it
one, the case cannot be signed before, and "artefact" takes it out of the differential."""

from __future__ import annotations

import json
import re

from apps.analysis.models import CellPrediction
from apps.review.selectors import differential
from apps.review.services import cells_reclassify, sign_blockers
from apps.smears.models import Cell

from .test_reclassify_and_sign import PASSWORD


def _blank_is_an_erythroblast(specimen):  # type: ignore[no-untyped-def]
    """The first lymphocyte's image showed no stained nucleus; the network said erythroblast."""
    cell = Cell.objects.filter(specimen=specimen, analyser_class="lymphocyte").first()
    CellPrediction.objects.filter(cell=cell).update(view="no_stain", cell_class="erythroblast",
                                                    cell_class_prob=0.14)
    return cell


def test_it_is_not_counted_and_blocks_signing_until_classified(biologist, analysed):
    cell = _blank_is_an_erythroblast(analysed)
    diff = differential(analysed)
    assert diff["nrbc"] == 0 and diff["nrbc_per_100_wbc"] == 0.0
    assert diff["wbc_counted"] == 5 and diff["unclassified"] == 1
    assert diff["counts"]["lymphocyte"] == 1
    assert sign_blockers(analysed) == [
        "1 image shows no white cell: classify it (X: artefact) before validating."]

    cells_reclassify(actor=biologist, specimen=analysed, cell_ids=[cell.pk], new_class="artefact")
    diff = differential(analysed)
    assert diff["excluded"] == {"artefact": 1} and diff["unclassified"] == 0
    assert diff["wbc_counted"] == 5 and diff["per_100_wbc"]["neutrophil"] == 60.0
    assert sign_blockers(analysed) == []

    from apps.workflow.services import case_sign

    signature = case_sign(actor=biologist, specimen=analysed, password=PASSWORD,
                          meaning="validated", count_acknowledged=True, domain_acknowledged=True)
    assert signature.content["differential"]["excluded"] == {"artefact": 1}
    assert "artefact" not in signature.content["differential"]["per_100_wbc"]


def test_it_does_not_stop_a_rejection_which_releases_no_count(biologist, analysed, client):
    """A smear the biologist rejects (an unknown stain, a poor smear) is not classified image
    by image first: only a validation releases a count."""
    from apps.workflow.services import case_sign

    _blank_is_an_erythroblast(analysed)
    assert sign_blockers(analysed, meaning="rejected") == []
    client.force_login(biologist)
    page = client.get(f"/review/{analysed.accession}/").content.decode()
    assert 'data-blocked-validated="1" data-blocked-rejected="0"' in page
    assert re.search(r'<p class="hint" id="sign-reject-allowed">', page)
    signature = case_sign(actor=biologist, specimen=analysed, password=PASSWORD,
                          meaning="rejected", comment="Smear to be redone.")
    assert signature.meaning == "rejected" and signature.content["differential"]["unclassified"]


def test_a_smear_without_any_white_cell_cannot_be_validated(biologist, analysed):
    """Every image an artefact (a field of red cells, blank frames): no differential exists,
    so none is validated and sent as final; the case is rejected or rescanned."""
    cells = list(Cell.objects.filter(specimen=analysed))
    cells_reclassify(actor=biologist, specimen=analysed, cell_ids=[c.pk for c in cells],
                     new_class="artefact")
    assert differential(analysed)["wbc_counted"] == 0
    assert sign_blockers(analysed) == [
        "No white cell is counted: there is no differential to validate. Reject the case or "
        "request a rescan."]
    assert sign_blockers(analysed, meaning="rejected") == []


def test_it_stops_a_validation_through_the_endpoint_too(biologist, analysed):
    import pytest

    from apps.review.services import ReviewError
    from apps.workflow.services import case_sign

    _blank_is_an_erythroblast(analysed)
    with pytest.raises(ReviewError, match="shows no white cell"):
        case_sign(actor=biologist, specimen=analysed, password=PASSWORD, meaning="validated",
                  count_acknowledged=True, domain_acknowledged=True)


def test_a_biologist_can_still_count_it_as_the_cell_it_is(biologist, analysed):
    cell = _blank_is_an_erythroblast(analysed)
    cells_reclassify(actor=biologist, specimen=analysed, cell_ids=[cell.pk],
                     new_class="lymphocyte")
    diff = differential(analysed)
    assert diff["counts"]["lymphocyte"] == 2 and diff["unclassified"] == 0


def test_the_case_page_groups_it_apart_and_offers_the_artefact_key(client, biologist, analysed):
    cell = _blank_is_an_erythroblast(analysed)
    client.force_login(biologist)
    page = client.get(f"/review/{analysed.accession}/").content.decode()
    group = re.search(r'data-group="unclassified".*?</div>\s*</div>', page, re.S)
    assert group and f'data-cell="{cell.pk}"' in group.group(0)
    assert 'data-group="erythroblast"' not in page
    keys = json.loads(re.search(r'<script id="class-keys" type="application/json">(.*?)</script>',
                                page, re.S).group(1))
    assert keys["x"] == "artefact" and keys["n"] == "neutrophil"
    assert "1 image shows no white cell" in page
    # Its caption names no class: the flag says why, "Erythroblast 0.14" would be a finding.
    figure = re.search(rf'data-cell="{cell.pk}".*?</figure>', page, re.S).group(0)
    assert "no white cell found" in figure
    assert "Erythroblast" not in figure and "0.14" not in figure
    detail = client.get(f"/review/{analysed.accession}/cells/{cell.pk}/").json()
    assert detail["probs"] == [] and "predicted_label" not in detail and detail["domain"]
    # The page's script reads its keys from the page, not a copy of its own.
    from pathlib import Path

    script = (Path(__file__).resolve().parents[2] / "static/js/review.js").read_text()
    assert 'json("class-keys")' in script and '"erythroblast"' not in script

    client.post(f"/review/{analysed.accession}/reclassify/", json.dumps(
        {"cells": [cell.pk], "class": "artefact"}), content_type="application/json")
    page = client.get(f"/review/{analysed.accession}/").content.decode()
    assert 'data-group="artefact"' in page and "Artefacts (not white cells)" in page


def test_a_signed_case_page_shows_the_differential_as_signed(client, biologist, analysed):
    """A case signed before a change of the counting rule keeps, on its page, the differential
    its report and result message carry; the page says which version it shows."""
    from apps.workflow.services import case_sign

    case_sign(actor=biologist, specimen=analysed, password=PASSWORD, meaning="validated",
              count_acknowledged=True)
    _blank_is_an_erythroblast(analysed)  # the rule, or the cells, read differently today
    client.force_login(biologist)
    page = client.get(f"/review/{analysed.accession}/").content.decode()
    body = page.split('id="diff-body"', 1)[1].split("</tbody>", 1)[0]
    assert re.search(r'<tr data-class="lymphocyte"><td>Lymphocytes</td><td class="num">2</td>',
                     body)
    assert "As signed (version 1)." in page
    assert '<td class="num" id="diff-total">6</td>' in page
    assert differential(analysed)["wbc_counted"] == 5  # what an amendment would start from


def test_the_report_shows_no_artefact_and_the_cells_behind_a_score_first(biologist, analysed):
    """Key cells: the artefact (a blank frame) is not one; the vacuolated neutrophils the VEXAS
    rule counted come first, in the rule's order, before the reclassified and least confident
    cells."""
    from apps.analysis.models import Score
    from apps.review.selectors import report_content

    blank = _blank_is_an_erythroblast(analysed)
    cells_reclassify(actor=biologist, specimen=analysed, cell_ids=[blank.pk], new_class="artefact")
    neutrophils = list(Cell.objects.filter(specimen=analysed, analyser_class="neutrophil")
                       .order_by("pk"))
    vacuolated = [neutrophils[-1].pk, neutrophils[0].pk]
    Score.objects.create(
        specimen=analysed, name="vexas", revision=99, definition="vexas-suspicion",
        version="t", state="scored", value=0.5, level="intermediate", thresholds={},
        evidence={"cells": [{"cell_id": pk, "vacuole": 0.9} for pk in vacuolated]},
        reasons=[], text="", trigger="test")
    key = [c["cell_id"] for c in report_content(analysed)["key_cells"]]
    assert blank.pk not in key
    assert key[:2] == vacuolated


def test_an_image_outside_the_domain_is_a_key_cell_before_the_typical_ones(biologist, analysed):
    """Counted on the biologist's word, an image outside the validated domain is among the
    least typical cells the report shows, even when the model was sure of it."""
    from apps.analysis.models import CellPrediction
    from apps.review.selectors import report_content

    CellPrediction.objects.filter(cell__specimen=analysed).update(
        view="found", in_domain=True, cell_class_prob=0.5)
    outside = Cell.objects.filter(specimen=analysed).order_by("pk").last()
    CellPrediction.objects.filter(cell=outside).update(in_domain=False, cell_class_prob=0.99)
    final = CellPrediction.objects.filter(cell=outside).first().cell_class
    cells_reclassify(actor=biologist, specimen=analysed, cell_ids=[outside.pk], new_class=final)
    key = report_content(analysed)["key_cells"]
    assert key[0]["cell_id"] == outside.pk and key[0]["domain_flag"] == "outside_features"
