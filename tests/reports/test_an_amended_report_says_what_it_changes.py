"""An amended report names the version it replaces (signer, time, the start of its content's
hash) and each figure of the differential it changes, before and after, per 100 white cells;
and whether the conclusion changed; in English and in French."""

from __future__ import annotations

import re

from apps.reports.document import differential_changes
from apps.smears.models import Cell


def _notes(signature) -> list[str]:  # type: ignore[no-untyped-def]
    """The notes (NTE-3) of ``signature``'s result message, unescaped."""
    import hl7

    from apps.reports.services import result_message_create

    msg = hl7.parse(result_message_create(signature=signature).message)
    return [msg.unescape(str(n[3])) for n in msg.segments("NTE")]


def test_the_amendment_lists_the_changed_figures(make_specimen, sign, settings):
    from django.utils import translation

    from apps.reports.document import report_html

    specimen = make_specimen()          # 2 neutrophils, 1 monocyte (model), 1 lymphocyte
    first = sign(specimen)
    monocyte = Cell.objects.filter(specimen=specimen, analyser_class="eosinophil").get()
    monocyte.reviewed_class = "eosinophil"
    monocyte.save(update_fields=["reviewed_class"])
    second = sign(specimen, version=2, amendment_reason="Cell 3 is an eosinophil",
                  comment="Eosinophil confirmed.")
    before = first.content["differential"]["per_100_wbc"]
    after = second.content["differential"]["per_100_wbc"]
    assert before["monocyte"] == 25.0 and after["eosinophil"] == 25.0
    with translation.override("en"):
        changes = differential_changes(first.content["differential"],
                                       second.content["differential"])
    assert {(c["label"], c["before"], c["after"]) for c in changes} == {
        ("Monocytes", "25.0", "0.0"), ("Eosinophils", "0.0", "25.0")}
    english = report_html(signature=second, language="en", media_root=settings.MEDIA_ROOT)
    assert "version 1, signed by Claire Martin on" in english
    assert f"(SHA-256 {first.content_sha256[:12]}…)" in english
    assert "Changed from version 1" in english
    assert "Monocytes 25.0 → 0.0" in english and "Eosinophils 0.0 → 25.0" in english
    assert "The conclusion was changed." in english
    french = report_html(signature=second, language="fr", media_root=settings.MEDIA_ROOT)
    assert "Modifié depuis la version 1" in french and "signée par Claire Martin" in french
    assert "Monocytes 25,0 → 0,0" in french
    assert "La conclusion a été modifiée." in french
    # A first version replaces nothing.
    assert "Changed from version" not in report_html(
        signature=first, language="en", media_root=settings.MEDIA_ROOT)


def test_an_amendment_that_changes_no_figure_says_so():
    diff = {"per_100_wbc": {"neutrophil": 60.0, "lymphocyte": 40.0}, "wbc_counted": 10,
            "nrbc_per_100_wbc": 0.0}
    assert differential_changes(diff, dict(diff)) == []
    more = {**diff, "wbc_counted": 12, "bands": 1, "bands_per_100_wbc": 8.3}
    assert [(c["label"], c["before"], c["after"]) for c in differential_changes(diff, more)] == [
        ("Band forms (among the neutrophils)", "—", "8.3"), ("White cells counted", "10", "12")]


def test_the_amendments_result_message_says_what_it_changed(make_specimen, sign, settings):
    """The LIS shows the message without the report: its notes say what the amendment changed,
    as the report does, in the notes' language."""
    import hl7
    from django.utils import translation

    from apps.reports.hl7_result import changes_note
    from apps.reports.services import _amended, result_message_create

    settings.LIS_OUTBOX_DIR = ""
    settings.HL7_NOTES_LANGUAGE = "en"
    specimen = make_specimen()
    first = sign(specimen)
    cell = Cell.objects.filter(specimen=specimen, analyser_class="eosinophil").get()
    cell.reviewed_class = "eosinophil"
    cell.save(update_fields=["reviewed_class"])
    second = sign(specimen, version=2, amendment_reason="Cell 3 is an eosinophil",
                  comment="Eosinophil confirmed.")
    notes = _notes(second)
    reason = notes.index("Amendment: Cell 3 is an eosinophil")
    assert notes[reason + 1] == ("Changed from version 1: Monocytes 25.0 → 0.0; Eosinophils "
                                 "0.0 → 25.0. The conclusion was changed.")
    with translation.override("fr"):
        french = changes_note(_amended(second), gettext=translation.gettext)
    assert french == ("Modifié depuis la version 1\u00a0: Monocytes 25,0 → 0,0\u00a0; "
                      "Polynucléaires "
                      "éosinophiles 0,0 → 25,0. La conclusion a été modifiée.")
    # A first version's message names no change.
    first_notes = hl7.parse(result_message_create(signature=first).message).segments("NTE")
    assert not any("Changed from version" in str(n[3]) for n in first_notes)


