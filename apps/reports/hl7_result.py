"""The signed result as an HL7 v2.5 ORU^R01 message for the laboratory information system.

Built with hl7apy from the signed report content (schema hemaclinic-report/1) and the
signature's own fields, so the message says exactly what was signed:

- MSH: HemaClinic as sending application, the lab as sending facility, the receiving
  application/facility from settings; message control ID = ``<accession>-v<version>``.
- PID: PID-3 the patient's identifier in the lab (external ID, else the pseudonym),
  PID-5 name, PID-7 birth date, PID-8 sex.
- OBR: OBR-3 the accession (filler order number), OBR-4 LOINC 24318-8 (manual differential
  panel), OBR-7 collection time, OBR-22 signature time, OBR-25 F (final) or C (an amendment),
  X (no result) for a result the biologist rejected, which sends no value (nothing is released
  without a biologist's validation; an amendment that rejects deletes what was sent before),
  each OBX-14 the collection time (the observation's physiologically relevant time) and OBX-19
  the signature time (when the count was read and validated),
  OBR-32 the signing biologist; NTE under OBR: the conclusion (the signer's comment), for an
  amendment its reason and what it changed (as its report says it), and what limits the
  numbers as the signed report says it: cell images outside the cell model's validated domain
  (naming the model) and, when the validating biologist confirmed reviewing those cells, that
  confirmation; a differential short of its target count; how many cells the biologist
  reviewed.
- One OBX per differential class (per 100 white cells, LOINC "/100 leukocytes in Blood by
  Manual count";
  "other" under a local code, LOINC having no member of the panel for it, so that the classes
  sum to 100.0, as rounded by apps.smears.differential.shares_per_100), the band
  neutrophils per 100 white cells when the biologist counted any (a part of the neutrophils'
  share, LOINC 764-1), each class's absolute count beside the analyser's WBC (x10^9/L, LOINC
  "[#/volume] ... by Manual count", ABSOLUTE_LOINC) with the reference interval of the blood
  count's own count (OBX-7) and its flag (OBX-8), NRBC per 100 white cells, and the number of
  white cells counted (local code).
  An amendment's message marks each value it changes as corrected (OBX-11 C) and each it
  keeps or adds as final (F), against what the message of the version it replaces sent, and sends as
  deleted (D, no value) each observation that message sent and this one no longer holds, under
  the code it was sent with, so that the information system keeps no value the biologist has
  since taken back.
- MSH-18 "UNICODE UTF-8": the message is stored and sent as UTF-8 (names, the conclusion).

No Django here: plain values in, ER7 text out (segments separated by carriage returns). The
notes' fixed sentences are English format strings passed through a ``gettext`` callable (English
when none is given): the caller translates them into the laboratory's language, and
makemessages finds them in the ``gettext("...")`` calls below.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from django.utils.formats import number_format
from hl7apy.core import Message
from hl7apy.parser import parse_message
from hl7apy.v2_5 import FT, ST

from apps.core.hl7 import SENDING_APPLICATION
from apps.hemograms.flags import count_reading
from apps.hemograms.reference import Interval
from apps.smears.differential import (
    ABNORMAL_WHEN_PRESENT,
    ABSOLUTE_DECIMALS,
    CBC_COUNT_OF_CLASS,
    OTHER_NAMES,
    SMUDGE,
    absolute_bounds,
    absolute_figure,
    names_in_order,
    outside_interval,
    per_100_of,
)

PANEL = ("24318-8", "Manual differential panel - Blood", "LN")
# Differential class -> (LOINC, display): the panel's members "by Manual count", so that a
# receiving system never takes the smear's count, read by a biologist, for the analyser's
# automated differential ("by Automated count", 770-8...) or a share of no method (26511-6...)
# that analysers also send. Immature granulocytes have no manual-count code for the class as a
# whole (metamyelocytes, myelocytes and promyelocytes together): theirs names no method.
LOINC_PER_100_WBC: Mapping[str, tuple[str, str]] = {
    "neutrophil": ("23761-0", "Neutrophils/100 leukocytes in Blood by Manual count"),
    "lymphocyte": ("737-7", "Lymphocytes/100 leukocytes in Blood by Manual count"),
    "monocyte": ("744-3", "Monocytes/100 leukocytes in Blood by Manual count"),
    "eosinophil": ("714-6", "Eosinophils/100 leukocytes in Blood by Manual count"),
    "basophil": ("707-0", "Basophils/100 leukocytes in Blood by Manual count"),
    "ig": ("38518-7", "Immature granulocytes/100 leukocytes in Blood"),
    "blast": ("709-6", "Blasts/100 leukocytes in Blood by Manual count"),
}
# Differential class -> (LOINC, display): its absolute count, the smear's count of the white
# cells counted times the analyser's WBC, as the case page and the report print it; "by Manual
# count" where LOINC has that member, else of no method, never the analyser's "by Automated
# count". Read against the reference interval of the blood count's own count of the class
# (apps.smears.differential.CBC_COUNT_OF_CLASS), kept with the signed differential.
ABSOLUTE_LOINC: Mapping[str, tuple[str, str]] = {
    "neutrophil": ("753-4", "Neutrophils [#/volume] in Blood by Manual count"),
    "lymphocyte": ("732-8", "Lymphocytes [#/volume] in Blood by Manual count"),
    "monocyte": ("743-5", "Monocytes [#/volume] in Blood by Manual count"),
    "eosinophil": ("712-0", "Eosinophils [#/volume] in Blood by Manual count"),
    "basophil": ("705-4", "Basophils [#/volume] in Blood by Manual count"),
    "ig": ("51584-1", "Immature granulocytes [#/volume] in Blood"),
    "blast": ("30376-8", "Blasts [#/volume] in Blood"),
}
# Blasts have no place in peripheral blood: any the biologist counted reads abnormal (OBX-8
# "A", HL7 table 0078; apps.smears.differential.ABNORMAL_WHEN_PRESENT, as the report flags
# them), so that the receiving system marks the result a laboratory calls.
ABSOLUTE_UNIT = "10*9/L"  # UCUM
NRBC = ("18309-5", "Nucleated erythrocytes/100 leukocytes in Blood by Manual count")
# Band neutrophils, already among the neutrophils sent under 23761-0: a part of that share,
# not a class of the panel beside it (the classes alone sum to 100).
BANDS = ("764-1", "Band form neutrophils/100 leukocytes in Blood by Manual count")
# Their absolute count beside the analyser's WBC, as the case page and the report print it: the
# member of LOINC's manual differential panel (24318-8), of no method; no reference interval
# (the blood count has none for band forms), so no flag.
BANDS_ABSOLUTE = ("26507-4", "Band form neutrophils [#/volume] in Blood")
# Smudge cells, out of the denominator, per 100 white cells counted, when the biologist named any.
SMUDGE_CELLS = ("34992-8", "Smudge cells/100 leukocytes in Blood")
# Cells the biologist counted as white cells of no listed class: in the denominator, so they are
# sent, under a local code (not a LOINC guessed for them).
OTHER_PER_100_WBC = ("HC-OTHER-100WBC", "Other leukocytes/100 leukocytes in Blood", "L")
WBC_COUNTED = ("HC-WBC-COUNTED", "Leukocytes counted on the smear", "L")

Gettext = Callable[[str], str]


def _english(message: str) -> str:
    return message




@dataclass(frozen=True)
class Amended:
    """What an amendment changes of the version it replaces: that version, each figure of the
    differential it changes (label, before, after, as the report prints them) and whether the
    conclusion changed."""

    version: int
    changes: tuple[tuple[str, str, str], ...]
    comment_changed: bool
    separator: str = "; "  # between the changes, in the notes' language (French " ; ")
    changed_keys: frozenset[str] = frozenset()  # the keys of the changes (OTHER_NAMES...)
    collected_changed: tuple[str, str] | None = None  # the collection time, before and after
    cbc_changed: tuple[str, str] | None = None  # the blood count's measurement, before and after
    # The patient's record as signed: each field changed (label, before, after)
    patient_changed: tuple[tuple[str, str, str], ...] = ()


@dataclass(frozen=True)
class SignatureFacts:
    version: int
    meaning: str  # "validated" or "rejected"
    signed_at: datetime
    signer_id: str
    signer_family_name: str
    signer_given_name: str
    comment: str
    amendment_reason: str
    content_sha256: str


def _text(value: str) -> str:
    """Free text with HL7's separators escaped (|, ^, &, ~, \\)."""
    return FT(value).to_er7()


