"""The VEXAS worklist flag reads as points out of 100 (as on the page), never as a figure that
reads as a probability, in English and French; the VEXAS score stores as evidence only the
cells at or above its cut-off."""

from __future__ import annotations

from django.utils import translation

from apps.analysis.models import Score
from apps.analysis.scores import _flags, scores_compute
from apps.ml.scores import vexas
from apps.patients.flag_text import flag_reason
from apps.patients.models import SpecimenFlag
from apps.workflow.services import cbc_import
from tests.analysis.test_scores import CBC, neutrophil_specimen  # noqa: F401 (fixture)


def _payloads(value: float, level: str) -> dict:
    off = {"state": "indeterminate", "level": "", "value": None, "thresholds": {}}
    vacuoles = {"name": "vacuoles", "points": 0.2, "weight": 0.4}  # vacuolated neutrophils seen
    return {"vexas": {"state": "scored", "level": level, "value": value, "thresholds": {},
                      "evidence": {"contributions": [vacuoles]}},
            "mds_cbc": {**off, "state": "scored", "level": "above_threshold", "value": 0.8125,
                        "thresholds": {"operating_point": 0.5}},
            "mds_image": {**off, "state": "scored", "level": "above_who", "value": 0.125}}


def _stored(value: float, level: str) -> dict[str, SpecimenFlag]:
    """The flags as scores_compute stores them (not saved)."""
    return {name: SpecimenFlag(name=name, rule=rule, reason=reason.as_dict())
            for name, rule, reason in _flags(_payloads(value, level))}


def test_the_flag_reasons_in_english_and_in_french():
    flags = _stored(0.75, "high")
    assert flags["vexas_suspicion"].rule == "VEXAS suspicion high (75 points of 100)"
    assert flags["vexas_suspicion"].reason == {
        "code": "vexas_level", "params": {"level": "high", "points": 75}}
    with translation.override("fr"):
        assert flag_reason(flags["vexas_suspicion"]) == \
            "Suspicion de VEXAS élevée (75 points sur 100)"
        assert flag_reason(_stored(0.45, "intermediate")["vexas_suspicion"]) == \
            "Suspicion de VEXAS intermédiaire (45 points sur 100)"
        assert flag_reason(flags["mds_risk"]) == \
            "Modèle SMD sur NFS\u00a0: sortie 0,81, au seuil de 0,5 ou au-dessus"
        assert flag_reason(flags["dysplasia"]) == \
            "Neutrophiles d'aspect dysplasique\u00a0: 12\u00a0%, au seuil de 10\u00a0% ou au-dessus"
    with translation.override("en"):
        assert flag_reason(flags["vexas_suspicion"]) == "VEXAS suspicion high (75 points of 100)"
        assert flag_reason(flags["mds_risk"]) == \
            "CBC MDS model: output 0.81, at or above 0.5"
        assert flag_reason(flags["dysplasia"]) == \
            "dysplastic-looking neutrophils 12%, at or above 10%"


def test_vexas_stores_only_the_cells_at_or_above_its_cutoff(technician, neutrophil_specimen):  # noqa: F811
    cbc_import(actor=technician, data=CBC)
    scores_compute(specimen_id=neutrophil_specimen.pk, trigger="test")
    score = Score.objects.get(specimen=neutrophil_specimen, name="vexas")
    cutoff = vexas.thresholds()["vacuole_prob_cutoff"]
    cells = score.evidence["cells"]
    assert len(cells) == 8                       # the 8 vacuolated of 30 (0.9), not the 0.05s
    assert all(c["vacuole"] >= cutoff for c in cells)
    flag = SpecimenFlag.objects.get(specimen=neutrophil_specimen, name="vexas_suspicion")
    points = round(100 * score.value)
    assert flag.rule == f"VEXAS suspicion {score.level} ({points} points of 100)"
    assert flag.reason == {"code": "vexas_level",
                           "params": {"level": score.level, "points": points}}


