"""A "high" VEXAS level reached with 4 of 32 neutrophils the model called vacuolated (12%,
half the vacuole points) fell to "intermediate" (since vexas-rule 1.3, "low": no vacuole
points left) with two fewer calls, and nothing on the page
said so: the level now says how few calls that no one has read it rests on."""

from __future__ import annotations

from dataclasses import asdict

from apps.ml.scores.vexas import VexasInputs, unread_margin, vexas_score

MACROCYTIC_ANAEMIA = {"mcv_fl": 106.0, "hgb_g_dl": 9.5, "plt_10_9_l": 250.0, "sex": "M",
                      "age_years": 70.0}


def _result(probs: list[float], reads: list[bool | None] | None = None,
            **cbc: object):  # type: ignore[no-untyped-def]
    result = vexas_score(VexasInputs(n_neutrophils=len(probs), vacuole_probs=probs,
                                     vacuole_reads=reads, **{**MACROCYTIC_ANAEMIA, **cbc}))
    return result.level, [asdict(c) for c in result.contributions]


def test_a_level_on_a_few_unread_calls_says_how_few():
    level, parts = _result([0.9] * 4 + [0.1] * 28)        # 4/32: half the vacuole points
    assert level == "high" and unread_margin(level, parts) == (2, "low")  # none score: low


def test_reads_and_a_wide_margin_say_nothing():
    # The same four calls read by the biologist: the level rests on reads, not on the model.
    level, parts = _result([0.9] * 4 + [0.1] * 28, reads=[True] * 4 + [None] * 28)
    assert level == "high" and unread_margin(level, parts) is None
    # 16/32 vacuolated: the level holds while 3/32 (9%) still score half the points.
    level, parts = _result([0.9] * 16 + [0.1] * 16)
    assert level == "high" and unread_margin(level, parts) == (14, "low")
    # A low level has nothing to fall from; a result stored before "unread" was kept, neither.
    level, parts = _result([0.1] * 32, mcv_fl=90.0, hgb_g_dl=14.0)
    assert level == "low" and unread_margin(level, parts) is None
    level, parts = _result([0.9] * 4 + [0.1] * 28)
    del parts[0]["reason"]["params"]["unread"]
    assert unread_margin(level, parts) is None