def _st(value: str) -> str:
    return ST(value).to_er7()


def _ts(value: datetime | date | None) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.strftime("%Y%m%d%H%M%S%z" if value.tzinfo else "%Y%m%d%H%M%S")
    return value.strftime("%Y%m%d")


def _number(value: float) -> str:
    return f"{value:.1f}"


def _datetime(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


def cell_models(content: dict[str, Any]) -> list[dict[str, Any]]:
    """The cell model(s) the signed content's domain check is about: those its domain entry
    names, else (content signed before the entry named them) the top-level models that are not
    a score's definition."""
    domain = content.get("domain") or {}
    named = [m for m in domain.get("models") or [] if isinstance(m, dict) and m.get("name")]
    if named:
        return named
    scores = {(s.get("definition"), s.get("version")) for s in content.get("scores") or []
              if isinstance(s, dict)}
    return [m for m in content.get("models") or []
            if isinstance(m, dict) and m.get("name")
            and (m.get("name"), m.get("version")) not in scores]


def domain_acknowledged(content: dict[str, Any]) -> bool:
    """Did the validating biologist confirm reviewing cells outside the validated domain (the
    box the signing form requires then, recorded in the signed content)?"""
    signed = content.get("signature") or {}
    return ((content.get("domain") or {}).get("code") == "outside"
            and signed.get("meaning", "validated") == "validated"
            and signed.get("domain_acknowledged") is True)


def count_acknowledged(content: dict[str, Any]) -> bool:
    """Did the validating biologist validate a differential short of its target count on that
    count (the box the signing form requires then, recorded in the signed content)?"""
    signed = content.get("signature") or {}
    return (bool((content.get("differential") or {}).get("short_of_target"))
            and signed.get("meaning", "validated") == "validated"
            and signed.get("count_acknowledged") is True)


def limits(content: dict[str, Any], *, gettext: Gettext = _english,
           ip_text: Callable[[str], str] = str, released: bool = True) -> list[str]:
    """What the signed content says limits its numbers, as notes for the laboratory system:
    the receiving side shows the differential without the report's banners. Not ``released``
    (a rejection, which sends no value): only what bears on the smear and the blood count (the
    domain, the analyser's flags), nothing about a differential that is not sent."""
    notes = []
    domain = content.get("domain") or {}
    if domain.get("code") == "outside":
        models = ", ".join(f"{m.get('name')} {m.get('version')}".strip()
                           for m in cell_models(content))
        notes.append(gettext(
            "Cell images outside the domain the cell model (%(models)s) was validated on: "
            "%(outside)s of %(cells)s images. Automated cell classifications and the scores "
            "computed from them are not reliable for this smear.") % {
            "models": models or gettext("unknown"), "outside": domain.get("outside"),
            "cells": domain.get("cells")})
        if domain_acknowledged(content):
            notes.append(gettext(
                "The validating biologist confirmed reviewing the cell images, which are "
                "outside the cell model's validated domain."))
    cbc = content.get("cbc") or {}
    alarms = [m.get("text") for m in cbc.get("analyser_messages") or [] if m.get("kind") == "ip"]
    alarms += [t for r in cbc.get("earlier") or [] for t in r.get("ip_messages") or []]
    for text in dict.fromkeys(alarms):  # the analyser's own suspicion, e.g. "Blasts?"
        # As the analyser wrote it, then named by ``ip_text`` in the notes' language, as the
        # report does (as written alone by default).
        notes.append(gettext("Analyser flag (IP message) on the blood count: %(text)s")
                     % {"text": ip_text(str(text))})
    diff = (content.get("differential") or {}) if released else {}
    names = diff.get("other_names") or {}
    if names and (diff.get("per_100_wbc") or {}).get("other"):
        notes.append(gettext("Other leukocytes, as the biologist named them: %(names)s.") % {
            "names": "; ".join(f"{name or gettext('not named')} ({count})"
                               for name, count in names_in_order(names))})
    if diff.get("per_100_wbc"):
        if diff.get("short_of_target") and diff.get("wbc_counted") is not None:
            notes.append(gettext(
                "Differential from %(counted)s white cells, fewer than the target of "
                "%(target)s.") % {"counted": int(diff["wbc_counted"]),
                                   "target": diff.get("target")})
            if count_acknowledged(content):
                notes.append(gettext(
                    "The validating biologist validated the differential on this count."))
        if diff.get("cells") and diff.get("reviewed") == diff.get("cells"):
            notes.append(gettext(
                "All %(cells)s cells classified one by one by the biologist (reclassified or "
                "confirmed): no class of the model is counted.") % {"cells": int(diff["cells"])})
        elif diff.get("reviewed") is not None and diff.get("cells") is not None \
                and int(diff["reviewed"]) + int(diff.get("unclassified") or 0) \
                >= int(diff["cells"]):
            notes.append(gettext(
                "Cells classified one by one by the biologist (reclassified or confirmed): "
                "%(reviewed)s of %(cells)s; no class of the model is counted: the other images "
                "were left without a class.") % {
                "reviewed": int(diff["reviewed"]), "cells": int(diff["cells"])})
        elif diff.get("reviewed") is not None and diff.get("cells") is not None:
            notes.append(gettext(
                "Cells classified one by one by the biologist (reclassified or confirmed): "
                "%(reviewed)s of %(cells)s; the others keep the model's class.") % {
                "reviewed": int(diff["reviewed"]), "cells": int(diff["cells"])})
    return notes


@dataclass(frozen=True)
class Row:
    """One OBX of a signed content: OBX-2, OBX-3 (id^text^system), OBX-5, OBX-6, OBX-7 and
    OBX-8, and the key it comes from."""

    vtype: str
    ident: str
    value: str
    unit: str
    key: str
    reference: str = ""
    flag: str = ""
    note: str = ""  # an NTE under the OBX: why a value outside OBX-7 carries no OBX-8


def _interval(cbc: dict[str, Any], code: str | None) -> Interval | None:
    """The reference interval the signed blood count reads its count ``code`` against (a value
    the file gave, else one computed from its share), or None when it has none."""
    rows = [*(cbc.get("values") or []), *(cbc.get("computed") or [])]
    for row in rows:
        if code is not None and row.get("code") == code and (
                row.get("ref_low") is not None or row.get("ref_high") is not None):
            return Interval(row.get("ref_low"), row.get("ref_high"))
    return None


def _analyser_differs_note(diff: dict[str, Any], cls: str, count: object, counted: int, *,
                           gettext: Gettext = _english) -> str:
    """Under a smear count whose share the analyser's automated differential contradicts (the
    page's "≠", smears.differential.outside_interval): the analyser's count beside it, so that
    a receiving system that also holds the analyser's value is told the two disagree."""
    share = ((diff.get("analyser") or {}).get("per_100_wbc") or {}).get(cls)
    wbc = diff.get("analyser_wbc")
    if not isinstance(share, int | float) or isinstance(share, bool) \
            or not isinstance(count, int) or not outside_interval(count, counted, float(share)):
        return ""
    return gettext(
        "The analyser's automated differential gives %(share)s%% (%(absolute)s ×10⁹/L), "
        "outside this count's 95%% interval: one of the two counts misses cells.") % {
        "share": number_format(float(share), decimal_pos=1),
        "absolute": number_format(float(share) * float(wbc) / 100, decimal_pos=ABSOLUTE_DECIMALS)
        if isinstance(wbc, int | float) else "?"}


def _reference_text(interval: Interval | None) -> str:
    """OBX-7: "low-high", "> low" or "< high" (HL7 v2.5), empty without an interval."""
    if interval is None:
        return ""
    low, high = interval.low, interval.high
    if low is not None and high is not None:
        return f"{low:g}-{high:g}"
    return f"> {low:g}" if low is not None else f"< {high:g}"


def _present_flag(cls: str, value: float) -> str:
    """OBX-8 "A" for a class that reads abnormal whenever present (ABNORMAL_WHEN_PRESENT)."""
    return "A" if cls in ABNORMAL_WHEN_PRESENT and value > 0 else ""


def changes_note(amended: Amended, *, gettext: Gettext = _english,
                 released: bool = True) -> str:
    """The note that says what an amendment changed, for the receiving side's reader (the
    OBX statuses say it to the system): "Changed from version 1: Neutrophils 60.0 → 58.0".
    An amendment that is not ``released`` (a rejection) withdraws the result it replaces."""
    if not released:
        return gettext("Replaces version %(version)s: its result is withdrawn, and this "
                       "version is not validated.") % {"version": amended.version}
    if amended.changes:
        note = gettext("Changed from version %(version)s: %(changes)s.") % {
            "version": amended.version,
            "changes": amended.separator.join(f"{label} {before} → {after}"
                                 for label, before, after in amended.changes)}
    else:
        note = gettext("Changed from version %(version)s: the differential is unchanged.") % {
            "version": amended.version}
    if amended.comment_changed:
        note += " " + gettext("The conclusion was changed.")
    if amended.cbc_changed:
        note += " " + gettext("The blood count was changed: measured %(before)s → measured "
                              "%(after)s.") % {"before": amended.cbc_changed[0],
                                               "after": amended.cbc_changed[1]}
    if amended.collected_changed:
        note += " " + gettext("The collection time was changed: %(before)s → %(after)s.") % {
            "before": amended.collected_changed[0], "after": amended.collected_changed[1]}
    if amended.patient_changed:
        note += " " + gettext("The patient's record was changed: %(changes)s.") % {
            "changes": amended.separator.join(f"{label} {before} → {after}" for
                                              label, before, after in amended.patient_changed)}
    return note


def observations(content: dict[str, Any], *, gettext: Gettext = _english) -> list[Row]:
    """The OBX rows of a signed content (see the module docstring); ``gettext`` words the
    notes of a row."""
    diff = content.get("differential") or {}
    rows: list[Row] = []
    for cls, value in (diff.get("per_100_wbc") or {}).items():
        if cls in LOINC_PER_100_WBC and value is not None:
            code, name = LOINC_PER_100_WBC[cls]
            rows.append(Row("NM", f"{code}^{name}^LN", _number(float(value)), "%", cls,
                            flag=_present_flag(cls, float(value))))
        elif cls == "other" and value is not None:
            rows.append(Row("NM", "^".join(OTHER_PER_100_WBC), _number(float(value)), "%",
                            cls))
    if diff.get("bands"):
        rows.append(Row("NM", f"{BANDS[0]}^{BANDS[1]}^LN",
                        _number(float(diff["bands_per_100_wbc"])), "%", "bands"))
        absolute = absolute_figure(int(diff["bands"]), int(diff.get("wbc_counted") or 0),
                                   diff.get("analyser_wbc"))
        if absolute is not None:
            rows.append(Row("NM", f"{BANDS_ABSOLUTE[0]}^{BANDS_ABSOLUTE[1]}^LN",
                            f"{absolute:.{ABSOLUTE_DECIMALS}f}", ABSOLUTE_UNIT, "bands#"))
    # Each class's absolute count beside the analyser's WBC, as the report prints it (content
    # signed before the WBC was kept with the differential has none).
    cbc = content.get("cbc") or {}
    counts = diff.get("counts") or {}
    references = diff.get("absolute_reference") or {}
    for cls in diff.get("per_100_wbc") or {}:
        count = counts.get(cls)
        absolute = absolute_figure(count, int(diff.get("wbc_counted") or 0),
                                   diff.get("analyser_wbc")) \
            if cls in ABSOLUTE_LOINC and isinstance(count, int) else None
        if absolute is None:
            continue
        code, name = ABSOLUTE_LOINC[cls]
        cbc_code = CBC_COUNT_OF_CLASS.get(cls)
        # The interval kept with the differential; content signed before it was kept, the one
        # its blood count gives the same count.
        kept = references.get(cls)
        interval = Interval(kept[1], kept[2]) if kept else _interval(cbc, cbc_code)
        # Read on its 95 % interval, as the report reads it (hemograms.flags.count_reading).
        counted = int(diff.get("wbc_counted") or 0)
        bounds = absolute_bounds(count, counted, diff.get("analyser_wbc"))
        flag = count_reading(cbc_code, absolute, interval.low, interval.high,
                             bounds=bounds) if interval else ""
        # Outside OBX-7 and no OBX-8: a receiving system that flags against the interval
        # itself, or its reader, is told why (as the report prints the interval and its note).
        note = gettext(
            "Not flagged: its 95%% interval on the %(n)s white cells counted (%(low)s-"
            "%(high)s) reaches into the reference interval.") % {
            # A note is read, not parsed: its numbers the note's language's way ("1,29").
            "n": counted, "low": number_format(bounds[0], decimal_pos=ABSOLUTE_DECIMALS),
            "high": number_format(bounds[1], decimal_pos=ABSOLUTE_DECIMALS)} \
            if interval and bounds and not flag and count_reading(
                cbc_code, absolute, interval.low, interval.high) else ""
        note = " ".join(n for n in (note, _analyser_differs_note(
            diff, cls, count, counted, gettext=gettext)) if n)
        rows.append(Row("NM", f"{code}^{name}^LN", f"{absolute:.{ABSOLUTE_DECIMALS}f}",
                        ABSOLUTE_UNIT, f"{cls}#", _reference_text(interval),
                        flag or _present_flag(cls, absolute), note))
    smudge = (diff.get("excluded") or {}).get(SMUDGE) or 0
    if smudge and diff.get("wbc_counted"):
        rows.append(Row("NM", f"{SMUDGE_CELLS[0]}^{SMUDGE_CELLS[1]}^LN",
                        _number(float(per_100_of(smudge, int(diff["wbc_counted"])) or 0)), "%",
                        "smudge"))
    if diff.get("nrbc_per_100_wbc") is not None:
        rows.append(Row("NM", f"{NRBC[0]}^{NRBC[1]}^LN",
                        _number(float(diff["nrbc_per_100_wbc"])), "/100{WBCs}", "nrbc",
                        flag="A" if diff.get("nrbc_abnormal") else ""))
    if diff.get("wbc_counted") is not None:
        rows.append(Row("NM", "^".join(WBC_COUNTED), str(int(diff["wbc_counted"])), "{cells}",
                        "wbc_counted"))
    return rows


def _obx(order: Any, i: int, row: Row, status: str, signed_at: datetime,
         collected: datetime | None) -> None:
    obx = order.add_group("ORU_R01_OBSERVATION").obx
    obx.obx_1 = str(i)
    obx.obx_2 = row.vtype
    obx.obx_3 = row.ident
    if row.value:
        obx.obx_5 = row.value
    obx.obx_6 = _st(row.unit)
    if row.reference:
        obx.obx_7 = _st(row.reference)
    if row.flag:
        obx.obx_8 = row.flag
    obx.obx_11 = status
    # OBX-14 is the physiologically relevant time, for a specimen its collection (as OBR-7);
    # the time the result was read and signed is the analysis' own, OBX-19.
    if collected is not None:
        obx.obx_14 = _ts(collected)
    obx.obx_19 = _ts(signed_at)
    if row.note:
        nte = obx.parent.add_segment("NTE")
        nte.nte_1 = "1"
        nte.nte_3 = _text(row.note)


@dataclass(frozen=True)
class Sent:
    """One observation a result message sent: OBX-2, OBX-3 as sent, OBX-5 and OBX-6."""

    vtype: str
    ident: str
    value: str
    unit: str


def sent_observations(er7: str) -> list[Sent]:
    """The observations a stored result message sent with a value (not those it deleted)."""
    message = parse_message(er7.replace("\n", "\r"), find_groups=False)
    return [Sent(seg.obx_2.to_er7(), seg.obx_3.to_er7(), seg.obx_5.to_er7(),
                 seg.obx_6.to_er7())
            for seg in message.children if seg.name == "OBX" and seg.obx_11.to_er7() != "D"]


def oru_r01(*, content: dict[str, Any], signature: SignatureFacts, sending_facility: str,
            receiving_application: str, receiving_facility: str,
            gettext: Gettext = _english, ip_text: Callable[[str], str] = str,
            previous: list[Sent] | None = None, amended: Amended | None = None) -> str:
    """The ER7 text of the result message (see the module docstring); `gettext` translates
    the notes' fixed sentences, never the signer's own text or the codes, and ``ip_text``
    names an analyser's IP message in that language after its own words. ``previous``: what
    the message of the version an amendment replaces sent (``sent_observations``): of those,
    each this one no longer holds is sent as deleted (OBX-11 D), each it holds with another
    value as corrected (C), and each it holds unchanged, or did not send, as final (F);
    without it (None: not known), every value of an amendment is a correction (C).
    ``amended``: what an amendment changes, said in a note after its reason, as its report
    says it."""
    specimen = content["specimen"]
    accession = str(specimen["accession"])
    final_status = "C" if signature.version > 1 else "F"
    # A result the biologist did not validate releases no value: the order has no result (X),
    # the notes say why, and what an earlier version sent is deleted.
    validated = signature.meaning == "validated"
    msg = Message("ORU_R01", version="2.5")
    msg.msh.msh_3 = SENDING_APPLICATION
    msg.msh.msh_4 = _st(sending_facility)
    msg.msh.msh_5 = _st(receiving_application)
    msg.msh.msh_6 = _st(receiving_facility)
    msg.msh.msh_7 = _ts(signature.signed_at)
    msg.msh.msh_9 = "ORU^R01^ORU_R01"
    msg.msh.msh_10 = _st(f"{accession}-v{signature.version}")
    msg.msh.msh_11 = "P"
    msg.msh.msh_18 = "UNICODE UTF-8"
    result = msg.add_group("ORU_R01_PATIENT_RESULT")
    patient = content.get("patient") or {}
    if patient:
        pid = result.add_group("ORU_R01_PATIENT").pid
        pid.pid_1 = "1"
        ident = patient.get("external_id") or patient.get("pseudo_id") or ""
        pid.pid_3 = f"{_st(str(ident))}^^^{_st(sending_facility)}^MR"
        family, given = patient.get("family_name") or "", patient.get("given_name") or ""
        pid.pid_5 = f"{_st(family)}^{_st(given)}"
        birth = patient.get("birth_date")
        if birth:
            pid.pid_7 = _ts(date.fromisoformat(birth))
        pid.pid_8 = {"F": "F", "M": "M"}.get(str(patient.get("sex") or "").upper(), "U")
    order = result.add_group("ORU_R01_ORDER_OBSERVATION")
    obr = order.obr
    obr.obr_1 = "1"
    obr.obr_3 = _st(accession)
    obr.obr_4 = "^".join(PANEL)
    collected = _datetime(specimen.get("collected_at"))
    if collected:
        obr.obr_7 = _ts(collected)
    obr.obr_22 = _ts(signature.signed_at)
    obr.obr_25 = final_status if validated else "X"
    obr.obr_32 = (f"{_st(signature.signer_id)}&{_st(signature.signer_family_name)}"
                  f"&{_st(signature.signer_given_name)}")
    notes = []
    if signature.meaning == "rejected":
        notes.append(gettext("Result not validated (rejected)."))
    elif signature.meaning != "validated":
        notes.append(gettext("Result not validated (%(meaning)s).")
                     % {"meaning": signature.meaning})
    if signature.comment:
        notes.append(signature.comment)
    if signature.amendment_reason:
        notes.append(gettext("Amendment: %(reason)s") % {"reason": signature.amendment_reason})
    if amended is not None:
        notes.append(changes_note(amended, gettext=gettext, released=validated))
    notes += limits(content, gettext=gettext, ip_text=ip_text, released=validated)
    notes.append(gettext("Signed content sha256 %(sha256)s")
                 % {"sha256": signature.content_sha256})
    for i, note in enumerate(notes, 1):
        nte = order.add_segment("NTE")
        nte.nte_1 = str(i)
        nte.nte_3 = _text(note)

    rows = observations(content, gettext=gettext) if validated else []
    # An amendment replaces the earlier result: each value it changes is a correction (C),
    # each it keeps stays final (F), so the receiving side sees what the amendment changed.
    # Not knowing what was sent (None), every value is a correction.
    before = {_code(p.ident): p for p in previous} \
        if previous is not None and signature.version > 1 else None
    renamed = amended is not None and OTHER_NAMES in amended.changed_keys
    for i, row in enumerate(rows, 1):
        kept = None if before is None else before.get(_code(row.ident))
        # A value the earlier message did not send corrects nothing: final, as it is new. The
        # "other" share corrects the earlier one when its cells were named otherwise.
        status = final_status if before is None or kept is not None and (
            (kept.value, kept.unit) != (row.value, row.unit)
            or renamed and row.key == "other") else "F"
        _obx(order, i, row, status, signature.signed_at, collected)
    # What the earlier one sent and this one no longer holds (a class no cell is in any more;
    # a code since replaced) is sent as deleted, under the code it was sent with.
    sent = {_code(row.ident) for row in rows}
    gone = [p for code, p in (before or {}).items() if code not in sent]
    for i, p in enumerate(gone, len(rows) + 1):
        _obx(order, i, Row(p.vtype, p.ident, "", p.unit, "deleted"), "D", signature.signed_at,
             collected)
    # HL7 v2 ends every segment with a carriage return, the last one too: a strict interface
    # engine refuses a message whose last segment is unterminated.
    return msg.to_er7() + "\r"


def _code(ident: str) -> str:
    """The code of an OBX-3 identifier (its first component)."""
    return ident.split("^", 1)[0]
