"""The report's HTML, built only from what was signed (`Signature.content` and the signature row).

Live rows (patient, cells, CBC) are never read here: a report printed a year later shows exactly
what the biologist signed, even if the record has changed since.
"""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path
from typing import Any

from django.template.loader import render_to_string
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import pgettext

from apps.analysis.domain_text import cell_flag_text
from apps.analysis.overlays import report_cell_files
from apps.analysis.score_text import (
    probability_percent,
    score_display,
    score_value_text,
    translate,
)
from apps.analysis.selectors import cell_anomalies
from apps.core.numbers import measured_value, plain_number
from apps.core.written_dates import written_date
from apps.hemograms.flags import critical_low
from apps.hemograms.models import Flag
from apps.hemograms.wording import (
    analyser_name,
    cbc_name,
    cbc_short_name,
    cbc_unit,
    ip_message,
    subject_note,
)
from apps.ml.domain import CELL_OUTSIDE, CELL_SMEAR_OUTSIDE
from apps.patients.flag_text import CORRECTED_FIELDS
from apps.patients.models import Sex, SpecimenStatus
from apps.review.display import (
    differential_changes,
    differential_table,
    signed_differential,
)
from apps.review.models import Meaning, Signature
from apps.review.selectors import CONTEXT_CBC, same_day
from apps.review.trend import Point, trend_panel
from apps.smears.differential import wbc_class

from . import labels
from .hl7_result import count_acknowledged, domain_acknowledged

TEMPLATE = "reports/validation_report.html"
# Dates that read one way in both languages: the day, the month in words, the year, a 24-hour
# time ("12 February 2026, 03:38", "12 février 2026 à 03:38"), never 12/02 or a.m.: the
# language's own formats (hemaclinic/formats), as the pages print them.
DAY = "DATE_FORMAT"
MOMENT = "DATETIME_FORMAT"


def _number(value: Any, digits: int = 4) -> str:
    """A localised number without float noise or padding zeros (apps.core.numbers)."""
    return plain_number(value, digits)


