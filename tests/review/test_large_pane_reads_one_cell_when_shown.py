"""The case page's large-cell pane reads the cell it shows from review_cell_detail: the model's
class probabilities, subtype, attributes and neutrophil outputs of that one cell, by the
gallery's rules (final class after review, latest prediction, anomaly outputs on neutrophils
only, the domain flag's words), in the reader's language. The same role as the case page reads
it; a cell of another specimen is not found."""

from __future__ import annotations

import pytest
from django.urls import reverse

from apps.analysis.models import CellPrediction
from apps.patients.services import specimen_create
from apps.smears.models import Cell
from apps.workflow.services import cells_reclassify


def _url(specimen, cell) -> str:  # type: ignore[no-untyped-def]
    return reverse("review_cell_detail", args=[specimen.accession, cell.pk])


def _cell(specimen, cls: str) -> Cell:  # type: ignore[no-untyped-def]
    return Cell.objects.filter(specimen=specimen, analyser_class=cls).order_by("pk").first()


def test_a_neutrophil_with_its_probabilities_and_outputs(client, biologist, analysed):
    neutrophil = _cell(analysed, "neutrophil")
    CellPrediction.objects.filter(cell=neutrophil).update(
        subtype="segmented_neutrophil", subtype_prob=0.8, attributes={"cell_size": "big"},
        attribute_probs={"cell_size": {"big": 0.7}}, view="found", in_domain=True)
    client.force_login(biologist)
    response = client.get(_url(analysed, neutrophil))
    assert response.status_code == 200
    assert response["Cache-Control"] == "private, no-store"
    detail = response.json()
    assert detail["id"] == neutrophil.pk and detail["final"] == "neutrophil"
    assert detail["final_label"] == "Neutrophil" and detail["reviewed"] is False
    assert detail["probs"] == [{"label": "Neutrophil", "value": "90%", "width": 90}]
    assert detail["subtype"] == "segmented neutrophil (80%)"
    assert detail["attributes"] == [{"name": "cell size", "value": "large", "prob": "70%"}]
    assert detail["anomalies"] == [
        {"name": "vacuole output (probability)", "value": "10%"},
        {"name": "Barr body", "value": "not available in this model"}]
    assert detail["domain"] == ""


@pytest.mark.parametrize(("subtype", "shape", "disagree"), [
    ("segmented_neutrophil", "unsegmented-band", True),
    ("band_neutrophil", "segmented-bilobed", True),
    ("segmented_neutrophil", "segmented-multilobed", False),
    ("band_neutrophil", "unsegmented-band", False),
])
def test_a_subtype_its_nucleus_shape_contradicts_is_said_so(client, biologist, analysed,
                                                            subtype, shape, disagree):
    """Two heads of one network: a "segmented neutrophil" whose nucleus-shape output reads "not
    segmented, band" is not shown as two findings side by side."""
    neutrophil = _cell(analysed, "neutrophil")
    CellPrediction.objects.filter(cell=neutrophil).update(
        subtype=subtype, subtype_prob=0.73, attributes={"nucleus_shape": shape},
        attribute_probs={"nucleus_shape": {shape: 0.9}}, view="found", in_domain=True)
    client.force_login(biologist)
    detail = client.get(_url(analysed, neutrophil)).json()
    note = detail.get("subtype_note", "")
    if disagree:
        assert note.startswith("The subtype and the nucleus-shape output disagree (")
        assert "): read the nucleus on the image." in note
    else:
        assert "disagree" not in note
    # A model's band is counted among the neutrophils, and the pane says so.
    assert ("not among the band forms" in note) == (subtype == "band_neutrophil")