def test_an_other_cell_named_otherwise_is_a_change(make_specimen, sign, settings):
    """A plasma cell withdrawn (the same cell named a reactive lymphocyte) leaves the share of
    "other" as it was, and is still a change: listed in the report and the message, and the
    "other" observation sent as corrected."""
    import hl7
    from django.utils import translation

    from apps.reports.document import report_html
    from apps.reports.services import result_message_create

    settings.LIS_OUTBOX_DIR = ""
    settings.HL7_NOTES_LANGUAGE = "en"
    specimen = make_specimen()
    cell = Cell.objects.filter(specimen=specimen, analyser_class="lymphocyte").get()
    Cell.objects.filter(pk=cell.pk).update(reviewed_class="other", reviewed_name="plasma cell")
    first = sign(specimen)
    result_message_create(signature=first)
    Cell.objects.filter(pk=cell.pk).update(reviewed_name="reactive lymphocyte")
    second = sign(specimen, version=2, amendment_reason="Not a plasma cell")
    assert first.content["differential"]["per_100_wbc"]["other"] == \
        second.content["differential"]["per_100_wbc"]["other"]
    with translation.override("en"):
        changes = differential_changes(first.content["differential"],
                                       second.content["differential"])
    assert [(c["key"], c["label"], c["before"], c["after"]) for c in changes] == [
        ("other_names", "Other leukocytes (named)", "plasma cell 1", "reactive lymphocyte 1")]
    english = report_html(signature=second, language="en", media_root=settings.MEDIA_ROOT)
    assert "Other leukocytes (named) plasma cell 1 → reactive lymphocyte 1" in english
    french = report_html(signature=second, language="fr", media_root=settings.MEDIA_ROOT)
    assert "Autres leucocytes (nommés) plasmocyte 1" not in french  # the name stays as typed
    assert "Autres leucocytes (nommés) plasma cell 1 → reactive lymphocyte 1" in french
    msg = hl7.parse(result_message_create(signature=second).message)
    status = {str(o[3][0][0]): str(o[11]) for o in msg.segments("OBX")}
    assert status["HC-OTHER-100WBC"] == "C"
    assert status["23761-0"] == "F"  # the neutrophils did not change
    notes = [msg.unescape(str(n[3])) for n in msg.segments("NTE")]
    assert ("Changed from version 1: Other leukocytes (named) plasma cell 1 → reactive "
            "lymphocyte 1.") in notes


def test_a_new_blood_count_is_a_change_of_the_absolute_counts():
    """An amendment that attaches a blood count received after signing (WBC 18.20 -> 17.90)
    changes every absolute count though no share moves: it says so, with the analyser's
    decimals, not "the differential is unchanged"."""
    from apps.reports.hl7_result import Amended, changes_note

    diff = {"per_100_wbc": {"neutrophil": 86.0, "lymphocyte": 9.0, "monocyte": 5.0},
            "wbc_counted": 100, "analyser_wbc": 18.2, "analyser_wbc_decimals": 2}
    changes = differential_changes(diff, {**diff, "analyser_wbc": 17.9})
    assert [(c["key"], c["before"], c["after"]) for c in changes] == [
        ("analyser_wbc", "18.20", "17.90")]
    note = changes_note(Amended(version=1, changes=tuple(
        (c["label"], c["before"], c["after"]) for c in changes), comment_changed=False))
    assert note == ("Changed from version 1: Analyser's WBC (×10⁹/L), which the absolute "
                    "counts rest on 18.20 → 17.90.")


