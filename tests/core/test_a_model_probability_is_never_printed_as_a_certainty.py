"""No model's output is a certainty: a probability of 0.9996 is printed "> 0.99" or "> 99%"
(a no-break space after the sign), never "1.00" or "100.0 %" (the signed report printed
"Neutrophil (100.0 %)"), and 0.0004 "< 0.01" / "< 1%"; in French with a decimal comma and a
no-break space before the sign."""

from __future__ import annotations

from django.utils import translation

from apps.analysis.score_text import percent, probability_percent
from apps.core.numbers import probability


def test_the_ends_read_as_ends_in_english_and_french():
    with translation.override("en"):
        assert [probability(v) for v in (0.9996, 0.995, 0.994, 0.5, 0.005, 0.0004)] == [
            ">\u00a00.99", ">\u00a00.99", "0.99", "0.50", "0.01", "<\u00a00.01"]
        assert [probability_percent(v) for v in (0.9999, 0.995, 0.994, 0.0049, None)] == [
            ">\u00a099%", ">\u00a099%", "99%", "<\u00a01%", ""]
    with translation.override("fr"):
        assert probability(0.9996) == ">\u00a00,99" and probability(0.87) == "0,87"
        assert probability_percent(1.0) == ">\u00a099\u00a0%"
        assert probability_percent(0.42) == "42\u00a0%"


def test_a_share_of_cells_is_not_a_probability_and_may_be_whole():
    # 12 of 12 neutrophils vacuolated is 100%: a count, not a model's certainty.
    with translation.override("en"):
        assert percent(1.0) == "100%" and percent(0.0) == "0%"
