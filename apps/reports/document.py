"""The report's HTML, built only from what was signed (`Signature.content` and the signature row).

Live rows (patient, cells, CBC) are never read here: a report printed a year later shows exactly
what the biologist signed, even if the record has changed since.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from django.template.loader import render_to_string
from django.utils import translation
from django.utils.formats import number_format

from apps.analysis.domain_text import cell_flag_text
from apps.analysis.score_text import reason_text, score_display, score_value_text, translate
from apps.analysis.selectors import cell_anomalies
from apps.patients.models import Sex
from apps.review.display import differential_table
from apps.review.models import Meaning, Signature

from . import labels

TEMPLATE = "reports/validation_report.html"


def _number(value: Any, digits: int = 4) -> str:
    """A localised number without float noise or padding zeros ('9,8' in French); '' for None."""
    if value is None or isinstance(value, bool):
        return ""
    if not isinstance(value, int | float):
        return str(value)
    text = f"{value:.{digits}f}".rstrip("0").rstrip(".") if isinstance(value, float) else str(value)
    return number_format(Decimal(text))


def _percent(probability: Any) -> str:
    if probability is None:
        return ""
    return f"{_number(round(100 * float(probability), 1))} %"


def _datetime(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


def _date(value: str | None) -> date | None:
    return date.fromisoformat(value) if value else None


def _patient(patient: dict[str, Any] | None) -> dict[str, Any] | None:
    if patient is None:
        return None
    sex = patient.get("sex") or ""
    return {**patient, "birth_date": _date(patient.get("birth_date")),
            "sex_label": str(Sex(sex).label) if sex in Sex.values else sex}


def _cbc(cbc: dict[str, Any] | None) -> dict[str, Any] | None:
    if cbc is None:
        return None
    rows = []
    for v in cbc.get("values", []):
        low, high = _number(v.get("ref_low")), _number(v.get("ref_high"))
        rows.append({
            "code": v.get("code", ""),
            "value": _number(v.get("value")) if v.get("value") is not None
            else v.get("raw_value", ""),
            "unit": v.get("unit", ""),
            "range": f"{low} – {high}" if low and high else (f"≥ {low}" if low else
                                                            (f"≤ {high}" if high else "")),
            "flag": v.get("flag", ""),
            "analyser_flag": v.get("analyser_flag", ""),
        })
    return {"analyser": cbc.get("analyser", ""), "measured_at": _datetime(cbc.get("measured_at")),
            "reference_ranges_version": cbc.get("reference_ranges_version", ""), "rows": rows}


def _differential(diff: dict[str, Any]) -> dict[str, Any]:
    if "per_100_wbc" not in diff:
        # Signed before the differential per 100 white cells: printed as it was signed.
        rows = [{"label": labels.label(labels.CELL_CLASSES, r.get("class")),
                 "count": r.get("count", 0), "percent": _number(r.get("percent")),
                 "analyser_count": r.get("analyser_count", 0)}
                for r in diff.get("rows", [])]
        return {"legacy": True, "total": diff.get("total", 0),
                "reviewed": diff.get("reviewed", 0), "rows": rows}
    return {"legacy": False, **differential_table(diff)}


def _scores(scores: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{"name": labels.label(labels.SCORE_NAMES, s.get("name")),
             "display": score_display(s),
             "version": " ".join(v for v in (s.get("definition"), s.get("version")) if v),
             "sha256": s.get("sha256") or "",
             "reasons": [reason_text(r) for r in s.get("reasons") or []],
             "state": labels.label(labels.SCORE_STATES, s.get("state")),
             # In the score's unit (VEXAS: points of 100, never a figure read as a probability).
             "value": score_value_text(str(s.get("name") or ""), s.get("value"))
             or _number(s.get("value"), digits=3),
             "level": labels.label(labels.SCORE_LEVELS, s.get("level")),
             "text": translate(s.get("text") or "")}
            for s in scores]


def _media_uri(media_root: Path, name: str | None) -> str:
    # Names are media-relative as stored; the PDF fetcher refuses anything that leaves MEDIA_ROOT.
    return (media_root / name).as_uri() if name else ""


def _key_cells(cells: list[dict[str, Any]], media_root: Path) -> list[dict[str, Any]]:
    out = []
    for c in cells:
        # Neutrophils only (the rule of apps.analysis), also for content signed before it.
        shown = cell_anomalies(final_class=c.get("class") or "", anomalies=c.get("anomalies"))
        anomalies = [{"label": labels.label(labels.ANOMALIES, name),
                      "value": None if p is None else _percent(p)}
                     for name, p in sorted(shown.items())]
        out.append({
            "cell_id": c.get("cell_id"),
            "label": labels.label(labels.CELL_CLASSES, c.get("class")),
            "predicted_label": labels.label(labels.CELL_CLASSES, c.get("predicted_class")),
            "reclassified": c.get("class") != c.get("predicted_class"),
            "probability": _percent(c.get("probability")),
            "reviewed": bool(c.get("reviewed")),
            "image_uri": _media_uri(media_root, c.get("image")),
            "cam_uri": _media_uri(media_root, c.get("cam")),
            "anomalies": anomalies,
            "domain_flag": cell_flag_text(c.get("domain_flag")),
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
        "amendment_reason": signed.get("amendment_reason", signature.amendment_reason) or "",
        "content_sha256": signature.content_sha256,
    }


def report_context(*, signature: Signature, media_root: Path) -> dict[str, Any]:
    """The template context; call with the report's language active (numbers are localised)."""
    content = signature.content
    specimen = content.get("specimen") or {}
    return {
        "schema": content.get("schema", ""),
        "lab_name": (content.get("lab") or {}).get("name", ""),
        "accession": specimen.get("accession", ""),
        "collected_at": _datetime(specimen.get("collected_at")),
        "patient": _patient(content.get("patient")),
        "cbc": _cbc(content.get("cbc")),
        "differential": _differential(content.get("differential") or {}),
        # Absent from content signed before the domain check existed: then nothing is printed.
        "domain": content.get("domain"),
        "scores": _scores(content.get("scores") or []),
        "key_cells": _key_cells(content.get("key_cells") or [], media_root),
        "models": content.get("models") or [],
        "comment": content.get("comment", signature.comment) or "",
        "sign": _signature_block(signature),
    }


def report_html(*, signature: Signature, language: str, media_root: Path) -> str:
    """The report of `signature` as HTML, in `language`, with autoescaping on."""
    with translation.override(language):
        context = report_context(signature=signature, media_root=Path(media_root).resolve())
        return render_to_string(TEMPLATE, {**context, "language": language})
