"""Sentences about a blood count, in the active language, for the case page and the report."""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Any

from django.utils import timezone
from django.utils.functional import Promise
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as _l
from django.utils.translation import ngettext, pgettext, pgettext_lazy

from apps.core.written_dates import written_date
from apps.patients.flag_text import RECORD_FIELDS
from apps.patients.models import Sex

from .parsers import generic_csv, hl7
from .parsers.units import conversion_factor, parameter_for
from .reference import ANALYSER, Subject

CONVERTED_DECIMALS = 2  # at most, for a value converted from another unit
_WRITTEN = re.compile(r"^\s*[<>]?\s*[-+]?\d+(?:[.,](\d+))?\s*$")

# The CBC file formats (apps.hemograms.parsers.FORMATS) as the form and the import's result name
# them.
FORMAT_NAMES: dict[str, Promise | str] = {
    "sysmex": "Sysmex XN CSV", "hl7": "HL7 v2 ORU^R01", "csv": _l("Generic CSV")}


def format_name(code: str) -> str:
    """A CBC file format's name ("Sysmex XN CSV"); an unknown code as it is."""
    return str(FORMAT_NAMES.get(code, code))


def reported_decimals(code: str, raw_value: str, raw_unit: str) -> int | None:
    """How many decimals the analyser gave a value ("1.30": 2), in the stored unit: a value
    converted by a power of ten keeps its precision (98 g/L: one decimal in g/dL). None when
    that cannot be read (no written number, a unit converted by another factor)."""
    written = _WRITTEN.match(raw_value or "")
    parameter = parameter_for(code)
    if written is None or parameter is None:
        return None
    factor = conversion_factor(parameter, raw_unit or "")
    if factor is None or factor <= 0:
        return None
    exponent = factor.log10()
    if exponent != exponent.to_integral_value():
        return None
    decimals = max(0, len(written.group(1) or "") - int(exponent))
    # 3100 /uL is 3.1 x10^9/L to the cell: printed to the hundredth, as counts are.
    return decimals if exponent == 0 else min(decimals, CONVERTED_DECIMALS)


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


def _field_name(field: str) -> str:
    """A patient field an analyser's record may give otherwise (reference.disagreements), as
    the worklist flag names it (patients.flag_text.RECORD_FIELDS)."""
    return str(RECORD_FIELDS[field])


def record_disagreement(fields: tuple[str, ...], *, record_sex: str,
                        record_birth_date: date | None, patient_sex: str,
                        patient_birth_date: date | None) -> str:
    """Each field an analyser's record gives otherwise than the registered patient, with both
    values: "sex: female in the file, male registered", for the import's note and the case
    page."""
    values = {"sex": (record_sex, patient_sex), "birth_date": (record_birth_date,
                                                               patient_birth_date)}
    return pgettext("between the items of a list", "; ").join(
        _("%(field)s: %(file)s in the file, %(registered)s registered") % {
            "field": _field_name(f), "file": _record_value(f, values[f][0]),
            "registered": _record_value(f, values[f][1])} for f in fields)


def _record_value(field: str, value: object) -> str:
    """A patient field's value as the record notes print it ("female", "12 April 1958")."""
    if field == "sex":
        return str(Sex(value).label).lower() if value in Sex.values else str(value)
    return written_date(value, "DATE_FORMAT") if isinstance(value, date) else str(value)


def record_explained_text(fields: tuple[str, ...], *, record_sex: str,
                          record_birth_date: date | None) -> list[str]:
    """One sentence per field an analyser's record gives as the patient's record held it before
    a correction (selectors.record_identity's explained), for the case page and the import."""
    given = {"sex": record_sex, "birth_date": record_birth_date}
    return [_("The CBC file gives the patient's %(field)s as %(file)s, as the record held it "
              "before its correction: the corrected record is used. Have the laboratory "
              "information system corrected too.") % {
                  "field": _field_name(f), "file": _record_value(f, given[f])} for f in fields]


def record_differs_text(*, file_collected_at: datetime | None,
                        registered_collected_at: datetime | None,
                        disagreement: str = "") -> list[str]:
    """The case page's sentences on what a blood count's file says otherwise than the registered
    specimen and patient (selectors.cbc_record_differs), one per disagreement: the import warned
    of it once, the page keeps it in front of the biologist who validates."""
    out = []
    if file_collected_at is not None:
        when = written_date(timezone.localtime(file_collected_at), "DATETIME_FORMAT")
        if registered_collected_at is None:
            out.append(_("The CBC file gives the sample's collection time as %(file)s, and the "
                         "specimen has none: enter it on the specimen page.") % {"file": when})
        else:
            out.append(_(
                "The CBC file gives the sample's collection time as %(file)s; the specimen's "
                "registered one is %(registered)s. Check which is right: the report and the "
                "result message carry the specimen's.") % {
                    "file": when, "registered": written_date(
                        timezone.localtime(registered_collected_at), "DATETIME_FORMAT")})
    if disagreement:  # record_disagreement
        out.append(_("The analyser's record and the registered patient disagree (%(fields)s): "
                     "the registered patient's values are used for the reference intervals. "
                     "Check the sample's identity.") % {"fields": disagreement})
    return out


