"""Reasons and disclaimers written by the scoring code read in the user's language."""

from __future__ import annotations

from django.utils import translation

from apps.analysis.score_text import translate
from apps.ml.scores import fused, mds_cbc, mds_image, vexas


def test_every_disclaimer_and_known_reason_has_a_french_text():
    with translation.override("fr"):
        for disclaimer in (vexas.DISCLAIMER, mds_cbc.DISCLAIMER, mds_image.DISCLAIMER,
                           fused.DISCLAIMER):
            assert translate(disclaimer) != disclaimer
        assert translate("fewer than 20 neutrophils analysed (n=7)") == \
            "moins de 20 neutrophiles analysés (n=7)"
        assert translate("MCV missing") == "VGM manquant"
        assert translate("anc missing (required)") == \
            "nombre de polynucléaires neutrophiles manquant (requis)"
        assert "10 %" in translate(mds_image.DISCLAIMER)
    with translation.override("en"):
        assert translate(vexas.DISCLAIMER) == vexas.DISCLAIMER
        assert translate("MCV missing") == "MCV missing"


def test_unknown_text_is_shown_as_it_is():
    with translation.override("fr"):
        assert translate("something new from a future model") == \
            "something new from a future model"


def test_the_reasons_the_scoring_code_writes_today_are_all_known():
    reasons = list(vexas.vexas_score(vexas.VexasInputs(n_neutrophils=3, vacuole_probs=None))
                   .reasons)
    reasons += list(vexas.vexas_score(vexas.VexasInputs(
        n_neutrophils=2, vacuole_probs=[0.1, 0.9])).reasons)
    reasons += list(mds_image.mds_image_evidence({}, n_neutrophils=0).reasons)
    reasons += [fused.NO_MODEL]
    assert len(reasons) >= 7
    with translation.override("fr"):
        untranslated = [r for r in reasons if translate(r) == r]
    assert untranslated == []
