"""Reasons (codes with parameters) and disclaimers written by the scoring code read in the
user's language; a reason stored as a sentence before reasons were codes reads as stored."""

from __future__ import annotations

import json

from django.utils import translation

from apps.analysis.score_text import REASONS, reason_text, translate
from apps.ml.scores import fused, mds_cbc, mds_image, reasons, vexas
from apps.ml.scores.reasons import Reason


def test_every_disclaimer_and_known_reason_has_a_french_text():
    with translation.override("fr"):
        for disclaimer in (vexas.DISCLAIMER, mds_cbc.DISCLAIMER, mds_image.DISCLAIMER,
                           fused.DISCLAIMER):
            assert translate(disclaimer) != disclaimer
        assert reason_text(Reason(reasons.FEW_NEUTROPHILS, {"n": 7, "min": 20})) == \
            "moins de 20 neutrophiles analysés (n=7)"
        # "Donnée" agrees with every input, masculine or feminine (hémoglobine manquante).
        assert reason_text(Reason(reasons.INPUT_MISSING, {"input": "mcv"})) == \
            "donnée manquante\u00a0: VGM"
        assert reason_text(Reason(reasons.INPUT_MISSING, {"input": "hb"})) == \
            "donnée manquante\u00a0: hémoglobine"
        assert reason_text({"code": "input_required", "params": {"input": "anc"}}) == \
            "donnée manquante\u00a0: nombre de polynucléaires neutrophiles (requise)"
        assert "10\u00a0%" in translate(mds_image.DISCLAIMER)
    with translation.override("en"):
        assert translate(vexas.DISCLAIMER) == vexas.DISCLAIMER
        assert reason_text(Reason(reasons.INPUT_MISSING, {"input": "mcv"})) == "MCV missing"


def test_the_cbc_model_is_never_called_a_probability_of_mds_even_as_stored_before():
    # Scores stored before 2026-12-06 keep the earlier sentence; a page reads it anew.
    for lang in ("en", "fr"):
        with translation.override(lang):
            shown = translate(mds_cbc.DISCLAIMER_BEFORE)
            assert shown == translate(mds_cbc.DISCLAIMER)
            assert not shown.lower().startswith(("cbc-based mds probability", "probabilité"))
    with translation.override("en"):
        assert "not in this laboratory's patients" in translate(mds_cbc.DISCLAIMER_BEFORE)
    with translation.override("fr"):
        assert "pas chez les patients de ce laboratoire" in translate(mds_cbc.DISCLAIMER_BEFORE)


def test_a_stored_reason_is_its_code_and_parameters_and_reads_the_same():
    reason = Reason(reasons.NEUTROPHILS_WITHOUT_ANOMALY, {"n": 3})
    stored = json.loads(json.dumps(reason.as_dict()))
    assert stored == {"code": "neutrophils_without_anomaly", "params": {"n": 3}}
    with translation.override("fr"):
        assert reason_text(stored) == reason_text(reason) == \
            "3 neutrophiles sans probabilité d'anomalie"


def test_unknown_text_or_code_is_shown_as_it_is():
    with translation.override("fr"):
        # Also a sentence stored by a row written before reasons were codes.
        assert reason_text("fewer than 20 neutrophils analysed (n=7)") == \
            "fewer than 20 neutrophils analysed (n=7)"
        assert reason_text({"code": "future_code", "params": {"n": 2}}) == "future_code {'n': 2}"


def test_the_reasons_the_scoring_code_writes_today_are_all_known():
    written = list(vexas.vexas_score(vexas.VexasInputs(n_neutrophils=3, vacuole_probs=None))
                   .reasons)
    written += list(vexas.vexas_score(vexas.VexasInputs(
        n_neutrophils=2, vacuole_probs=[0.1, 0.9])).reasons)
    written += list(mds_image.mds_image_evidence({}, n_neutrophils=0).reasons)
    written += list(mds_image.mds_image_evidence({"vacuole": [0.2, None]},
                                                 n_neutrophils=2).reasons)
    written += [fused.NO_MODEL]
    assert len(written) >= 8
    assert all(r.code in REASONS for r in written)
    # Every code of apps.ml.scores.reasons has its words.
    codes = {v for k, v in vars(reasons).items() if k.isupper() and isinstance(v, str)}
    assert codes <= set(REASONS)
    with translation.override("en"):
        english = [reason_text(r) for r in written]
    with translation.override("fr"):
        french = [reason_text(r) for r in written]
    assert [e for e, f in zip(english, french, strict=True) if e == f] == []
