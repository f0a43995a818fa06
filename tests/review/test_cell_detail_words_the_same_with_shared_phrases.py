"""The case page words its 200 cells through one Phrases (each phrase translated and formatted
once): every phrase, every gallery figure's probability (as `floatformat:2` printed it) and
every cell's pane entry reads exactly as worded one at a time, in English and in French."""

from __future__ import annotations

import struct
from types import SimpleNamespace

import pytest
from django.utils import translation

from apps.analysis.score_text import probability_percent
from apps.core.numbers import probability
from apps.review.display import (
    ANOMALIES,
    ATTRIBUTES,
    SUBTYPES,
    Phrases,
    _word,
    cell_detail,
    class_label,
)

VALUES = [0, 1, 0.0, 1.0, 0.004, 0.005, 0.125, 0.135, 0.5, 0.994, 0.995, 0.9999, 2, -0.3, 12.5,
          None, True, False, "0.5", float("nan")]


def _prediction(i: int) -> SimpleNamespace:
    cell_class = ["neutrophil", "ig", "other", "", "mystery_cell"][i % 5]
    return SimpleNamespace(
        cell_class=cell_class, counted_class=cell_class if i % 7 else "",  # no white cell
        shows_a_cell=bool(i % 7), figures_hold=bool(i % 7) and bool(i % 4),  # 4, 8: outside
        class_probs={"neutrophil": VALUES[i % (len(VALUES) - 1)], "ig": 0.2, "monocyte": None,
                     "lymphocyte": 0.015 * i},
        subtype=["segmented_neutrophil", "", "odd_subtype"][i % 3], subtype_prob=0.01 * i,
        attributes={"cell_size": "big", "granule_type": ["small", "nil", "coarse"][i % 3],
                    "granule_colour": "nil", "new_attribute": ["odd value", None, 3][i % 3]},
        attribute_probs={"cell_size": {"big": 0.5 + i / 100}, "granule_type": {"small": 0.7}},
        anomalies={})


@pytest.mark.parametrize("language", ["en", "fr"])
def test_each_phrase_reads_as_worded_alone(language: str) -> None:
    with translation.override(language):
        phrases = Phrases()
        for _ in range(2):  # the second round comes from what the first one kept
            for value in VALUES:
                if value == value:  # nan is never equal: percent() of nan raises alike
                    assert phrases.percent(value) == probability_percent(value), value
            for value in [*VALUES, 0.005, 0.015, 0.125, 0.135, 0.145, 0.165, 0.995, -0.004,
                          1e-9, 5e-3 - 1e-12, 0.285, 1.005, 7, 1e12, float("inf")]:
                if value == value and isinstance(value, int | float) \
                        and not isinstance(value, bool):
                    assert phrases.probability(value) == probability(value), value
            for i in range(1001):  # probabilities, as doubles and as the model's float32
                for value in (i / 1000, struct.unpack("f", struct.pack("f", i / 1000))[0]):
                    assert phrases.probability(value) == probability(value), value
            for code in ["neutrophil", "ig", "unclassified", "", None, "odd_class"]:
                assert phrases.class_label(code) == class_label(code)
            for words in (SUBTYPES, ATTRIBUTES, ANOMALIES):
                for code in [*words, "unknown_code", "", None, 3]:
                    assert phrases.word(words, code) == _word(words, code)


@pytest.mark.parametrize("language", ["en", "fr"])
def test_a_page_of_cells_reads_as_cells_worded_alone(language: str) -> None:
    with translation.override(language):
        phrases = Phrases()
        for i in range(60):
            prediction = _prediction(i)
            anomalies = {"vacuole": VALUES[i % 12], "barr_body": None, "pseudo_pelger": 0.5}
            kwargs = {"cell_id": i, "final_class": prediction.cell_class, "reviewed": i % 2 == 0,
                      "prediction": prediction if i % 9 else None, "anomalies": anomalies,
                      "domain_flag": ""}
            assert cell_detail(**kwargs, phrases=phrases) == cell_detail(**kwargs)
