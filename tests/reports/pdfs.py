"""Reading a rendered PDF the way a person or a tool would: text, images, attachments."""

from __future__ import annotations

import hashlib
import re
import subprocess
import zlib
from pathlib import Path


def pdf_bytes(report) -> bytes:  # type: ignore[no-untyped-def]
    with report.pdf.open("rb") as fh:
        return fh.read()


def pdf_text(data: bytes, tmp_path: Path, *, drawn: bool = False) -> str:
    """The PDF's text in reading order; ``drawn``: in the order it is drawn (a table row's cells
    one after the other, where reading order may put a page's last cell after its footer)."""
    path = tmp_path / f"{hashlib.sha256(data).hexdigest()[:12]}.pdf"
    path.write_bytes(data)
    return subprocess.run(["pdftotext", *(["-raw"] if drawn else []), "-enc", "UTF-8",
                           str(path), "-"], check=True, capture_output=True, text=True).stdout


def squeezed(text: str) -> str:
    """The text without any whitespace: long values (hashes) may wrap in the PDF."""
    return "".join(text.split())


def pdf_decompressed(data: bytes) -> bytes:
    """The PDF with every Flate stream inflated, to search what it really contains."""
    parts = [data]
    for match in re.finditer(rb"stream\r?\n(.*?)\r?\nendstream", data, re.S):
        try:
            parts.append(zlib.decompress(match.group(1)))
        except zlib.error:
            continue
    return b"\n".join(parts)


def embedded_files(data: bytes, tmp_path: Path) -> str:
    path = tmp_path / "detach.pdf"
    path.write_bytes(data)
    return subprocess.run(["pdfdetach", "-list", str(path)], check=True, capture_output=True,
                          text=True).stdout
