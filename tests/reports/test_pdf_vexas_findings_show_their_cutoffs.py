"""The PDF's VEXAS evidence says, for each finding of the rule, the value measured, the cut-off
it was compared with and the points it gave, worded from the score's stored evidence (the same
words as the case page's evidence table), in English and in French."""

from __future__ import annotations

from dataclasses import asdict

import pytest

from apps.ml.scores import vexas
from apps.reports.document import report_html
from tests.french import number_and_date_problems, percent_problems, problems
from tests.reports.pdfs import pdf_bytes, pdf_text

# A woman of 50: half the vacuole points (3/25 = 12%), a macrocytic anaemia just past each
# cut-off, platelets just under theirs.
INPUTS = vexas.VexasInputs(
    n_neutrophils=25, vacuole_probs=[0.6] * 3 + [0.2] * 22, mcv_fl=100.5, hgb_g_dl=11.1,
    plt_10_9_l=149.5, sex="F", age_years=50.0)

# Per finding: the row's name, value and points, then what it was compared with.
FINDINGS = {
    "en": [
        "vacuolated neutrophils 12 % of neutrophils 20 of 40 3/25 neutrophils vacuolated "
        "(12%, 95% interval 4–30%; all points from 20%, half from 8%)",
        "macrocytosis 100.5 fL 25 of 25 MCV 100.5 fL (> 100 fL)",
        "anaemia 11.1 g/dL 15 of 15 Hb 11.1 g/dL (< 12 g/dL, the cut-off for women)",
        "thrombocytopenia 149.5 ×10⁹/L 10 of 10 PLT 149.5 ×10⁹/L (< 150 ×10⁹/L)",
        "male sex female 0 of 5 female",
        "age 50 or over 50 years 5 of 5 age 50 (≥ 50)",
        "A neutrophil counts as vacuolated when the biologist saw vacuoles in it or, where the "
        "biologist has not read it, when the model's vacuole probability is 0.5 or more.",
    ],
    "fr": [
        "neutrophiles vacuolés 12 % des neutrophiles 20 sur 40 3/25 neutrophiles vacuolés "
        "(12 %, intervalle à 95 % 4–30 % ; tous les points dès 20 %, la moitié dès 8 %)",
        "macrocytose 100,5 fL 25 sur 25 VGM 100,5 fL (> 100 fL)",
        "anémie 11,1 g/dL 15 sur 15 hémoglobine 11,1 g/dL (< 12 g/dL, seuil chez la femme)",
        "thrombopénie 149,5 ×10⁹/L 10 sur 10 plaquettes 149,5 ×10⁹/L (< 150 ×10⁹/L)",
        "sexe masculin femme 0 sur 5 femme",
        "âge de 50 ans ou plus 50 ans 5 sur 5 âge 50 ans (≥ 50)",
        "Un neutrophile compte comme vacuolé quand le biologiste y a vu des vacuoles ou, s'il "
        "ne l'a pas lu, quand la probabilité de vacuoles du modèle est de 0,5 ou plus.",
    ],
}
# Each column's heading (the text layer's order across a page break is not the page's).
HEADINGS = {"en": ("Input", "Value (unit)", "Points (of", "Finding (cut-off)"),
            "fr": ("Donnée", "Valeur (unité)", "Points (sur", "Constat (seuil)")}


def _vexas_entry() -> dict:
    result = vexas.vexas_score(INPUTS)
    return {"name": "vexas", "definition": "vexas-suspicion", "version": result.version,
            "sha256": "", "state": result.state, "value": result.score, "level": result.level,
            "thresholds": result.thresholds,
            "evidence": {"contributions": [asdict(c) for c in result.contributions]},
            "reasons": [], "text": result.disclaimer}


@pytest.mark.parametrize("language", ["en", "fr"])
def test_each_vexas_finding_is_printed_with_its_cutoff_and_points(make_specimen, sign,
                                                                 rendered, tmp_path, language,
                                                                 settings):
    signature = sign(make_specimen(), scores=[_vexas_entry()])
    # In the order drawn: a row at a page's foot is read whole, before the footer.
    text = " ".join(pdf_text(pdf_bytes(rendered(signature, language)), tmp_path,
                             drawn=True).split())
    assert [h for h in HEADINGS[language] if h not in text] == []
    missing = [finding for finding in FINDINGS[language] if finding not in text]
    assert missing == []
    if language == "fr":
        assert problems(text) == [] and number_and_date_problems(text) == []
        # a percent sign stays on its number's line (read on the HTML the PDF is printed from)
        html = report_html(signature=signature, language=language,
                           media_root=settings.MEDIA_ROOT)
        assert "12\u00a0% des neutrophiles" in html
        assert percent_problems(html) == []
