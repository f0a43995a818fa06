"""The differential is printed as one table: were it split over two pages, its footer ("White
cells counted") would be repeated under the first part, which then reads as a finished count
without the rows after the break (blasts, erythroblasts). The table is pushed down a line at a
time (analyser comments above the blood count) until it meets the page's end: the footer is
printed once, and the whole table is on that footer's page."""

from __future__ import annotations

import copy
from pathlib import Path

from django.conf import settings

from apps.reports.document import report_html
from apps.reports.pdf import render_pdf
from apps.reports.services import _static_dir
from apps.review.models import Signature
from tests.reports.pdfs import pdf_text

FOOTER = "White cells counted"


def _pages(signature: Signature, comments: int, tmp_path: Path) -> list[str]:
    content = copy.deepcopy(signature.content)
    content["cbc"]["analyser_messages"] = [
        {"kind": "comment", "text": f"Comment line {i + 1}."} for i in range(comments)]
    padded = Signature(specimen=signature.specimen, version=signature.version,
                       meaning=signature.meaning, signed_by=signature.signed_by,
                       content=content, content_sha256=signature.content_sha256)
    media_root = Path(settings.MEDIA_ROOT).resolve()
    html = report_html(signature=padded, language="en", media_root=media_root)
    static = _static_dir()
    pdf = render_pdf(html, base_dir=static, allowed_roots=[static, media_root])
    return [" ".join(text.split()) for text in pdf_text(pdf, tmp_path).split("\f")]


def test_the_differential_never_splits_over_two_pages(make_specimen, sign, tmp_path):
    signature = sign(make_specimen(classes={"neutrophil": 3, "lymphocyte": 2, "monocyte": 1,
                                            "eosinophil": 1, "basophil": 1, "ig": 1,
                                            "erythroblast": 1}))
    pages_seen = set()
    for comments in range(0, 48, 3):
        pages = _pages(signature, comments, tmp_path)
        with_footer = [i for i, text in enumerate(pages) if FOOTER in text]
        assert len(with_footer) == 1, (comments, with_footer)
        page = pages[with_footer[0]]
        table = page[page.index("Class Cells Per 100"):page.index(FOOTER)]
        assert all(label in table for label in ("Neutrophil", "Lymphocyte", "NRBC")), (
            comments, table)
        pages_seen.add(with_footer[0])
    assert len(pages_seen) > 1, "the padding never moved the table to the next page"
