"""Sentences about a blood count, in the active language, for the case page and the report."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from .reference import ANALYSER, Subject


def subject_note(subject: Subject | dict[str, Any] | None) -> str:
    """Whom the reference intervals are for: 'Intervals for a man of 67 years (sex and age from
    the analyser's record).', or that with the sex unknown each spans both sexes'. Takes the
    Subject or its stored form (the signed report's); '' for None."""
    if subject is None:
        return ""
    if isinstance(subject, dict):
        subject = Subject(sex=subject.get("sex") or "", age=subject.get("age"),
                          sex_from=subject.get("sex_from") or "",
                          age_from=subject.get("age_from") or "")
    if subject.sex == "M":
        who = _("a man")
    elif subject.sex == "F":
        who = _("a woman")
    else:
        who = _("a patient of unknown sex (each interval spans both sexes' intervals)")
    if subject.age is not None:
        who = ngettext("%(who)s aged %(age)s year", "%(who)s aged %(age)s years",
                       subject.age) % {"who": who, "age": subject.age}
    read = from_analyser(subject.sex_from, subject.age_from)
    if read:
        return _("Reference intervals for %(who)s (%(what)s from the analyser's record).") % {
            "who": who, "what": _(" and ").join(read)}
    return _("Reference intervals for %(who)s.") % {"who": who}


def from_analyser(sex_from: object, age_from: object) -> list[str]:
    """The words for what was read from the analyser's record, not the patient record: of
    "sex" and "age", in the active language."""
    return [name for name, source in ((_("sex"), sex_from), (_("age"), age_from))
            if source == ANALYSER]
