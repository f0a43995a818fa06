"""OS metadata and CellaVision side files are listed as skipped, never read or rejected."""

from __future__ import annotations

from apps.smears.importers import read_zip

from .builders import accounted_names, export_entries, zip_bytes

JUNK = {
    "__MACOSX/export/neutrophil/._BNE_1.jpg": b"\x00\x05\x16\x07" + b"\x00" * 4092,
    "export/.DS_Store": b"\x00\x00\x00\x01Bud1" + b"\x00" * 6140,
    "export/neutrophil/Thumbs.db": b"\xd0\xcf\x11\xe0" + b"\x00" * 100,
    "export/desktop.ini": b"[.ShellClassInfo]\r\n",
    "export/.hidden/cell.jpg": b"not even read",
    "export/neutrophil/.~lock.jpg": b"x",
}
SIDE_FILES = {
    "export/slide.xml": b"<?xml version='1.0'?><Slide id='1'/>",
    "export/readme.txt": b"CellaVision export",
    "export/cells.csv": b"file,class\n",
    "export/settings.ini": b"[a]\nb=1\n",
}


def test_junk_and_side_files_are_skipped_with_a_reason() -> None:
    cells = export_entries(per_class=1)
    batch = read_zip(zip_bytes({**cells, **JUNK, **SIDE_FILES}))

    assert [i.name for i in batch.images] == list(cells)
    assert batch.rejected == ()
    skipped = {s.file: s.reason for s in batch.skipped}
    assert set(skipped) == set(JUNK) | set(SIDE_FILES)
    assert all(reason for reason in skipped.values())
    assert "__MACOSX" in skipped["__MACOSX/export/neutrophil/._BNE_1.jpg"]
    assert "side file (.xml)" in skipped["export/slide.xml"]
    assert sorted(accounted_names(batch)) == sorted({**cells, **JUNK, **SIDE_FILES})


def test_junk_does_not_change_the_classes() -> None:
    # macOS adds __MACOSX/ and .DS_Store next to the wrapping folder when zipping it.
    cells = export_entries(per_class=1)
    batch = read_zip(zip_bytes({**cells, ".DS_Store": b"\x00" * 10, **JUNK}))

    assert {i.analyser_class for i in batch.images} == {"neutrophil", "eosinophil", "platelet"}