def test_the_mds_flag_says_when_age_and_sex_drive_the_probability():
    """The worklist flag carries the case page headline's note (apps.ml.scores.mds_cbc
    .driven_by_demographics): a probability carried by age and sex is not read as the counts'."""
    payloads = _payloads(0.75, "high")
    # Most of the evidence, but the count alone (output 0.61) still reaches the threshold.
    payloads["mds_cbc"]["evidence"] = {"contributions": [
        {"name": "age", "contribution": 0.8}, {"name": "sex_male", "contribution": 0.2},
        {"name": "hb", "contribution": 0.3}]}
    flag = {name: SpecimenFlag(name=name, rule=rule, reason=reason.as_dict())
            for name, rule, reason in _flags(payloads)}["mds_risk"]
    assert flag.rule == "CBC MDS model 0.81 >= 0.50, driven mostly by age and sex"
    assert flag.reason["params"]["age_and_sex"] is True
    with translation.override("en"):
        assert flag_reason(flag) == ("CBC MDS model: output 0.81, at or above 0.5, driven "
                                     "mostly by age and sex")
    with translation.override("fr"):
        assert flag_reason(flag) == ("Modèle SMD sur NFS\u00a0: sortie 0,81, au seuil de 0,5 ou "
                                     "au-dessus, portée surtout par l'âge et le sexe")
    # Without contributions (or when the counts drive it) the flag says nothing more.
    assert _stored(0.75, "high")["mds_risk"].reason["params"]["age_and_sex"] is False
    # Above the threshold only through age and sex (the count alone: 0.37): said so.
    payloads["mds_cbc"]["evidence"]["contributions"][:2] = [
        {"name": "age", "contribution": 1.4}, {"name": "sex_male", "contribution": 0.6}]
    rule = {name: rule for name, rule, _reason in _flags(payloads)}["mds_risk"]
    assert rule == ("CBC MDS model 0.81 >= 0.50, only through age and sex (the count alone "
                    "0.37 < 0.50)")


def test_the_mds_probability_names_the_prevalence_it_holds_at():
    """The CBC model's probability is calibrated to its training cohort's MDS share (65.5%,
    from its card): the worklist flag and the score headline say so, in both languages."""
    from apps.analysis.score_text import score_calibration_text, score_value_text

    payloads = _payloads(0.75, "high")
    payloads["mds_cbc"]["thresholds"]["training_prevalence"] = 0.655
    flag = {name: SpecimenFlag(name=name, rule=rule, reason=reason.as_dict())
            for name, rule, reason in _flags(payloads)}["mds_risk"]
    thresholds = payloads["mds_cbc"]["thresholds"]
    with translation.override("en"):
        assert flag_reason(flag) == ("CBC MDS model: output 0.81, at or above 0.5 "
                                     "(a probability only in a cohort with 65.5% MDS)")
        assert score_value_text("mds_cbc", 0.8125, thresholds) == "model output 0.81"
        assert score_calibration_text("mds_cbc", thresholds) == (
            "Calibrated to its training cohort, where 65.5% had MDS: where MDS is rarer, the "
            "same output means a lower probability.")
        assert score_calibration_text("mds_cbc", {}) == ""
    with translation.override("fr"):
        assert flag_reason(flag).endswith(
            "(une probabilité seulement dans une cohorte à 65,5\u00a0% de SMD)")
        assert score_calibration_text("mds_cbc", thresholds).startswith(
            "Calibrée sur sa cohorte d'apprentissage, dont 65,5\u00a0% avaient un SMD")


def test_the_installed_cbc_model_gives_its_training_prevalence(settings):
    import json

    from apps.analysis.scores import _training_prevalence

    card = json.loads((settings.MODELS_ONNX_DIR / "hemaclinic-mds-cbc" / "1.0.0" / "card.json")
                      .read_text())
    assert _training_prevalence(card) == {"training_prevalence": 0.655}
    assert _training_prevalence({}) == {}