def _datetime(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


def _date(value: str | None) -> date | None:
    return date.fromisoformat(value) if value else None


def _local(value: datetime) -> datetime:
    return timezone.localtime(value) if timezone.is_aware(value) else value


def _day(value: date | datetime | None) -> str:
    """A date in the active language, unambiguous ('17 May 1952', '17 mai 1952'); '' for None."""
    if value is None:
        return ""
    return written_date(_local(value) if isinstance(value, datetime) else value, DAY)


def _moment(value: datetime | None) -> str:
    """A time in the active language and time zone ('12 February 2026, 03:38')."""
    return "" if value is None else written_date(_local(value), MOMENT)


def _sex(code: str) -> str:
    return str(Sex(code).label) if code in Sex.values else code


def _patient(patient: dict[str, Any] | None) -> dict[str, Any] | None:
    if patient is None:
        return None
    birth = _date(patient.get("birth_date"))
    return {**patient, "birth_date": birth, "birth_date_text": _day(birth),
            "born_text": _born(patient.get("sex") or "", _day(birth)) if birth else "",
            "sex_label": _sex(patient.get("sex") or "")}


def _born(sex: str, day: str) -> str:
    """"born 3 March 1952", agreed with the patient's sex where a language marks it (French
    "né le", "née le"; "né(e) le" when the sex is not known)."""
    if sex == "M":
        return pgettext("of a man", "born %(day)s") % {"day": day}
    if sex == "F":
        return pgettext("of a woman", "born %(day)s") % {"day": day}
    return _("born %(day)s") % {"day": day}


def _cbc_row(v: dict[str, Any]) -> dict[str, Any]:
    low, high = _number(v.get("ref_low")), _number(v.get("ref_high"))
    return {
        "code": v.get("code", ""), "name": cbc_name(v.get("code", "")),
        "value": measured_value(v.get("value"), v.get("decimals"))
        if v.get("value") is not None
        else v.get("raw_value", ""),
        "unit": cbc_unit(v.get("unit")),
        "range": f"{low} – {high}" if low and high else (f"≥ {low}" if low else
                                                        (f"≤ {high}" if high else "")),
        "flag": v.get("flag", ""),
        "critical": bool(v.get("critical")),
        "analyser_flag": v.get("analyser_flag", ""),
        # The share (%) a count the file left out was computed from with the WBC.
        "computed_from": v.get("share_code", ""),
    }


def _dated_note(cbc: dict[str, Any], collected_at: str | None) -> str:
    """Beside "Measured at" of a count the file dates only by its collection time: that it is
    no time of analysis, and, when the specimen's signed collection time is another (corrected
    after the import), that too, so the report does not give two collection times unexplained."""
    if not cbc.get("dated_by_collection"):
        return ""
    if _datetime(collected_at) not in (None, _datetime(cbc.get("measured_at"))):
        return _("the file's collection time, not the specimen's above: the file gives no time "
                 "of analysis")
    return _("the file's collection time: it gives no time of analysis")


def _cbc(cbc: dict[str, Any] | None, *, collected_at: str | None = None
         ) -> dict[str, Any] | None:
    if cbc is None:
        return None
    # A count the file left out (signed with "computed", absent from older reports) right after
    # the share it was computed from, as the case page shows it.
    computed = {c.get("share_code"): c for c in cbc.get("computed") or []}
    rows = []
    for v in cbc.get("values", []):
        rows.append(_cbc_row(v))
        if (c := computed.pop(v.get("code"), None)) is not None:
            rows.append(_cbc_row(c))
    rows += [_cbc_row(c) for c in computed.values()]
    return {"analyser": analyser_name(cbc.get("analyser")),
            "measured_at": _moment(_datetime(cbc.get("measured_at"))),
            "dated_note": _dated_note(cbc, collected_at),
            "reference_ranges_version": cbc.get("reference_ranges_version", ""), "rows": rows,
            "subject_note": subject_note(cbc.get("subject")),
            # An IP message as the analyser wrote it, then in the report's language.
            "analyser_messages": [{**m, "text": ip_message(str(m.get("text") or ""))}
                                  if m.get("kind") == "ip" else m
                                  for m in cbc.get("analyser_messages") or []],
            "earlier": [{"measured_at": _moment(_datetime(r.get("measured_at"))),
                         "values": [{"code": v.get("code", ""),
                                     "name": cbc_short_name(str(v.get("code") or "")),
                                     "value": measured_value(v.get("value"), v.get("decimals")),
                                     "unit": cbc_unit(v.get("unit"))}
                                    for v in r.get("values") or []],
                         "ip_messages": [ip_message(str(t)) for t in r.get("ip_messages") or []]}
                        for r in cbc.get("earlier") or []]}


def _context_flag(code: str, value: dict[str, Any]) -> str:
    """An earlier specimen's value's flag as its CBC table words it: "Critical low" past a
    critical limit (as signed; computed for content signed before it was kept), else Low or
    High."""
    critical = value.get("critical")
    if critical is None:
        critical = critical_low(code, value.get("value")) is not None
    if critical:
        return _("Critical low")
    flag = value.get("flag") or ""
    return str(Flag(flag).label) if flag in ("L", "H") else ""


def _patient_context(context: dict[str, Any] | None) -> dict[str, Any] | None:
    """The patient around the case as signed (review.selectors.patient_context_entry): age and
    sex at collection, the earlier specimens and the CBC trend, redrawn from the signed points by
    the case page's renderer (apps.review.trend). None when the content has none (no patient,
    or signed before the report carried it)."""
    if not context:
        return None
    names = dict(CONTEXT_CBC)
    previous = []
    case_at = _datetime(context.get("at"))
    for row in context.get("previous") or []:
        values = row.get("values") or {}
        at = _datetime(row.get("at"))
        signed = row.get("signature")
        meaning = (signed or {}).get("meaning") or ""
        status = row.get("status") or ""
        previous.append({
            "accession": row.get("accession", ""),
            "day": _moment(at) if at and case_at and same_day(at, case_at) else _day(at),
            "values": [{"label": str(label),
                        "value": measured_value(values[code].get("value"),
                                                values[code].get("decimals")),
                        "unit": cbc_unit(values[code].get("unit")),
                        "flag": _context_flag(code, values[code])}
                       if code in values else {"label": str(label), "value": "", "unit": "",
                                               "flag": ""}
                       for code, label in CONTEXT_CBC],
            "status": str(SpecimenStatus(status).label) if status in SpecimenStatus.values
            else status,
            "signature": None if signed is None else {
                "meaning": str(Meaning(meaning).label) if meaning in Meaning.values else meaning,
                "rejected": meaning == Meaning.REJECTED,
                "day": _day(_datetime(signed.get("signed_at"))),
                "version": signed.get("version") or 1,
                "conclusion": signed.get("conclusion") or "",
                # A rejection released no count: none is printed under it.
                "differential": signed_differential(signed.get("per_100_wbc"),
                                                    signed.get("nrbc_per_100_wbc"))
                if meaning != Meaning.REJECTED else []},
        })
    trends = []
    for trend in context.get("trends") or []:
        points = [Point(at=datetime.fromisoformat(p["at"]), value=float(p["value"]),
                        current=bool(p.get("current")), decimals=p.get("decimals"))
                  for p in trend.get("points") or []]
        panel = trend_panel(points, ref_low=trend.get("ref_low"), ref_high=trend.get("ref_high"))
        if panel is None:
            continue
        code = trend.get("code", "")
        trends.append({
            "code": code, "label": str(names.get(code, code)), "unit": cbc_unit(
                trend.get("unit")), "panel": panel,
            # The patient's own lowest and highest: worded so, not read as an interval.
            "range": _("values %(low)s–%(high)s") % {
                "low": measured_value(panel.low, panel.decimals),
                "high": measured_value(panel.high, panel.decimals)},
            "first": _day(points[0].at) if points else "",
            "last": _day(points[-1].at) if points else ""})
    sex = context.get("sex") or ""
    return {"age": context.get("age"), "sex": _sex(sex),
            "day": _day(_datetime(context.get("at"))), "labels": [str(label) for _c, label in
                                                                   CONTEXT_CBC],
            "previous": previous, "trends": trends,
            # The note on the validated differentials only beside one.
            "any_differential": any(r["signature"] and r["signature"]["differential"]
                                    for r in previous)}


def _differential(diff: dict[str, Any], version: int) -> dict[str, Any]:
    if "per_100_wbc" not in diff:
        # Signed before the differential per 100 white cells: printed as it was signed.
        rows = [{"label": labels.label(labels.CELL_CLASSES, r.get("class")),
                 "count": r.get("count", 0), "percent": _number(r.get("percent")),
                 "analyser_count": r.get("analyser_count", 0)}
                for r in diff.get("rows", [])]
        return {"legacy": True, "total": diff.get("total", 0),
                "reviewed": diff.get("reviewed", 0), "rows": rows}
    # Signed: nothing is to come any more ("there is no differential", not "... yet").
    return {"legacy": False, **differential_table({**diff, "signature_version": version})}


def _scores(scores: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{"name": labels.label(labels.SCORE_NAMES, s.get("name")),
             "display": (shown := score_display(s, report=True)),
             "version": " ".join(v for v in (s.get("definition"), s.get("version")) if v),
             # Each unbroken (a break at an id's hyphen reads as two ids), apart at the space.
             "version_parts": [v for v in (s.get("definition"), s.get("version")) if v],
             "sha256": s.get("sha256") or "",
             "reasons": shown["reasons"],
             "state": labels.label(labels.SCORE_STATES, s.get("state")),
             # In the score's unit (VEXAS: points of 100, never a figure read as a probability).
             "value": score_value_text(str(s.get("name") or ""), s.get("value"),
                                       s.get("thresholds"))
             or _number(s.get("value"), digits=3),
             # As the case page words it (a VEXAS level without points from vacuoles says so).
             "level": shown["level"],
             "text": translate(s.get("text") or ""),
             # A model's known limits (its card), as the case page lists them under the score:
             # beside a result, not beside a score that gave none.
             "limits": [translate(str(t)) for t in (s.get("evidence") or {}).get("limits") or []]
             if s.get("state") == "scored" else []}
            for s in scores]


def _media_uri(media_root: Path, name: str | None) -> str:
    # Names are media-relative as stored; the PDF fetcher refuses anything that leaves MEDIA_ROOT.
    return (media_root / name).as_uri() if name else ""


def _outputs_not_available(cells: list[dict[str, Any]], sex: str) -> str:
    """The neutrophil outputs the cell model lacks among the key cells, said once ('' when
    none): a Barr body (the inactive X of a woman's neutrophil) is not named for a man."""
    missing = {name for c in cells if not c.get("domain_flag")
               for name, p in cell_anomalies(final_class=c.get("class") or "",
                                             anomalies=c.get("anomalies")).items() if p is None}
    if sex == Sex.MALE:
        missing.discard("barr_body")
    if not missing:
        return ""

    def in_a_sentence(label: str) -> str:  # a row label inside a sentence; Barr keeps his B
        return label if label.startswith("Barr") else label[:1].lower() + label[1:]

    names = pgettext("between the items of a list", ", ").join(
        in_a_sentence(str(labels.label(labels.ANOMALIES_NOT_AVAILABLE, n)))
        for n in sorted(missing))
    return _("Outputs this model does not give (for any cell): %(outputs)s.") % {
        "outputs": names}


def _key_cells(cells: list[dict[str, Any]], media_root: Path) -> list[dict[str, Any]]:
    out = []
    for c in cells:
        # An image without a white cell (its flag a view reason) is given no model class: the
        # network's class for a field of red cells is not a finding. An image outside the
        # validated domain, or of a smear outside it, keeps the model's class as its
        # suggestion, without the figures, which do not hold for it
        # (CellPrediction.figures_hold).
        flag = c.get("domain_flag") or ""
        no_cell = bool(flag) and flag not in (CELL_OUTSIDE, CELL_SMEAR_OUTSIDE)
        # Neutrophils only (the rule of apps.analysis), also for content signed before it.
        shown = {} if flag else cell_anomalies(final_class=c.get("class") or "",
                                               anomalies=c.get("anomalies"))
        # Only the outputs the model has: those it lacks are said once for all the cells
        # (``_outputs_not_available``), not on every neutrophil.
        anomalies = [{"label": labels.label(labels.ANOMALIES, name),
                      "value": probability_percent(p)}
                     for name, p in sorted(shown.items()) if p is not None]
        # The files the signed content names, an overlay drawn (once) from its stored map and a
        # bounded copy of a very large image: no live value is printed.
        image, cam = report_cell_files(image=c.get("image"), cam=c.get("cam"))
        out.append({
            "cell_id": c.get("cell_id"),
            "label": labels.label(labels.CELL_CLASSES, c.get("class"))
            + (f" ({c['name']})" if c.get("name") else ""),
            "predicted_label": "" if no_cell else labels.label(labels.CELL_CLASSES,
                                                                c.get("predicted_class")),
            # By the biologist (content signed before "reviewed" was kept: any other class); an
            # image left without a class was not reclassified.
            "reclassified": bool(c.get("class")) and c.get("reviewed", True) is not False
            and c.get("class") != c.get("predicted_class"),
            # The scanner pre-classified it otherwise than it was signed: one of the two was
            # wrong, which the report keeps (a band neutrophil's folder names a neutrophil).
            # An image signed without a class has nothing to differ from.
            "scanner_label": labels.label(labels.CELL_CLASSES, c["scanner_class"])
            if c.get("scanner_class") and c.get("class") and wbc_class(c["scanner_class"])
            != wbc_class(c.get("class") or "") else "",
            "probability": "" if flag else probability_percent(c.get("probability")),
            "reviewed": bool(c.get("reviewed")),
            # The biologist's read of a neutrophil's vacuoles, counted in place of the model's.
            "vacuoles_read": {"seen": pgettext("vacuoles", "seen"),
                              "none": pgettext("vacuoles", "none")}.get(
                                  str(c.get("vacuoles_read") or ""), ""),
            "image_uri": _media_uri(media_root, image),
            "cam_uri": _media_uri(media_root, cam),
            "anomalies": anomalies,
            "domain_flag": cell_flag_text(c.get("domain_flag"), short=True),
        })
    return out


def _signature_block(signature: Signature) -> dict[str, Any]:
    # The signing service copies the signature into the content; older rows only have the row.
    signed = signature.content.get("signature") or {}
    user = signature.signed_by
    meaning = signed.get("meaning") or signature.meaning
    return {
        "version": signed.get("version") or signature.version,
        "meaning": meaning,
        "meaning_label": str(Meaning(meaning).label) if meaning in Meaning.values else meaning,
        "validated": meaning == Meaning.VALIDATED,
        "signed_by": signed.get("signed_by") or user.get_full_name() or user.get_username(),
        "username": signed.get("username") or user.get_username(),
        "signed_at": _datetime(signed.get("signed_at")) or signature.signed_at,
        "signed_at_text": _moment(_datetime(signed.get("signed_at")) or signature.signed_at),
        "amendment_reason": signed.get("amendment_reason", signature.amendment_reason) or "",
        "content_sha256": signature.content_sha256,
    }


def replaced(signature: Signature) -> dict[str, Any] | None:
    """For an amendment: the version it replaces (who signed it, when, its content's hash)
    and what it changes of the differential, per 100 white cells, from one signed content to
    the other (both immutable); None for a first version."""
    earlier = (Signature.objects.filter(specimen_id=signature.specimen_id,
                                        version__lt=signature.version)
               .select_related("signed_by").order_by("-version").first())
    if earlier is None:
        return None
    return {**_signature_block(earlier),
            "changes": differential_changes(earlier.content.get("differential") or {},
                                            signature.content.get("differential") or {}),
            "comment_changed": (earlier.content.get("comment") or "") != (
                signature.content.get("comment") or ""),
            "collected_changed": collection_change(earlier.content, signature.content),
            "cbc_changed": cbc_change(earlier.content, signature.content),
            "patient_changed": patient_change(earlier.content, signature.content)}


def patient_change(earlier: dict[str, Any], content: dict[str, Any]
                   ) -> list[tuple[str, str, str]]:
    """What an amendment signs of the patient's record that the earlier version did not (a
    record corrected in between): each field, before and after, as the report prints them;
    [] when the record is the same."""
    before, after = earlier.get("patient") or {}, content.get("patient") or {}

    def printed(field: str, value: Any) -> str:
        text = _day(_date(value)) if field == "birth_date" else (
            _sex(value or "") if field == "sex" else value)
        return str(text or "—")

    return [(str(label), printed(field, before.get(field)), printed(field, after.get(field)))
            for field, label in CORRECTED_FIELDS.items()
            if (before.get(field) or None) != (after.get(field) or None)]


def cbc_change(earlier: dict[str, Any], content: dict[str, Any]) -> tuple[str, str] | None:
    """The blood count an amendment signs, when it is not the one the earlier version signed
    (another count attached, or other values): when each was measured, as the report prints it
    ("none" for a version without a count); None when the count is the same."""
    def signed(c: dict[str, Any]) -> tuple[Any, ...] | None:
        cbc = c.get("cbc")
        if not cbc:
            return None
        return (cbc.get("measured_at"), tuple(sorted(
            (str(v.get("code")), v.get("value"), v.get("raw_value"))
            for v in cbc.get("values") or [])))

    before, after = signed(earlier), signed(content)
    if before == after:
        return None
    return tuple(_moment(_datetime(s[0])) if s and s[0] else (_("none") if s is None else "—")
                 for s in (before, after))  # type: ignore[return-value]


def collection_change(earlier: dict[str, Any], content: dict[str, Any]) -> tuple[str, str] | None:
    """The specimen's collection time before and after an amendment, as the report prints it
    (a time the earlier version did not have reads "none"); None when it did not change. The
    report and the result message both say it: OBR-7 moves with it."""
    before = (earlier.get("specimen") or {}).get("collected_at")
    after = (content.get("specimen") or {}).get("collected_at")
    if _datetime(before) == _datetime(after):
        return None
    return (_moment(_datetime(before)) or _("none"), _moment(_datetime(after)) or _("none"))


def report_context(*, signature: Signature, media_root: Path) -> dict[str, Any]:
    """The template context; call with the report's language active (numbers are localised)."""
    content = signature.content
    specimen = content.get("specimen") or {}
    return {
        "schema": content.get("schema", ""),
        "lab_name": (content.get("lab") or {}).get("name", ""),
        "accession": specimen.get("accession", ""),
        "collected_at": _moment(_datetime(specimen.get("collected_at"))),
        "patient": _patient(content.get("patient")),
        # Absent from content signed before the report carried it: then nothing is printed.
        "context": _patient_context(content.get("patient_context")),
        "cbc": _cbc(content.get("cbc"), collected_at=specimen.get("collected_at")),
        "differential": _differential(content.get("differential") or {}, signature.version),
        # Absent from content signed before the domain check existed: then nothing is printed.
        "domain": content.get("domain"),
        # The validating biologist's confirmation that they reviewed cells outside that domain.
        "domain_acknowledged": domain_acknowledged(content),
        "count_acknowledged": count_acknowledged(content),
        "scores": _scores(content.get("scores") or []),
        "key_cells": _key_cells(content.get("key_cells") or [], media_root),
        "key_cells_not_available": _outputs_not_available(
            content.get("key_cells") or [], str((content.get("patient") or {}).get("sex") or "")),
        "models": content.get("models") or [],
        "comment": content.get("comment", signature.comment) or "",
        "sign": _signature_block(signature),
        # An amendment's report names the version it replaces and what it changes.
        "replaced": replaced(signature) if signature.version > 1 else None,
    }


def report_html(*, signature: Signature, language: str, media_root: Path) -> str:
    """The report of `signature` as HTML, in `language`, with autoescaping on."""
    with translation.override(language):
        context = report_context(signature=signature, media_root=Path(media_root).resolve())
        # French sets a space before ";": the separator of the score reasons' list is worded.
        separator = pgettext("between the items of a list", "; ")
        return render_to_string(TEMPLATE, {**context, "language": language,
                                           "list_separator": separator})
