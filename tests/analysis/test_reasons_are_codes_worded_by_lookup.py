"""What the scoring code and the flag rules write is a code with its parameters, worded in the
reader's language by dictionary lookup: no regular expression reads a stored sentence back, and
every code has French words that differ from the English ones and carry the figures."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest
from django.utils import translation

from apps.analysis import score_text, scores
from apps.ml.scores import reasons
from apps.patients import flag_reasons, flag_text
from apps.patients.models import SpecimenFlag

ROOT = Path(__file__).resolve().parents[2]
# The modules that word reasons, and those that write them.
WORDING = [ROOT / "apps/analysis/score_text.py", ROOT / "apps/patients/flag_text.py",
           ROOT / "apps/review/display.py"]
WRITING = [ROOT / "apps/ml/scores/vexas.py", ROOT / "apps/ml/scores/mds_image.py",
           ROOT / "apps/ml/scores/fused.py", ROOT / "apps/ml/scores/mds_cbc.py",
           ROOT / "apps/hemograms/flags.py", ROOT / "apps/analysis/scores.py"]


def _regex_uses(path: Path) -> list[str]:
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found += [f"import {a.name}" for a in node.names if a.name in ("re", "regex")]
        elif isinstance(node, ast.ImportFrom) and node.module in ("re", "regex"):
            found.append(f"from {node.module} import ...")
    return found


@pytest.mark.parametrize("path", WORDING, ids=lambda p: p.name)
def test_no_regular_expression_words_a_reason(path):
    assert _regex_uses(path) == [], f"{path.name} reads text back with regular expressions"


def test_the_check_itself_finds_a_regular_expression(tmp_path):
    module = tmp_path / "m.py"
    module.write_text("import re\nfrom re import fullmatch\n")
    assert _regex_uses(module) == ["import re", "from re import ..."]


# Parameters of each code, as the code that writes it stores them. A new code without an
# example here fails the test below: it needs words, and an example to check them.
SCORE_EXAMPLES: dict[str, dict] = {
    reasons.FEW_NEUTROPHILS: {"n": 7, "min": 20},
    reasons.INPUT_MISSING: {"input": "mcv"},
    reasons.INPUT_REQUIRED: {"input": "anc"},
    reasons.INPUT_OUTSIDE_TRAINING: {"input": "wbc", "value": 80.5, "low": 1.2, "high": 47.0,
                                     "unit": "10^9/L"},
    reasons.NO_CYTOPENIA: {"hb": 14.8, "anc": 4.1, "plt": 250.0, "hb_cutoff": 13.0,
                           "anc_cutoff": 1.8, "plt_cutoff": 150.0, "sex": "M"},
    reasons.VACUOLE_OUTPUT_UNAVAILABLE: {},
    reasons.NO_ANOMALY_OUTPUT: {},
    reasons.NO_DYSPLASIA_OUTPUT: {},
    reasons.NEUTROPHILS_WITHOUT_ANOMALY: {"n": 3},
    reasons.NO_MODEL: {"kind": "cbc"},
    reasons.MODEL_SYNTHETIC: {"model": "hemaclinic-fused"},
    reasons.MODEL_NOT_RELEASED: {"model": "hemaclinic-fused"},
    reasons.MODEL_OTHER_CELL_MODEL: {"model": "hemaclinic-fused", "trained_on": "aa",
                                     "installed": "bb"},
    reasons.MODEL_INVALID: {"detail": "registry.json: no such file"},
    reasons.NO_NEUTROPHIL: {},
    reasons.VACUOLATED_SHARE: {"k": 3, "n": 25, "fraction": 0.12, "high": 0.2, "low": 0.08},
    reasons.MCV_CUTOFF: {"value": 101.5, "cutoff": 100.0, "met": True},
    reasons.HB_CUTOFF: {"value": 12.5, "cutoff": 13.0, "sex": "M", "met": True},
    reasons.ANAEMIA_CUTOFF_UNDEFINED: {},
    reasons.PLT_CUTOFF: {"value": 149.5, "cutoff": 150.0, "met": True},
    reasons.SEX: {"sex": "M"},
    reasons.AGE_CUTOFF: {"value": 49.5, "cutoff": 50.0, "met": False},
    reasons.HYPOSEGMENTATION_UNAVAILABLE: {},
    reasons.HYPOSEGMENTED_SHARE: {"fraction": 0.04},
    scores.CELLS_OUTSIDE_DOMAIN: {},
    scores.DEMOGRAPHICS_REQUIRED: {"input": "age, sex"},
    scores.ANALYSER_SUSPECTS_BLASTS: {"messages": ["Blasts/Abn Lympho?"]},
}
FLAG_EXAMPLES: dict[str, dict] = {
    flag_reasons.CBC_LIMIT: {"analyte": "HGB", "value": 9.5, "unit": "g/dL", "op": "<",
                             "limit": 12.0},
    flag_reasons.VEXAS_LEVEL: {"level": "high", "points": 75},
    flag_reasons.MDS_CBC_ABOVE: {"probability": 0.8125, "threshold": 0.5},
    flag_reasons.DYSPLASIA_ABOVE: {"fraction": 0.125, "threshold": 0.1},
    flag_reasons.OUTSIDE_DOMAIN: {"outside": 20, "cells": 30, "max_outside": 0.1},
    flag_reasons.ANALYSER_IP: {"messages": ["Blasts/Abn Lympho?", "PLT Clumps?"]},
    flag_reasons.CBC_HELD: {"n": 2},
    flag_reasons.CBC_RECORD_DIFFERS: {"fields": ["collected_at", "sex"]},
    flag_reasons.RECORD_CORRECTED: {"fields": ["birth_date", "sex"]},
}


def _codes(module) -> set[str]:  # type: ignore[no-untyped-def]
    return {v for k, v in vars(module).items() if k.isupper() and isinstance(v, str)}


def _figures(text: str) -> list[str]:
    return sorted(re.findall(r"\d+(?:[.,]\d+)?", text))


def test_every_reason_code_has_words_and_an_example():
    written = _codes(reasons) | {scores.CELLS_OUTSIDE_DOMAIN, scores.DEMOGRAPHICS_REQUIRED,
                                 scores.ANALYSER_SUSPECTS_BLASTS}
    assert written == set(SCORE_EXAMPLES) and written <= set(score_text.REASONS)
    assert flag_reasons.CODES == set(FLAG_EXAMPLES) <= set(flag_text.REASONS)


@pytest.mark.parametrize(("code", "params"), [*SCORE_EXAMPLES.items(), *FLAG_EXAMPLES.items()],
                         ids=lambda v: v if isinstance(v, str) else "")
def test_every_reason_code_reads_in_french(code, params):
    def words() -> str:
        if code in FLAG_EXAMPLES:
            return flag_text.flag_reason(SpecimenFlag(
                name="x", rule="", reason={"code": code, "params": params}))
        return score_text.reason_text({"code": code, "params": params})

    with translation.override("en"):
        english = words()
    with translation.override("fr"):
        french = words()
    assert french != english, (code, french)
    assert code not in french and code not in english
    # The stored figures in both, written the French way in French.
    assert [f.replace(",", ".") for f in _figures(french)] == _figures(english), (english, french)
    assert not re.search(r"\d\.\d", french), french


def test_the_worklist_names_a_cbc_parameter_the_readers_way():
    """The analyser's code stays in the stored reason; the worklist prints the short name a
    reader knows, in their language (the patient context's names)."""
    from apps.review.templatetags.review_text import flag_reason_filter

    flag = SpecimenFlag(name="macrocytosis", rule="", reason={
        "code": flag_reasons.CBC_LIMIT, "params": {"analyte": "MCV", "value": 113.0, "unit": "fL",
                                                   "op": ">", "limit": 100.0}})
    with translation.override("en"):
        assert flag_reason_filter(flag) == "MCV 113 fL > 100"
    with translation.override("fr"):
        assert flag_reason_filter(flag) == "VGM 113 fL > 100"
    assert flag_text.flag_reason(flag) == "MCV 113 fL > 100"  # the code, without the names


def test_one_cell_outside_reads_in_the_singular_in_french():
    flag = SpecimenFlag(name="cells_outside_domain", rule="", reason={
        "code": flag_reasons.OUTSIDE_DOMAIN, "params": {"outside": 1, "cells": 3}})
    with translation.override("fr"):
        assert flag_text.flag_reason(flag) == "1 image sur 3 hors du domaine validé"
    flag.reason["params"]["outside"] = 2
    with translation.override("fr"):
        assert flag_text.flag_reason(flag) == "2 images sur 3 hors du domaine validé"


def test_a_signed_report_says_what_was_not_done_not_which_key_to_press():
    """The case page tells the biologist how to let the VEXAS rule count (their reads, keys V
    and Shift+V); the signed report, read in the patient file, says what was not done."""
    reason = reasons.Reason(scores.VEXAS_NEEDS_READS, {"read": 3, "n": 12, "waiting": 2})
    with translation.override("en"):
        page = score_text.reason_text(reason)
        report = score_text.reason_text(reason, report=True)
    assert "Shift+V" in page and "your" in page
    assert report == ("on a smear outside the validated domain the rule counts the "
                      "biologist's vacuole reads alone, and not every neutrophil was read: 3 of "
                      "12; some images were not classified")
    with translation.override("fr"):
        french = score_text.reason_text(reason, report=True)
    assert "Maj+V" not in french and "vos" not in french and "3 sur 12" in french
    # Every other reason reads the same in both.
    other = reasons.Reason(reasons.NO_NEUTROPHIL, {})
    assert score_text.reason_text(other, report=True) == score_text.reason_text(other)
