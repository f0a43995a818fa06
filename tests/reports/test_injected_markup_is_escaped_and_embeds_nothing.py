"""Free text (comment, patient names) is escaped: a `<script>` is text, and an attachment link
to /etc/passwd neither becomes a link nor embeds the file. Were markup ever to slip through, the
fetcher still refuses the file (shown against WeasyPrint's own fetcher, which would embed it)."""

from __future__ import annotations

from pathlib import Path

import pytest
from weasyprint import HTML

from apps.reports.document import report_html
from apps.reports.pdf import PdfRenderError, render_pdf
from apps.reports.services import _static_dir
from tests.reports.conftest import ATTACK
from tests.reports.pdfs import (
    embedded_files,
    pdf_bytes,
    pdf_decompressed,
    pdf_text,
    squeezed,
)

SCRIPT = "<script>alert('x')</script>"
PASSWD_LINE = b"root:x:0:0"


@pytest.fixture
def attacked(make_specimen, sign):  # type: ignore[no-untyped-def]
    specimen = make_specimen(family_name=ATTACK, given_name=SCRIPT)
    return sign(specimen, comment=f"{SCRIPT} see {ATTACK}")


def test_free_text_is_escaped_in_the_html(attacked, settings):
    html = report_html(signature=attacked, language="en", media_root=settings.MEDIA_ROOT)
    assert "<script" not in html.lower() and "<a " not in html.lower()
    assert 'rel="attachment"' not in html.lower() and 'href="file:' not in html.lower()
    # The name (identity table and every page's footer) and the comment.
    assert html.count("&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt;") == 3
    assert "&lt;a rel=&quot;attachment&quot; href=&quot;file:///etc/passwd&quot;&gt;" in html


def test_the_pdf_embeds_no_file_and_shows_the_text(attacked, rendered, tmp_path):
    data = pdf_bytes(rendered(attacked, "en"))
    assert PASSWD_LINE not in pdf_decompressed(data)
    assert b"/EmbeddedFile" not in data and b"/FileAttachment" not in data
    assert embedded_files(data, tmp_path).strip() == "0 embedded files"
    text = squeezed(pdf_text(data, tmp_path))
    assert squeezed(SCRIPT) in text and squeezed(ATTACK) in text     # printed, as typed


def test_weasyprint_default_fetcher_would_embed_the_file(tmp_path):
    # The attack is real: without our fetcher the file ends up inside the PDF.
    data = HTML(string=f"<p>{ATTACK}</p>", base_url=str(tmp_path)).write_pdf()
    assert "1 embedded files" in embedded_files(data, tmp_path)
    assert PASSWD_LINE in pdf_decompressed(data)


def test_unescaped_markup_is_still_refused_by_our_fetcher(settings, tmp_path):
    static = _static_dir()
    media = Path(settings.MEDIA_ROOT)
    media.mkdir(parents=True, exist_ok=True)
    for html in (f"<p>{ATTACK}</p>",
                 '<link rel="attachment" href="file:///etc/passwd">',
                 '<img src="http://127.0.0.1:9/x.png">',
                 f'<img src="{media.as_uri()}/../../../../etc/passwd">'):
        with pytest.raises(PdfRenderError):
            render_pdf(html, base_dir=static, allowed_roots=[static, media])
