"""The VEXAS rule's vacuole count reads with the 95% interval of its share: 3 vacuolated of 28
neutrophils (11%) is 4–27%, across both cut-offs (8% and 20%), so a reader sees that one cell
more or less moves the level; the rule itself is unchanged."""

from __future__ import annotations

from django.utils import translation

from apps.analysis.score_text import reason_text


def _share(k: int, n: int) -> dict:
    return {"code": "vacuolated_share",
            "params": {"k": k, "n": n, "fraction": k / n if n else None, "high": 0.2,
                       "low": 0.08}}


def test_the_interval_is_given_in_both_languages():
    with translation.override("en"):
        assert reason_text(_share(3, 28)) == (
            "3/28 neutrophils vacuolated (11%, 95% interval 4–27%; all points from 20%, half "
            "from 8%)")
        assert "95% interval 0–2%" in reason_text(_share(0, 200))
    with translation.override("fr"):
        assert "intervalle à 95\u00a0% 4–27\u00a0%" in reason_text(_share(3, 28))


def test_without_a_count_it_reads_as_before():
    with translation.override("en"):
        text = reason_text({"code": "vacuolated_share",
                            "params": {"k": None, "n": 0, "fraction": None, "high": 0.2,
                                       "low": 0.08}})
    assert "interval" not in text