def test_the_pane_says_how_a_neutrophils_subtype_is_counted(client, biologist, analysed):
    """Only the biologist's band is counted among the band forms: a model's band counted as a
    neutrophil, or a model's segmented neutrophil the biologist called a band, says how it is
    counted, beside the model's subtype."""
    neutrophil = _cell(analysed, "neutrophil")
    CellPrediction.objects.filter(cell=neutrophil).update(
        subtype="band_neutrophil", subtype_prob=0.87, attributes={}, attribute_probs={},
        view="found", in_domain=True)
    client.force_login(biologist)
    detail = client.get(_url(analysed, neutrophil)).json()
    assert detail["subtype"] == "band neutrophil (87%)"
    assert detail["subtype_note"] == ("Counted among the neutrophils, not among the band forms: "
                                      "only the biologist classes a band (key S).")
    cells_reclassify(actor=biologist, specimen=analysed, cell_ids=[neutrophil.pk],
                     new_class="neutrophil")
    assert client.get(_url(analysed, neutrophil)).json()["subtype_note"] == (
        "Counted among the neutrophils, not among the band forms (the biologist's class).")
    cells_reclassify(actor=biologist, specimen=analysed, cell_ids=[neutrophil.pk],
                     new_class="band_neutrophil")
    assert "subtype_note" not in client.get(_url(analysed, neutrophil)).json()
    CellPrediction.objects.filter(cell=neutrophil).update(subtype="segmented_neutrophil")
    assert client.get(_url(analysed, neutrophil)).json()["subtype_note"] == (
        "Counted as a band form (the biologist's class), not as the model's segmented "
        "neutrophil.")
    client.post("/i18n/setlang/", {"language": "fr", "next": "/worklist/"})
    with_french = client.get(_url(analysed, neutrophil)).json()
    assert with_french["subtype_note"].startswith("Compté comme non segmenté (bâtonnet)")


def test_a_cell_outside_the_domain_waits_with_the_models_suggestion(client, biologist, analysed):
    neutrophil = _cell(analysed, "neutrophil")
    CellPrediction.objects.filter(cell=neutrophil).update(view="found", in_domain=False)
    client.force_login(biologist)
    detail = client.get(_url(analysed, neutrophil)).json()
    assert detail["final"] == "unclassified" and detail["reviewed"] is False
    assert detail["predicted_label"] == "Neutrophil"  # shown as the model's suggestion
    # Its ranking without the figures, which do not hold outside (the network gives ~1 to
    # images of stains it never saw): the pane says so.
    assert detail["probs"] == [{"label": "Neutrophil", "value": "", "width": 0}]
    assert "without probabilities" in detail["probs_note"]
    assert detail["probs_caption"] == "Model: classes (a suggestion)"
    assert "%" not in detail["subtype"] and all(a["prob"] == "" for a in detail["attributes"])
    assert detail["anomalies"] == []  # not read as a neutrophil's until a biologist says so
    # Once confirmed it counts, and its figures are still not shown: the image is as it was.
    cells_reclassify(actor=biologist, specimen=analysed, cell_ids=[neutrophil.pk],
                     new_class="neutrophil")
    detail = client.get(_url(analysed, neutrophil)).json()
    assert detail["final"] == "neutrophil" and detail["probs"][0]["value"] == ""
    assert detail["domain"] == ("outside the validated domain: unlike the images the model "
                                "was validated on")


def test_the_pane_follows_a_reclassification(client, biologist, analysed):
    neutrophil = _cell(analysed, "neutrophil")
    cells_reclassify(actor=biologist, specimen=analysed, cell_ids=[neutrophil.pk],
                     new_class="lymphocyte")
    client.force_login(biologist)
    detail = client.get(_url(analysed, neutrophil)).json()
    assert detail["final"] == "lymphocyte" and detail["final_label"] == "Lymphocyte"
    assert detail["reviewed"] is True
    assert detail["predicted_label"] == "Neutrophil"
    assert detail["anomalies"] == []      # neutrophil outputs mean nothing on a lymphocyte


def test_in_french_for_a_french_reader(client, biologist, analysed):
    client.force_login(biologist)
    client.post("/i18n/setlang/", {"language": "fr", "next": "/worklist/"})
    detail = client.get(_url(analysed, _cell(analysed, "neutrophil"))).json()
    assert detail["final_label"] == "Polynucléaire neutrophile"
    assert detail["probs"][0]["value"] == "90\u00a0%"
    assert detail["anomalies"][0] == {"name": "sortie vacuoles (probabilité)", "value": "10\u00a0%"}
    assert detail["anomalies"][1]["value"] == "non disponible dans ce modèle"


