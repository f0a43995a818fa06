"""The PDF prints the VEXAS rule as points out of 100 with its level and cut-offs (never a
figure that reads as a probability) and its evidence table with a unit on every column."""

from __future__ import annotations

from dataclasses import asdict

from apps.ml.scores import vexas
from tests.reports.pdfs import pdf_bytes, pdf_text

INPUTS = vexas.VexasInputs(
    n_neutrophils=25, vacuole_probs=[0.6] * 3 + [0.2] * 22, mcv_fl=100.5, hgb_g_dl=11.1,
    plt_10_9_l=149.5, sex="F", age_years=50.0)


def _vexas_entry() -> dict:
    result = vexas.vexas_score(INPUTS)
    return {"name": "vexas", "definition": "vexas-suspicion", "version": result.version,
            "sha256": "", "state": result.state, "value": result.score, "level": result.level,
            "thresholds": result.thresholds,
            "evidence": {"contributions": [asdict(c) for c in result.contributions]},
            "reasons": [], "text": result.disclaimer}


def test_vexas_points_level_and_units_in_english_and_french(make_specimen, sign, rendered,
                                                           tmp_path):
    signature = sign(make_specimen(), scores=[_vexas_entry()])
    en = " ".join(pdf_text(pdf_bytes(rendered(signature, "en")), tmp_path).split())
    assert "75 points of 100 high" in en
    assert "intermediate from 40 points, high from 70 points" in en
    assert "Input Value (unit) Points (of 100)" in en
    assert "macrocytosis 100.5 fL 25 of 25" in en
    assert "vacuolated neutrophils 12 % of neutrophils 20 of 40" in en
    assert "0.75" not in en and "0,75" not in en
    fr = " ".join(pdf_text(pdf_bytes(rendered(signature, "fr")), tmp_path).split())
    assert "75 points sur 100 élevé" in fr
    assert "Valeur (unité) Points (sur 100)" in fr and "100,5 fL 25 sur 25" in fr


def test_a_value_with_a_long_level_is_not_wrapped_in_its_cell(make_specimen, sign, rendered,
                                                             tmp_path):
    """"80 points sur 100" beside "intermédiaire" used to break after "sur"."""
    entry = {**_vexas_entry(), "value": 0.8, "level": "intermediate"}
    fr = pdf_text(pdf_bytes(rendered(sign(make_specimen(), scores=[entry]), "fr")), tmp_path)
    assert any("80 points sur 100" in line for line in fr.splitlines())


def test_a_level_without_points_from_vacuoles_says_so_in_its_column(make_specimen, sign,
                                                                    settings):
    """A macrocytic anaemia in an older man, no vacuolated neutrophil: the level is low
    (vexas-rule 1.3) and the Level column of the signed report says why, as the case page
    does; a result signed under 1.2, whose level was "intermediate", says what it rested on
    (below), not a bare "intermediate" a reader skims."""
    from apps.reports.document import report_html

    result = vexas.vexas_score(vexas.VexasInputs(
        n_neutrophils=25, vacuole_probs=[0.1] * 25, mcv_fl=111.8, hgb_g_dl=8.7,
        plt_10_9_l=80.0, sex="M", age_years=83.0))
    assert result.level == "low" and result.score == 0.6
    entry = {**_vexas_entry(), "value": result.score, "level": result.level,
             "evidence": {"contributions": [asdict(c) for c in result.contributions]}}
    signature = sign(make_specimen(), scores=[entry])
    html = report_html(signature=signature, language="en", media_root=settings.MEDIA_ROOT)
    assert '<td class="level">low: the vacuoles give no points</td>' in html
    assert "the blood count, sex and age alone reach intermediate" in html
    french = report_html(signature=signature, language="fr", media_root=settings.MEDIA_ROOT)
    assert "faible\u00a0: les vacuoles ne donnent aucun point" in french


def test_a_level_signed_under_the_earlier_rule_says_what_it_rested_on(make_specimen, sign,
                                                                      settings):
    from apps.reports.document import report_html

    result = vexas.vexas_score(vexas.VexasInputs(
        n_neutrophils=25, vacuole_probs=[0.1] * 25, mcv_fl=111.8, hgb_g_dl=8.7,
        plt_10_9_l=80.0, sex="M", age_years=83.0))
    entry = {**_vexas_entry(), "value": result.score, "level": "intermediate",
             "evidence": {"contributions": [asdict(c) for c in result.contributions]}}
    older = sign(make_specimen(), scores=[entry])
    html = report_html(signature=older, language="en", media_root=settings.MEDIA_ROOT)
    assert '<td class="level">intermediate, on the blood count, sex and age alone</td>' in html
    french = report_html(signature=older, language="fr", media_root=settings.MEDIA_ROOT)
    assert "intermédiaire, sur la NFS, le sexe et l&#x27;âge seuls" in french
