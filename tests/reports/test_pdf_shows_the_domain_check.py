"""The PDF prints the domain check that was signed: a plain warning when the smear's images are
outside the domain the cell model was validated on, the reason on each such key cell, and a
neutral note when the model has no domain check; in the report's language."""

from __future__ import annotations

from apps.analysis.models import AnalysisRun, CellPrediction
from tests.reports.conftest import MODEL
from tests.reports.pdfs import pdf_bytes, pdf_text

WARNING_EN = ("These images are outside the domain the model was validated on (3 of 4 images): "
              "the model's classes and the scores that depend on them are not reliable.")
WARNING_FR = ("Ces images sont hors du domaine sur lequel le modèle a été validé "
              "(3 images sur 4)")


def _flat(report, tmp_path) -> str:  # type: ignore[no-untyped-def]
    return " ".join(pdf_text(pdf_bytes(report), tmp_path).split())


def _outside(specimen) -> None:  # type: ignore[no-untyped-def]
    AnalysisRun.objects.filter(specimen=specimen).update(domain_max_outside=0.2)
    for i, p in enumerate(CellPrediction.objects.filter(cell__specimen=specimen)
                          .order_by("cell_id")):
        p.view = "nucleus_too_large" if i == 0 else "found"
        p.in_domain = i == 3
        p.domain_score = 0.5 if p.in_domain else 4.0
        p.save()


def test_outside_the_domain_the_pdf_warns_in_english_and_french(make_specimen, sign, rendered,
                                                                 tmp_path):
    specimen = make_specimen()
    _outside(specimen)
    signed = sign(specimen)
    assert signed.content["domain"] == {"code": "outside", "cells": 4, "outside": 3,
                                        "waiting": 3, "max_outside": 0.2, "models": [MODEL]}
    en = _flat(rendered(signed, "en"), tmp_path)
    # A key cell outside the domain keeps the model's class as a suggestion, without its
    # probability (the fixture's 0.71 and 0.81); the cell inside keeps its 0.91.
    assert "(71%)" not in en and "(81%)" not in en and "(91%)" in en
    assert WARNING_EN in en
    # The signed report says what was done, not what its reader is to do.
    assert ("With the smear outside, no image was counted on the model's class alone; 3 of its 4 "
            "images were not counted, as no biologist confirmed or reclassified them.") in en
    assert "until you confirm" not in en
    # The one cell inside was classified by the biologist, the 3 outside wait: no class of
    # the model is counted, and no "others" keep one.
    assert "the others keep the model's class" not in en
    assert ("1 cell classified one by one by the biologist (reclassified or confirmed); no "
            "class of the model is counted: the other images were left without a class.") in en
    assert "no white cell found: the stained region fills the image" in en
    # The two key cells outside say so in a few words, below the banner that explains it.
    assert en.count("Image outside the validated domain") == 2
    assert "unlike the images the model was validated on" not in en
    assert "Domain check not available" not in en
    fr = _flat(rendered(signed, "fr"), tmp_path)
    assert WARNING_FR in fr
    assert "aucun leucocyte trouvé" in fr
    assert fr.count("Image hors du domaine validé") == 2
    assert "outside the domain" not in fr and "no white cell found" not in fr


def test_a_model_without_domain_check_gets_a_neutral_note(make_specimen, sign, rendered,
                                                          tmp_path):
    signed = sign(make_specimen())          # the fixture's predictions carry no domain check
    assert signed.content["domain"]["code"] == "unchecked"
    en = _flat(rendered(signed, "en"), tmp_path)
    assert "Domain check not available for this model." in en
    assert "outside the domain" not in en and "inside the domain" not in en
    fr = _flat(rendered(signed, "fr"), tmp_path)
    assert "Contrôle du domaine non disponible pour ce modèle." in fr


