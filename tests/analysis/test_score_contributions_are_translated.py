"""The evidence table of a score (its contributions) reads in the user's language: every name
the scoring code writes and every finding of the VEXAS rule (a reason code with its figures) has
a French form that carries the stored numbers, written the French way."""

from __future__ import annotations

import re
from dataclasses import asdict

import pytest
from django.utils import translation

from apps.analysis.models import Score
from apps.analysis.score_text import contribution_name, reason_text, translate
from apps.ml.scores import mds_cbc, reasons, vexas
from apps.ml.scores.features import FEATURE_NAMES, CBCFeatures

VEXAS_CASES = {
    "every part met": vexas.VexasInputs(
        n_neutrophils=40, vacuole_probs=[0.9] * 12 + [0.1] * 28,
        pseudo_pelger_probs=[0.8] * 5 + [0.2] * 35, mcv_fl=104.0, hgb_g_dl=9.5,
        plt_10_9_l=120.0, sex="M", age_years=67.0),
    "no part met": vexas.VexasInputs(
        n_neutrophils=30, vacuole_probs=[0.1] * 30, pseudo_pelger_probs=[0.1] * 30,
        mcv_fl=88.0, hgb_g_dl=14.2, plt_10_9_l=250.0, sex="F", age_years=34.0),
    "half vacuole points, woman": vexas.VexasInputs(
        n_neutrophils=25, vacuole_probs=[0.6] * 3 + [0.2] * 22, mcv_fl=100.5, hgb_g_dl=11.1,
        plt_10_9_l=149.5, sex="F", age_years=50.0),
    "values missing": vexas.VexasInputs(
        n_neutrophils=0, vacuole_probs=[], pseudo_pelger_probs=[]),
    "sex unknown": vexas.VexasInputs(
        n_neutrophils=22, vacuole_probs=[0.95] * 22, mcv_fl=112.0, hgb_g_dl=8.0,
        plt_10_9_l=45.0, age_years=81.0),
    "outputs not available": vexas.VexasInputs(
        n_neutrophils=7, vacuole_probs=None, pseudo_pelger_probs=None, mcv_fl=95.0,
        hgb_g_dl=13.0, plt_10_9_l=150.0, sex="M", age_years=49.5),
}

CBC_CASES = {
    "complete": CBCFeatures(anc=1.4, hb=9.5, plt=90.0, wbc=3.0, mono=0.3, age=71.0, sex="M",
                            mcv=106.0, ne_wx=460.0),
    "nothing measured": CBCFeatures(),
    "woman, some values": CBCFeatures(anc=4.2, hb=13.5, plt=260.0, sex="F"),
}


def _numbers(text: str) -> list[str]:
    return sorted(re.findall(r"\d+(?:\.\d+)?", text))


def _vexas_contributions() -> list[vexas.Contribution]:
    return [c for inputs in VEXAS_CASES.values() for c in vexas.vexas_score(inputs).contributions]


def test_every_vexas_contribution_reads_in_french_with_the_stored_numbers():
    contributions = _vexas_contributions()
    assert {c.name for c in contributions} == set(vexas.WEIGHTS)
    assert len({c.reason for c in contributions}) >= 20  # the variety the cases are meant to give
    untranslated = []
    for c in contributions:
        with translation.override("en"):
            name_en, text_en = contribution_name(c.name), reason_text(c.reason)
        with translation.override("fr"):
            name_fr, text_fr = contribution_name(c.name), reason_text(c.reason)
        if name_fr in (name_en, c.name) or text_fr == text_en or c.reason.code in text_fr:
            untranslated.append((c.name, c.reason, name_fr, text_fr))
        # The same figures, with the decimal comma in French and never a decimal point.
        assert _numbers(text_fr.replace(",", ".")) == _numbers(text_en), (text_en, text_fr)
        assert not re.search(r"\d\.\d", text_fr), text_fr
    assert untranslated == []


