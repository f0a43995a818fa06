"""What a French reader must never meet on a page or in a report: English words of the interface
from a known list, a backquote or a Python module path (a docstring or a code leaking), a figure
with a decimal point, and a date that reads two ways. Shared by the page and the PDF tests."""

from __future__ import annotations

import html
import re

# English words of the interface that once reached the French pages, or would if a label were
# left untranslated. Matched as whole words, case-sensitive (French shares "Monocyte").
ENGLISH = [
    # classes, subtypes, attributes
    "Neutrophil", "Eosinophil", "Basophil", "Immature granulocyte", "Erythroblast",
    "Platelet", "Unclassified", "band neutrophil", "segmented neutrophil", "cell size",
    "nucleus shape", "cytoplasm colour", "granule colour", "model prediction",
    # flags and statuses
    "vexas_suspicion", "mds_risk", "dysplasia", "macrocytosis", "Anaemia", "Macrocytosis",
    "Neutropenia", "Thrombocytopenia", "in_review", "In review", "Analysed", "Registered",
    # scores and their explanation
    "points of 100", "VEXAS suspicion", "Driven mostly", "probability", "How is this computed",
    "logistic", "heuristic", "Built on", "session", "module", "card's feature list",
    # the case page and the worklist
    "Worklist", "Search", "Keyboard shortcuts", "Thumbnail size", "Select a cell",
    "Differential", "Undo the last", "Show or hide", "Close", "Cells",
    "Sign", "Request a rescan", "reviewed", "Nothing waiting", "Filter", "Priority",
    # a column header whose "%" once kept it from its translation ({% translate %} looks up
    # "%%")
    "Analyser (CBC",
    # the top bar
    "technician", "biologist",
]


def visible(page: str) -> str:
    """The text a reader sees or hears: no script or style, tags dropped, attributes that are
    read (title, placeholder, aria-label, alt) kept."""
    page = re.sub(r"<(script|style)\b.*?</\1>", " ", page, flags=re.S)
    attributes = re.findall(r'\b(?:title|placeholder|aria-label|alt)="([^"]*)"', page)
    text = re.sub(r"<[^>]+>", " ", page)
    return html.unescape(" ".join([text, *attributes]))


def problems(text: str) -> list[str]:
    found = [word for word in ENGLISH if re.search(rf"(?<![\w-]){re.escape(word)}(?![\w-])",
                                                   text)]
    if "`" in text:
        found.append("a backquote: " + text[max(0, text.index("`") - 60):text.index("`") + 60])
    module = re.search(r"\bapps\.\w+", text)
    if module:
        found.append(f"a module path: {module.group(0)}")
    return found


def number_and_date_problems(text: str) -> list[str]:
    """A decimal point in a figure (French writes 0,90; a version such as 1.0.0 is not a
    figure) and a date that reads two ways (12/02/2026, 2:38 a.m.)."""
    return [m.group(0) for m in re.finditer(
        r"(?<![\w./-])\d+\.\d+(?![\w./-])|\b\d{1,2}/\d{1,2}/\d{2,4}\b|\b[ap]\.m\.", text)]


def date_problems(text: str) -> list[str]:
    """Dates that read two ways in any language (12/02/2026, 2:38 a.m.)."""
    return [m.group(0) for m in re.finditer(r"\b\d{1,2}/\d{1,2}/\d{2,4}\b|\b[ap]\.m\.", text)]


def percent_problems(text: str) -> list[str]:
    """A percent sign after a plain space ("dès 8 %"), which can start a line alone: French sets
    a no-break space ("12\u00a0%"). Read on the HTML as served (a page, or the report before
    it is printed), where a figure and a sign in two table cells are kept apart by their tags:
    a PDF's text layer does not keep the no-break space."""
    text = re.sub(r"<(script|style)\b.*?</\1>", " ", text, flags=re.S)
    return [m.group(0) for m in re.finditer(r"\d[ \t\r\n]+%", text)]
