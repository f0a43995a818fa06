"""The page and the report say how few unread model calls a VEXAS level rests on, in the
reader's language (apps.ml.scores.vexas.unread_margin worded by score_text)."""

from __future__ import annotations

from dataclasses import asdict

from django.utils import translation

from apps.analysis.score_text import score_display
from apps.ml.scores.vexas import VexasInputs, vexas_score


def _stored(probs: list[float], reads: list[bool | None] | None = None) -> dict:
    result = vexas_score(VexasInputs(n_neutrophils=len(probs), vacuole_probs=probs,
                                     vacuole_reads=reads, mcv_fl=106.0, hgb_g_dl=9.5,
                                     plt_10_9_l=250.0, sex="M", age_years=70.0))
    return {"name": "vexas", "state": result.state, "value": result.score,
            "level": result.level, "thresholds": result.thresholds, "inputs": {},
            "evidence": {"contributions": [asdict(c) for c in result.contributions]}}


def test_the_margin_is_said_in_english_and_french():
    score = _stored([0.9] * 4 + [0.1] * 28)
    with translation.override("en"):
        assert score_display(score)["unread_margin"] == (
            "This level rests on neutrophils counted vacuolated on the model's output alone, "
            "which no one has read: with 2 fewer of them it would be low.")
    with translation.override("fr"):
        assert score_display(score, report=True)["unread_margin"] == (
            "Ce niveau repose sur des neutrophiles comptés vacuolés sur la seule sortie du "
            "modèle, que personne n’a relus\u00a0: avec 2 de moins, il serait faible.")
    read = _stored([0.9] * 4 + [0.1] * 28, reads=[True] * 4 + [None] * 28)
    assert score_display(read)["unread_margin"] == ""