def test_french_contribution_texts_carry_the_stored_numbers_the_french_way():
    def words(code: str, **params: object) -> str:
        return reason_text({"code": code, "params": params})

    with translation.override("fr"):
        assert words(reasons.MCV_CUTOFF, value=104.0, cutoff=100.0, met=True) == \
            "VGM 104 fL (> 100 fL)"
        assert words(reasons.HB_CUTOFF, value=9.5, cutoff=13.0, sex="M", met=True) == \
            "hémoglobine 9,5 g/dL (< 13 g/dL, seuil chez l'homme)"
        assert words(reasons.VACUOLATED_SHARE, k=12, n=40, fraction=0.3, high=0.2,
                     low=0.08) == ("12/40 neutrophiles vacuolés (30\u00a0%, intervalle à "
                                   "95\u00a0% 18–45\u00a0%\u00a0; tous les points dès "
                                   "20\u00a0%, la "
                                   "moitié dès 8\u00a0%)")
        assert words(reasons.AGE_CUTOFF, value=49.5, cutoff=50.0, met=False) == \
            "âge 49,5 ans (< 50)"
        assert contribution_name("vacuoles") == "neutrophiles vacuolés"
        assert contribution_name("ne_wx").startswith("Neutro-WX (")
    with translation.override("en"):
        assert words(reasons.HB_CUTOFF, value=12.5, cutoff=12.0, sex="F", met=False) == \
            "Hb 12.5 g/dL (≥ 12 g/dL, the cut-off for women)"
        assert words(reasons.PLT_CUTOFF, value=120.0, cutoff=150.0, met=True) == \
            "PLT 120 ×10⁹/L (< 150 ×10⁹/L)"


def test_unknown_contribution_names_and_texts_are_shown_as_stored():
    with translation.override("fr"):
        assert contribution_name("a_future_part") == "a_future_part"
        assert translate("MCV high (> 100 fL)") == "MCV high (> 100 fL)"
        # A contribution stored as a sentence before contributions had codes: as stored.
        from apps.analysis.score_text import contribution_table

        row = contribution_table("vexas", [{"name": "macrocytosis", "points": 0.25,
                                            "weight": 0.25, "value": 104.0,
                                            "text": "MCV 104 fL (> 100 fL)"}])["rows"][0]
        assert row["text"] == "MCV 104 fL (> 100 fL)" and row["value"] == "104\u00a0fL"


def test_every_cbc_model_feature_name_reads_in_french(settings):
    model = mds_cbc.load_default(settings.MODELS_ONNX_DIR)
    assert model is not None, "models_onnx/registry.json must register the mds_cbc model"
    contributions = [c for row in CBC_CASES.values() for c in model.predict(row).contributions]
    assert {c.name for c in contributions} == set(FEATURE_NAMES)
    for c in contributions:
        with translation.override("en"):
            name_en = contribution_name(c.name)
        with translation.override("fr"):
            name_fr = contribution_name(c.name)
        assert name_fr not in (name_en, c.name), c.name


@pytest.mark.django_db
def test_the_scores_panel_shows_the_evidence_in_french(client, technician, specimen):
    result = vexas.vexas_score(VEXAS_CASES["every part met"])
    Score.objects.create(
        specimen=specimen, name="vexas", revision=1, definition="vexas-suspicion",
        version=result.version, state=result.state, value=result.score,
        level=result.level or "", thresholds=result.thresholds,
        evidence={"contributions": [asdict(c) for c in result.contributions]},
        reasons=[r.as_dict() for r in result.reasons], text=result.disclaimer, trigger="test")
    client.force_login(technician)
    client.post("/i18n/setlang/", {"language": "fr", "next": "/specimens/"})
    page = client.get(f"/specimens/{specimen.accession}/").content.decode()
    assert "neutrophiles vacuolés" in page
    assert "VGM 104 fL (&gt; 100 fL)" in page
    assert "âge 67 ans (≥ 50)" in page
    assert "MCV 104 fL" not in page and "neutrophils vacuolated" not in page
    # Values: the vacuolated share as a percentage (12/40), sex as a French word (an initial H
    # would read as the CBC table's H of "haut").
    assert "<td>30\u00a0% des neutrophiles</td>" in page and "<td>0.3</td>" not in page
    assert "<td>homme</td>" in page and "<td>H</td>" not in page and "<td>M</td>" not in page
    stored = Score.objects.get(specimen=specimen, name="vexas").evidence["contributions"]
    # Stored as a code with its figures, in no language.
    assert stored[1]["reason"] == {"code": "mcv_cutoff",
                                   "params": {"value": 104.0, "cutoff": 100.0, "met": True}}