def test_an_amendment_that_moves_the_collection_time_says_so(make_specimen, sign, settings):
    """The time moves in OBR-7; the report and the message's note say from what to what."""
    from datetime import UTC, datetime

    from apps.patients.models import Specimen
    from apps.reports.document import report_html

    settings.TIME_ZONE = "UTC"
    settings.LIS_OUTBOX_DIR = ""
    settings.HL7_NOTES_LANGUAGE = "en"
    specimen = make_specimen()
    Specimen.objects.filter(pk=specimen.pk).update(
        collected_at=datetime(2026, 12, 7, 7, 45, tzinfo=UTC))
    specimen.refresh_from_db()
    first = sign(specimen)
    Specimen.objects.filter(pk=specimen.pk).update(
        collected_at=datetime(2026, 12, 7, 7, 15, tzinfo=UTC))
    specimen.refresh_from_db()
    second = sign(specimen, version=2, amendment_reason="Collection time corrected",
                  comment=first.comment)
    english = " ".join(report_html(signature=second, language="en",
                                   media_root=settings.MEDIA_ROOT).split())
    assert ("The collection time was changed: 7 December 2026, 07:45 → 7 December 2026, "
            "07:15.") in english
    french = " ".join(report_html(signature=second, language="fr",
                                  media_root=settings.MEDIA_ROOT).split())
    assert ("L'heure de prélèvement a été modifiée : 7 décembre 2026 à 07:45 → 7 décembre 2026 "
            "à 07:15.") in french
    notes = _notes(second)
    assert ("Changed from version 1: the differential is unchanged. The collection time was "
            "changed: 7 December 2026, 07:45 → 7 December 2026, 07:15.") in notes
    assert "collection time" not in " ".join(report_html(
        signature=first, language="en", media_root=settings.MEDIA_ROOT).split())


def test_an_amendment_that_signs_another_blood_count_says_so(settings):
    """A held count attached after the amendment (Hb 10.0 → 9.8, measured at 11:00): the
    summary says the blood count changed and when each was measured."""
    from django.utils import translation

    from apps.reports.document import cbc_change
    from apps.reports.hl7_result import Amended, changes_note

    settings.TIME_ZONE = "UTC"
    first = {"cbc": {"measured_at": "2026-12-07T07:45:00+00:00",
                     "values": [{"code": "HGB", "value": 10.0, "raw_value": "10.0"}]}}
    second = {"cbc": {"measured_at": "2026-12-07T11:00:00+00:00",
                      "values": [{"code": "HGB", "value": 9.8, "raw_value": "9.8"}]}}
    with translation.override("en"):
        change = cbc_change(first, second)
        assert change == ("7 December 2026, 07:45", "7 December 2026, 11:00")
        note = changes_note(Amended(version=1, changes=(), comment_changed=False,
                                    cbc_changed=change))
    assert note == ("Changed from version 1: the differential is unchanged. The blood count was "
                    "changed: measured 7 December 2026, 07:45 → measured 7 December 2026, "
                    "11:00.")
    assert cbc_change(first, dict(first)) is None
    with translation.override("en"):
        assert cbc_change({"cbc": None}, second) == ("none", "7 December 2026, 11:00")


def test_an_amendment_that_signs_a_corrected_record_says_so(make_specimen, sign, settings):
    """The patient's birth date corrected between the two versions: PID-7 moved, and the
    summary read only "the differential is unchanged. The conclusion was changed." It now says
    which field of the record changed, from what to what, in the report and the message."""
    from datetime import date

    from apps.patients.models import Patient
    from apps.reports.document import report_html

    settings.LIS_OUTBOX_DIR = ""
    settings.HL7_NOTES_LANGUAGE = "en"
    specimen = make_specimen()
    Patient.objects.filter(pk=specimen.patient_id).update(birth_date=date(1958, 4, 12))
    specimen.refresh_from_db()
    first = sign(specimen)
    Patient.objects.filter(pk=specimen.patient_id).update(birth_date=date(1958, 4, 21))
    specimen.refresh_from_db()
    second = sign(specimen, version=2, amendment_reason="Birth date corrected",
                  comment=first.comment)
    def text(language: str) -> str:
        page = report_html(signature=second, language=language, media_root=settings.MEDIA_ROOT)
        return " ".join(re.sub(r"<[^>]+>", "", page).split())

    english, french = text("en"), text("fr")
    assert ("The patient's record was changed: birth date 12 April 1958 → 21 April 1958."
            in english)
    assert ("Le dossier du patient a été modifié : date de naissance 12 avril 1958 → 21 avril "
            "1958.") in french
    notes = _notes(second)
    assert ("Changed from version 1: the differential is unchanged. The patient's record was "
            "changed: birth date 12 April 1958 → 21 April 1958.") in notes
    assert "record was changed" not in " ".join(report_html(
        signature=first, language="en", media_root=settings.MEDIA_ROOT).split())