def test_content_signed_before_the_check_prints_no_claim(make_specimen, rendered, tmp_path,
                                                         monkeypatch, request):
    from apps.review import selectors

    specimen = make_specimen()
    _outside(specimen)
    current = selectors.report_content

    def before_the_check(*args, **kwargs):  # type: ignore[no-untyped-def]
        content = current(*args, **kwargs)
        del content["domain"]
        for cell in content["key_cells"]:
            del cell["domain_flag"]
        return content

    monkeypatch.setattr(selectors, "report_content", before_the_check)
    signed = request.getfixturevalue("sign")(specimen)   # it reads report_content when set up
    assert "domain" not in signed.content
    en = _flat(rendered(signed, "en"), tmp_path)
    assert "outside the domain" not in en and "Domain check" not in en
    assert "no white cell found" not in en and "validated domain" not in en


def test_once_the_biologist_classified_every_cell_the_report_says_whose_count_it_is(
        make_specimen, sign, rendered, tmp_path):
    """A LISC specimen whose 14 cells the biologist classified one by one printed the banner
    that calls the classifications unreliable above a differential that was all the
    biologist's, and "the others keep the model's class" with no others."""
    from apps.smears.models import Cell

    specimen = make_specimen()
    _outside(specimen)
    Cell.objects.filter(specimen=specimen).update(reviewed_class="lymphocyte")
    signed = sign(specimen)
    assert signed.content["domain"]["waiting"] == 0
    en = _flat(rendered(signed, "en"), tmp_path)
    assert WARNING_EN in en
    assert ("Each of these images was confirmed or reclassified by a biologist before it was "
            "counted: the classes counted are the biologist's, not the model's; the scores that "
            "read the model's outputs stay indeterminate.") in en
    assert ("All 4 cells were classified one by one by the biologist (reclassified or "
            "confirmed): no class of the model is counted.") in en
    assert "the others keep the model's class" not in en and "not counted until" not in en
    fr = _flat(rendered(signed, "fr"), tmp_path)
    assert "les classes comptées sont celles du biologiste" in fr
    assert "Les 4 cellules ont toutes été classées une à une par le biologiste" in fr


def test_a_rejected_smear_whose_images_wait_claims_no_reclassification(make_specimen, sign,
                                                                        rendered, tmp_path):
    """Every image outside the domain and none classified, the case rejected: no key cell says
    "reclassified" or that the scanner disagrees (nothing was classed to disagree with), and
    the note does not say "the others keep the model's class" (none was counted)."""
    from apps.smears.models import Cell

    specimen = make_specimen()
    _outside(specimen)
    CellPrediction.objects.filter(cell__specimen=specimen).update(in_domain=False,
                                                                  smear_outside=True)
    Cell.objects.filter(specimen=specimen).update(analyser_class="monocyte", reviewed_class="")
    signed = sign(specimen, meaning="rejected")
    en = _flat(rendered(signed, "en"), tmp_path)
    assert "reclassified ·" not in en.replace("(reclassified or confirmed)", "")
    assert "· reclassified" not in en and "≠" not in en
    assert "the others keep the model's class" not in en
    assert ("0 cells classified one by one by the biologist (reclassified or confirmed); no "
            "class of the model is counted: the other images were left without a class.") in en
    # Signed, nothing is to come: "no differential", not "no differential yet".
    assert "No white cell was counted: there is no differential." in en
    assert "no differential yet" not in en


def test_a_key_cell_of_a_smear_outside_keeps_the_models_class_as_a_suggestion(tmp_path):
    """An image that passed the check on its own, of a smear outside as a whole: its key cell
    printed only "Image: its smear is outside the validated domain", no model row, unlike the
    images outside on their own (the walkthrough's LISC report). It keeps the model's class as
    a suggestion, without the probability, which does not hold for it."""
    from django.utils import translation

    from apps.reports.document import _key_cells

    cells = [{"cell_id": i, "class": "", "predicted_class": "lymphocyte", "probability": 0.97,
              "domain_flag": flag, "image": None, "cam": None}
             for i, flag in ((1, "outside_features"), (2, "smear_outside"), (3, "no_stain"))]
    with translation.override("en"):
        shown = {c["cell_id"]: c for c in _key_cells(cells, tmp_path)}
    assert str(shown[1]["predicted_label"]) == str(shown[2]["predicted_label"]) == "Lymphocyte"
    assert shown[1]["probability"] == shown[2]["probability"] == ""
    assert shown[2]["domain_flag"] == "its smear is outside the validated domain"
    assert shown[3]["predicted_label"] == ""  # no white cell found: no class is a finding
