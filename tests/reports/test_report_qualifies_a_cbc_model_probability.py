"""The PDF is what goes into the patient file: a CBC model's probability is printed with what
qualifies it on the case page (who drives it, the card's known limits), in both languages."""

from __future__ import annotations

from tests.analysis.test_cbc_model_headline_says_when_age_and_sex_drive_it import (
    DEMOGRAPHIC,
    _score,
)


def test_the_signed_report_carries_the_note_and_the_model_card_limits(make_specimen, sign,
                                                                      settings):
    from apps.reports.document import report_html

    limit = ("65% MDS prevalence in training; the probabilities are calibrated to that "
             "prevalence and overstate MDS risk in a general laboratory population.")
    payload = _score(DEMOGRAPHIC)
    payload["evidence"]["limits"] = [limit]
    signature = sign(make_specimen(), scores=[{**payload, "definition": "mds-cbc",
                                               "version": "1", "level": "above_threshold"}])
    english = report_html(signature=signature, language="en", media_root=settings.MEDIA_ROOT)
    assert "Driven mostly by age and sex: 67%" in english
    assert "Known limits (model card)" in english and "overstate MDS risk" in english
    french = report_html(signature=signature, language="fr", media_root=settings.MEDIA_ROOT)
    assert "Résultat porté surtout par l&#x27;âge et le sexe\u00a0: 67" in french
    assert "Limites connues (fiche du modèle)" in french
    assert "surestiment le risque de SMD" in french


def test_a_scores_reasons_are_listed_as_each_language_punctuates(make_specimen, sign, settings):
    from apps.reports.document import report_html

    score = {"name": "vexas", "state": "indeterminate", "value": None, "level": "",
             "definition": "vexas-rule", "version": "1.0.0", "thresholds": {}, "evidence": {},
             "reasons": [{"code": "few_neutrophils", "params": {"n": 7, "min": 20}},
                         {"code": "input_missing", "params": {"input": "mcv"}}]}
    signature = sign(make_specimen(), scores=[score])
    english = report_html(signature=signature, language="en", media_root=settings.MEDIA_ROOT)
    assert "fewer than 20 neutrophils analysed (n=7); MCV missing" in english
    french = report_html(signature=signature, language="fr", media_root=settings.MEDIA_ROOT)
    assert "moins de 20 neutrophiles analysés (n=7)\u00a0; donnée manquante\u00a0: VGM" in french


def test_the_level_names_its_threshold_once_in_the_models_unit(make_specimen, sign, settings):
    from apps.reports.document import report_html

    signature = sign(make_specimen(), scores=[{**_score(DEMOGRAPHIC), "definition": "mds-cbc",
                                               "version": "1", "level": "above_threshold"}])
    english = report_html(signature=signature, language="en", media_root=settings.MEDIA_ROOT)
    assert "above the operating threshold of 0.4" in english
    assert english.count("operating threshold") == 1
    french = report_html(signature=signature, language="fr", media_root=settings.MEDIA_ROOT)
    assert "au-dessus du seuil de décision de 0,4" in french
    assert french.count("seuil de décision") == 1


def test_a_score_without_a_result_prints_no_calibration_and_no_limits(make_specimen, sign,
                                                                       settings):
    """A CBC model not scored (no blood count) gave no output: what an output is calibrated to
    and the model card's limits qualify an output, and beside none they are noise."""
    from apps.reports.document import report_html

    payload = _score(DEMOGRAPHIC, state="indeterminate")
    payload["thresholds"]["training_prevalence"] = 0.655
    payload["evidence"]["limits"] = ["Single-centre cohort (one study, one analyser family); "
                                     "no external validation."]
    signature = sign(make_specimen(), scores=[{**payload, "definition": "mds-cbc",
                                               "version": "1", "level": "", "value": None}])
    english = report_html(signature=signature, language="en", media_root=settings.MEDIA_ROOT)
    assert "Calibrated to its training cohort" not in english
    assert "Known limits (model card)" not in english
