"""The first page rasterises (pdftoppm) to a non-blank image of A4 proportions."""

from __future__ import annotations

import subprocess

from PIL import Image, ImageStat

from tests.reports.pdfs import pdf_bytes


def test_first_page_is_a_non_blank_a4_image(signed, rendered, tmp_path):
    pdf = tmp_path / "report.pdf"
    pdf.write_bytes(pdf_bytes(rendered(signed, "fr")))
    subprocess.run(["pdftoppm", "-f", "1", "-l", "1", "-r", "72", "-png", "-singlefile",
                    str(pdf), str(tmp_path / "page1")], check=True, capture_output=True)
    with Image.open(tmp_path / "page1.png") as page:
        width, height = page.size
        grey = page.convert("L")
        dark = sum(grey.histogram()[:128])
        stddev = ImageStat.Stat(grey).stddev[0]
    assert abs(height / width - 297 / 210) < 0.01
    assert width in (595, 596) and height == 842           # A4 (595.3 x 841.9 pt) at 72 dpi
    assert dark > 2000 and stddev > 10                     # text and tables, not a blank page