def test_without_vacuolated_neutrophils_the_vexas_rule_flags_nothing():
    """Macrocytic anaemia, low platelets, male sex and age reach 60 points without a single
    vacuolated neutrophil: a result signed under vexas-rule 1.2 kept "intermediate"; the
    worklist does not call it a VEXAS suspicion (an older man with MDS or a B12 deficiency
    would be one) and the pages say what it rests on."""
    payloads = _payloads(0.6, "intermediate")
    payloads["vexas"]["evidence"]["contributions"] = [
        {"name": "vacuoles", "points": 0.0, "weight": 0.4},
        {"name": "macrocytosis", "points": 0.25, "weight": 0.25}]
    assert "vexas_suspicion" not in {name for name, _rule, _reason in _flags(payloads)}
    from apps.analysis.score_text import score_display

    shown = score_display({"name": "vexas", **payloads["vexas"]})["without_vacuoles"]
    assert shown.startswith("The vacuoles give none of its points: the level rests on")
    # The level itself says so, where a reader skimming the column reads it.
    level = score_display({"name": "vexas", **payloads["vexas"]})["level"]
    assert level == "intermediate, on the blood count, sex and age alone"
    with translation.override("fr"):
        level = score_display({"name": "vexas", **payloads["vexas"]})["level"]
    assert level == "intermédiaire, sur la NFS, le sexe et l'âge seuls"
    with translation.override("fr"):
        shown = score_display({"name": "vexas", **payloads["vexas"]})["without_vacuoles"]
    assert shown.startswith("Les vacuoles ne lui donnent aucun point\u00a0: le niveau repose")
    # One vacuolated neutrophil of 25, under the share that scores: not "none vacuolated",
    # which the evidence beside it (1/25, its image) would contradict.
    payloads["vexas"]["evidence"]["contributions"][0]["reason"] = {
        "code": "vacuolated_share",
        "params": {"k": 1, "n": 25, "fraction": 0.04, "high": 0.2, "low": 0.08, "read": 0}}
    shown = score_display({"name": "vexas", **payloads["vexas"]})["without_vacuoles"]
    assert shown.startswith("The vacuoles give none of its points (1/25 neutrophils "
                            "vacuolated, under the 8% from which they score): the level")
    assert "No vacuolated" not in shown
    with translation.override("fr"):
        shown = score_display({"name": "vexas", **payloads["vexas"]})["without_vacuoles"]
    assert shown.startswith("Les vacuoles ne lui donnent aucun point (1/25 neutrophiles "
                            "vacuolés, sous les 8\u00a0% à partir desquels elles comptent)")
    payloads = _payloads(0.6, "intermediate")  # with vacuolated neutrophils: nothing to add
    assert score_display({"name": "vexas", **payloads["vexas"]})["without_vacuoles"] == ""
    assert score_display({"name": "vexas", **payloads["vexas"]})["level"] == "intermediate"


def test_a_woman_whose_points_reach_intermediate_without_vacuoles_reads_low_and_why():
    """55 points of a woman's macrocytic anaemia and low platelets, no vacuolated neutrophil:
    the level is low (vexas-rule 1.2), and the level and the sentence below it say why."""
    from apps.analysis.score_text import score_display

    payloads = _payloads(0.55, "low")
    payloads["vexas"]["evidence"]["contributions"] = [
        {"name": "vacuoles", "points": 0.0, "weight": 0.4},
        {"name": "macrocytosis", "points": 0.25, "weight": 0.25},
        {"name": "anaemia", "points": 0.15, "weight": 0.15},
        {"name": "thrombocytopenia", "points": 0.10, "weight": 0.10},
        {"name": "male_sex", "points": 0.0, "weight": 0.05, "value": "F"},
        {"name": "age_over_50", "points": 0.05, "weight": 0.05, "value": 78}]
    assert "vexas_suspicion" not in {name for name, _rule, _reason in _flags(payloads)}
    with translation.override("en"):
        shown = score_display({"name": "vexas", **payloads["vexas"]})
    assert shown["level"] == "low: a woman whose vacuoles give no points"
    assert shown["without_vacuoles"].startswith(
        "Her points reach intermediate, and her level is low: VEXAS comes of a UBA1 mutation "
        "on the X chromosome")
    with translation.override("fr"):
        shown = score_display({"name": "vexas", **payloads["vexas"]})
    assert shown["level"] == "faible\u00a0: une femme dont les vacuoles ne donnent aucun point"
    # A man with the same blood count (60 points): low too since vexas-rule 1.3, and why,
    # without the words about women.
    payloads["vexas"]["evidence"]["contributions"][4] = {
        "name": "male_sex", "points": 0.05, "weight": 0.05, "value": "M"}
    payloads["vexas"]["value"] = 0.6
    assert "vexas_suspicion" not in {name for name, _rule, _reason in _flags(payloads)}
    with translation.override("en"):
        shown = score_display({"name": "vexas", **payloads["vexas"]})
    assert shown["level"] == "low: the vacuoles give no points"
    assert shown["without_vacuoles"] == (
        "The vacuoles give none of its points: the blood count, sex and age alone reach "
        "intermediate, a pattern MDS, a B12 deficiency or alcohol give far more often than "
        "VEXAS: the level is low. VEXAS's hallmark is vacuoles in the marrow's myeloid and "
        "erythroid precursors.")
    with translation.override("fr"):
        shown = score_display({"name": "vexas", **payloads["vexas"]})
    assert shown["level"] == "faible\u00a0: les vacuoles ne donnent aucun point"
    assert "femme" not in shown["without_vacuoles"]
    # His "intermediate" signed under vexas-rule 1.2 keeps its level, and says what it rests on.
    payloads["vexas"]["level"] = "intermediate"
    with translation.override("en"):
        shown = score_display({"name": "vexas", **payloads["vexas"]})
    assert shown["level"] == "intermediate, on the blood count, sex and age alone"