def test_contribution_values_read_as_shares_and_sex_as_a_word():
    from apps.analysis.score_text import contribution_value

    with translation.override("fr"):
        assert contribution_value("vacuoles", 0.125) == "12\u00a0%"
        assert contribution_value("pseudo_pelger", 0.0) == "0\u00a0%"
        assert contribution_value("male_sex", "F") == "femme"
        assert contribution_value("male_sex", "M") == "homme"
        assert contribution_value("macrocytosis", 104.0) == 104.0
        assert contribution_value("vacuoles", None) is None
    with translation.override("en"):
        assert contribution_value("male_sex", "M") == "male"
        assert contribution_value("vacuoles", 0.125) == "12%"


def test_a_feature_the_model_gives_no_weight_is_said_to_be_unused():
    """MCV 103.8 fL with a contribution of 0 read as "macrocytosis does not matter": the CBC
    model's cohort never measured MCV, so the model does not use it, and the row says so."""
    from apps.analysis.score_text import contribution_table

    rows = [{"name": "mcv", "unit": "fL", "value": 103.8, "missing": False, "coef": 0.0,
             "contribution": 0.0},
            {"name": "hb", "unit": "g/dL", "value": 9.8, "missing": False, "coef": -0.119,
             "contribution": 0.2}]
    with translation.override("en"):
        mcv, hb = contribution_table("mds_cbc", rows)["rows"]
    assert (mcv["part"], mcv["text"]) == (
        "—", "not used by this model (its training cohort did not measure it)")
    assert hb["part"] == "0.2" and hb["text"] == ""
    with translation.override("fr"):
        assert contribution_table("mds_cbc", rows)["rows"][0]["text"].startswith(
            "non utilisé par ce modèle")


def test_a_count_the_model_reads_against_the_usual_direction_says_so():
    """Platelets 96 x10^9/L lowering the CBC MDS model's output (its cohort learnt a positive
    coefficient) read as "thrombocytopenia argues against an MDS": the row says the direction
    is the training cohort's, the opposite of the usual reading. Hb (negative coef) does not."""
    import json
    from pathlib import Path

    from apps.analysis.score_text import contribution_table

    card = json.loads((Path(__file__).resolve().parents[2] / "models_onnx"
                       / "hemaclinic-mds-cbc/1.0.0/card.json").read_text())
    coefs = {f["name"]: f["coef"] for f in card["features"]}
    assert coefs["plt"] > 0 > coefs["hb"]  # the shipped model's own directions
    rows = [{"name": "plt", "unit": "10^9/L", "value": 96, "missing": False,
             "coef": coefs["plt"], "contribution": -0.125},
            {"name": "hb", "unit": "g/dL", "value": 10.2, "missing": False, "coef": coefs["hb"],
             "contribution": -0.004}]
    with translation.override("en"):
        plt, hb = contribution_table("mds_cbc", rows)["rows"]
    assert plt["text"] == ("Learned from the training cohort: a lower count lowers the output, "
                           "the opposite of the usual reading, in which a cytopenia raises the "
                           "suspicion of an MDS.")
    assert hb["text"] == ""
    with translation.override("fr"):
        assert contribution_table("mds_cbc", rows)["rows"][0]["text"].startswith(
            "Appris de la cohorte d'entraînement")
