"""When age and sex, not the blood counts, carry most of the CBC MDS model's evidence, its
headline says so (the contributions are in the score's evidence); otherwise it says nothing."""

from __future__ import annotations

from django.utils import translation

from apps.analysis.models import Score
from apps.analysis.score_text import score_display


def _score(contributions: list[tuple[str, float]], state: str = "scored") -> dict:
    return {"name": "mds_cbc", "state": state, "value": 0.62,
            # The counts alone (output 0.42) reach it too: below it, the headline says the
            # output is above only through age and sex (test_cbc_model_above_its_threshold...).
            "thresholds": {"operating_point": 0.4},
            "evidence": {"contributions": [{"name": n, "unit": "", "value": 1.0,
                                            "contribution": c} for n, c in contributions]}}


DEMOGRAPHIC = [("age", 1.4), ("sex_male", -0.6), ("hb", 0.5), ("plt", -0.3), ("mcv", 0.2)]
COUNTS = [("age", 0.2), ("sex_male", 0.1), ("hb", 1.5), ("plt", -0.9), ("mcv", 0.6)]


def test_headline_says_age_and_sex_drive_the_output():
    with translation.override("en"):
        drivers = score_display(_score(DEMOGRAPHIC))["drivers"]
    assert drivers == ("Driven mostly by age and sex: 67% of the model's evidence comes from "
                       "them, not from the blood counts.")
    with translation.override("fr"):
        assert score_display(_score(DEMOGRAPHIC))["drivers"].startswith(
            "Résultat porté surtout par l'âge et le sexe\u00a0: 67\u00a0%")


def test_no_note_when_the_counts_drive_it_or_the_score_is_not_scored():
    assert score_display(_score(COUNTS))["drivers"] == ""
    assert score_display(_score(DEMOGRAPHIC, state="indeterminate"))["drivers"] == ""
    assert score_display({**_score(DEMOGRAPHIC), "name": "vexas"})["drivers"] == ""


def test_the_case_page_headline_carries_the_note(client, biologist, specimen):
    payload = _score(DEMOGRAPHIC)
    Score.objects.create(specimen=specimen, name="mds_cbc", revision=1, definition="mds-cbc",
                         version="1", state="scored", value=0.62, level="above_threshold",
                         thresholds=payload["thresholds"], evidence=payload["evidence"],
                         reasons=[], text="", trigger="test")
    client.force_login(biologist)
    page = client.get(f"/review/{specimen.accession}/").content.decode()
    headline = page.split('data-score="mds_cbc"', 1)[1].split('class="score-value"', 1)[1]
    headline = headline.split("</p>", 1)[0]
    assert "Driven mostly by age and sex: 67%" in headline


def test_an_indeterminate_model_shows_no_log_odds_parts_the_rule_shows_its_findings():
    assert score_display(_score(COUNTS))["table"]["rows"]
    assert score_display(_score(COUNTS, state="indeterminate"))["table"] is None
    assert score_display({**_score(COUNTS, state="unavailable"), "name": "mds_fused"}
                         )["table"] is None
    vexas = {**_score(COUNTS, state="indeterminate"), "name": "vexas"}
    assert score_display(vexas)["table"]["rows"]
    # Its points are not read as a level: the table says they are not added up.
    assert score_display(vexas)["parts_note"].startswith(
        "The points of the findings that could be read, not added up into a level")
    assert score_display({**vexas, "state": "scored"})["parts_note"] == ""
    # Nor are the levels' cut-offs ("high from 70 points") printed beside them.
    thresholds = {"level_intermediate": 0.4, "level_high": 0.7}
    assert score_display({**vexas, "thresholds": thresholds})["levels"] == ""
    assert "70 points" in score_display({**vexas, "state": "scored",
                                         "thresholds": thresholds})["levels"]