# CBC parameters by the analyser's code (apps.hemograms.parsers.units): the name a reader knows.
CBC_NAMES: dict[str, Promise] = {
    "WBC": _l("White cells"), "RBC": _l("Red cells"), "HGB": _l("Haemoglobin"),
    "HCT": _l("Haematocrit"), "MCV": _l("Mean cell volume"), "MCH": _l("Mean cell haemoglobin"),
    "MCHC": _l("Mean cell haemoglobin concentration"),
    "RDW-CV": _l("Red cell distribution width (CV)"),
    "RDW-SD": _l("Red cell distribution width (SD)"), "PLT": _l("Platelets"),
    "MPV": _l("Mean platelet volume"), "PDW": _l("Platelet distribution width"),
    "P-LCR": _l("Large platelet ratio"), "PCT": _l("Plateletcrit"),
    "NEUT#": _l("Neutrophils"), "NEUT%": _l("Neutrophils (% of white cells)"),
    "LYMPH#": _l("Lymphocytes"), "LYMPH%": _l("Lymphocytes (% of white cells)"),
    "MONO#": _l("Monocytes"), "MONO%": _l("Monocytes (% of white cells)"),
    "EO#": _l("Eosinophils"), "EO%": _l("Eosinophils (% of white cells)"),
    "BASO#": _l("Basophils"), "BASO%": _l("Basophils (% of white cells)"),
    "IG#": _l("Immature granulocytes"), "IG%": _l("Immature granulocytes (% of white cells)"),
    "NRBC#": _l("Nucleated red cells"), "NRBC%": _l("Nucleated red cells (per 100 white cells)"),
    "RET#": _l("Reticulocytes"), "RET%": _l("Reticulocytes (% of red cells)"),
    "IRF": _l("Immature reticulocyte fraction"),
    "RET-He": _l("Reticulocyte haemoglobin equivalent"), "IPF": _l("Immature platelet fraction"),
}
# Sysmex research parameters: a population (NE, LY, MO) and a channel (X side scatter, Y side
# fluorescence, Z forward scatter; W: the width of that distribution).
CBC_POPULATIONS: dict[str, Promise] = {
    "NE": _l("Neutrophils"), "LY": _l("Lymphocytes"), "MO": _l("Monocytes")}
CBC_CHANNELS: dict[str, Promise] = {
    "X": _l("side scatter"), "SSC": _l("side scatter"), "Y": _l("side fluorescence"),
    "SFL": _l("side fluorescence"), "Z": _l("forward scatter"), "FSC": _l("forward scatter"),
    "WX": _l("side scatter width"), "WY": _l("side fluorescence width"),
    "WZ": _l("forward scatter width")}
# Units as stored (the parsers' canonical units), as printed.
UNITS: dict[str, Promise | str] = {
    "10^9/L": "×10⁹/L", "10^12/L": "×10¹²/L", "/100WBC": _l("/100 white cells"),
    "ch": _l("channel units"),
}


def cbc_name(code: str) -> str:
    """A CBC parameter's name in the active language; an unknown code as it is."""
    if code in CBC_NAMES:
        return str(CBC_NAMES[code])
    population, _sep, channel = code.partition("-")
    if population in CBC_POPULATIONS and channel in CBC_CHANNELS:
        return f"{CBC_POPULATIONS[population]}, {CBC_CHANNELS[channel]}"
    return code


# Short names of the parameters a hematologist reads first, as the patient context's plots and
# the worklist's reasons print them ("Hb", French "VGM").
CBC_SHORT_NAMES: dict[str, Promise] = {
    "HGB": _l("Hb"), "MCV": _l("MCV"), "PLT": _l("Platelets"), "NEUT#": _l("ANC"),
    "WBC": _l("WBC"), "RBC": _l("RBC"), "HCT": _l("HCT"), "MCH": _l("MCH"),
    "MCHC": _l("MCHC"), "RDW-SD": _l("RDW-SD"), "RDW-CV": _l("RDW-CV"), "MPV": _l("MPV"),
    "PDW": _l("PDW"),
    # The white-cell differential: the analyser's codes in English, the laboratory's short
    # names in French (PNN, PNE, PNB...), not an English code beside French abbreviations.
    "NEUT%": _l("NEUT%"), "LYMPH#": _l("LYMPH#"), "LYMPH%": _l("LYMPH%"),
    "MONO#": _l("MONO#"), "MONO%": _l("MONO%"), "EO#": _l("EO#"), "EO%": _l("EO%"),
    "BASO#": _l("BASO#"), "BASO%": _l("BASO%"), "IG#": _l("IG#"), "IG%": _l("IG%"),
    # Erythroblasts: a count, and a ratio per 100 white cells (not a share of them).
    "NRBC#": _l("NRBC#"), "NRBC%": _l("NRBC%"),
}


def cbc_short_name(code: str) -> str:
    """A parameter's short name in the active language; another code as the analyser wrote it."""
    return str(CBC_SHORT_NAMES.get(code, code))