@pytest.mark.parametrize(("language", "output", "attribute"), [
    ("en", "vacuole output (probability)", "cytoplasm vacuoles (attribute)"),
    ("fr", "sortie vacuoles (probabilité)", "vacuoles du cytoplasme (attribut)"),
])
def test_the_vacuole_output_and_the_vacuole_attribute_are_never_given_twice(
        client, biologist, analysed, language, output, attribute):
    """The model's vacuole output is its WBCAtt vacuole attribute (one head) read as a
    probability: a neutrophil shows it once, as the output ("no 62%" beside "vacuole output
    38%" gave one finding two figures); a monocyte, with no such output, shows the attribute,
    under its own name."""
    neutrophil, monocyte = _cell(analysed, "neutrophil"), _cell(analysed, "monocyte")
    CellPrediction.objects.filter(cell__in=[neutrophil, monocyte]).update(
        attributes={"cytoplasm_vacuole": "no", "cell_size": "big"},
        attribute_probs={"cytoplasm_vacuole": {"no": 0.62}, "cell_size": {"big": 0.8}})
    client.force_login(biologist)
    client.post("/i18n/setlang/", {"language": language, "next": "/worklist/"})
    detail = client.get(_url(analysed, neutrophil)).json()
    assert detail["anomalies"][0]["name"] == output
    assert attribute not in [a["name"] for a in detail["attributes"]]
    assert len(detail["attributes"]) == 1
    other = client.get(_url(analysed, monocyte)).json()
    assert other["anomalies"] == []
    assert attribute in [a["name"] for a in other["attributes"]]  # in any order (JSON column)


def test_a_cell_of_another_specimen_is_not_found(client, biologist, technician, analysed):
    other = specimen_create(actor=technician, accession="S-0002", patient=analysed.patient)
    cell = _cell(analysed, "neutrophil")
    client.force_login(biologist)
    assert client.get(_url(other, cell)).status_code == 404
    assert client.get(reverse("review_cell_detail", args=[analysed.accession, 10**9])
                      ).status_code == 404
    assert client.get(reverse("review_cell_detail", args=["S-NONE", cell.pk])
                      ).status_code == 404


def test_anonymous_goes_to_login_and_a_user_without_a_role_is_refused(client, make_user,
                                                                     analysed):
    url = _url(analysed, _cell(analysed, "neutrophil"))
    response = client.get(url)
    assert response.status_code == 302 and response["Location"].startswith(reverse("login"))
    client.force_login(make_user("norole"))
    assert client.get(url).status_code == 403


@pytest.mark.parametrize("role", ["technician", "biologist", "admin"])
def test_every_role_that_reads_the_case_reads_its_cells(client, make_user, analysed, role):
    client.force_login(make_user(f"reader-{role}", role))
    url = _url(analysed, _cell(analysed, "lymphocyte"))
    assert client.get(url).json()["final_label"] == "Lymphocyte"
    assert client.post(url).status_code == 405


def test_a_subtype_is_shown_where_it_refines_the_class(client, biologist, analysed):
    """"Erythroblast 62%" over "erythroblast (59%)" gave one cell two figures for one finding."""
    neutrophil, lymphocyte = _cell(analysed, "neutrophil"), _cell(analysed, "lymphocyte")
    CellPrediction.objects.filter(cell=neutrophil).update(subtype="band_neutrophil",
                                                          subtype_prob=0.7)
    CellPrediction.objects.filter(cell=lymphocyte).update(subtype="lymphocyte", subtype_prob=0.59)
    client.force_login(biologist)
    assert client.get(_url(analysed, neutrophil)).json()["subtype"] == "band neutrophil (70%)"
    assert client.get(_url(analysed, lymphocyte)).json()["subtype"] == ""