def cbc_unit(text: str | None) -> str:
    """A stored unit as printed ("×10⁹/L"); an unknown one as it is."""
    return str(UNITS.get(text or "", text or ""))


# What a parser records when the file names no analyser: the file's format, not an instrument.
UNNAMED_ANALYSER = frozenset({generic_csv.DEFAULT_ANALYSER, hl7.DEFAULT_ANALYSER})


def analyser_name(text: str | None) -> str:
    """The analyser a count came from as printed; a file that names none says so ("CSV" is a
    format, not an instrument)."""
    if not text or text in UNNAMED_ANALYSER:
        return _("analyser not named in the file")
    return text


# The analyser's IP messages (Sysmex XN) in the reader's language: shown after the message as
# the analyser wrote it, never instead of it (the text it sent is what the lab's procedures and
# the analyser's manual name). A message not listed is shown as it came.
IP_MESSAGES: dict[str, Promise] = {
    "WBC Abn Scattergram": pgettext_lazy("analyser IP message", "WBC Abn Scattergram"),
    "Neutropenia": pgettext_lazy("analyser IP message", "Neutropenia"),
    "Neutrophilia": pgettext_lazy("analyser IP message", "Neutrophilia"),
    "Lymphopenia": pgettext_lazy("analyser IP message", "Lymphopenia"),
    "Lymphocytosis": pgettext_lazy("analyser IP message", "Lymphocytosis"),
    "Monocytosis": pgettext_lazy("analyser IP message", "Monocytosis"),
    "Eosinophilia": pgettext_lazy("analyser IP message", "Eosinophilia"),
    "Basophilia": pgettext_lazy("analyser IP message", "Basophilia"),
    "Leukocytopenia": pgettext_lazy("analyser IP message", "Leukocytopenia"),
    "Leukocytosis": pgettext_lazy("analyser IP message", "Leukocytosis"),
    "NRBC Present": pgettext_lazy("analyser IP message", "NRBC Present"),
    "IG Present": pgettext_lazy("analyser IP message", "IG Present"),
    "Blasts?": pgettext_lazy("analyser IP message", "Blasts?"),
    "Abn Lympho?": pgettext_lazy("analyser IP message", "Abn Lympho?"),
    "Atypical Lympho?": pgettext_lazy("analyser IP message", "Atypical Lympho?"),
    "Blasts/Abn Lympho?": pgettext_lazy("analyser IP message", "Blasts/Abn Lympho?"),
    "Left Shift?": pgettext_lazy("analyser IP message", "Left Shift?"),
    "RBC Lyse Resistance?": pgettext_lazy("analyser IP message", "RBC Lyse Resistance?"),
    "RBC Abn Distribution": pgettext_lazy("analyser IP message", "RBC Abn Distribution"),
    "Dimorphic Population": pgettext_lazy("analyser IP message", "Dimorphic Population"),
    "Anisocytosis": pgettext_lazy("analyser IP message", "Anisocytosis"),
    "Microcytosis": pgettext_lazy("analyser IP message", "Microcytosis"),
    "Macrocytosis": pgettext_lazy("analyser IP message", "Macrocytosis"),
    "Hypochromia": pgettext_lazy("analyser IP message", "Hypochromia"),
    "Anemia": pgettext_lazy("analyser IP message", "Anemia"),
    "Erythrocytosis": pgettext_lazy("analyser IP message", "Erythrocytosis"),
    "RET Abn Scattergram": pgettext_lazy("analyser IP message", "RET Abn Scattergram"),
    "Reticulocytosis": pgettext_lazy("analyser IP message", "Reticulocytosis"),
    "RBC Agglutination?": pgettext_lazy("analyser IP message", "RBC Agglutination?"),
    "Turbidity/HGB Interference?": pgettext_lazy("analyser IP message",
                                                  "Turbidity/HGB Interference?"),
    "Iron Deficiency?": pgettext_lazy("analyser IP message", "Iron Deficiency?"),
    "HGB Defect?": pgettext_lazy("analyser IP message", "HGB Defect?"),
    "Fragments?": pgettext_lazy("analyser IP message", "Fragments?"),
    "PLT Abn Scattergram": pgettext_lazy("analyser IP message", "PLT Abn Scattergram"),
    "PLT Abn Distribution": pgettext_lazy("analyser IP message", "PLT Abn Distribution"),
    "Thrombocytopenia": pgettext_lazy("analyser IP message", "Thrombocytopenia"),
    "Thrombocytosis": pgettext_lazy("analyser IP message", "Thrombocytosis"),
    "PLT Clumps?": pgettext_lazy("analyser IP message", "PLT Clumps?"),
}


def ip_message(text: str) -> str:
    """An analyser's IP message as it wrote it, followed by its name in the reader's language
    when that differs ('Left Shift? (déviation à gauche ?)')."""
    known = IP_MESSAGES.get(" ".join(text.split()))
    said = str(known) if known is not None else text
    return text if said == text else f"{text} ({said[:1].lower()}{said[1:]})"
