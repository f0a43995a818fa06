"""A zip inside the zip is not opened: that member is rejected, the rest imported."""

from __future__ import annotations

from apps.smears.importers import read_zip

from .builders import export_entries, pbc_bytes, zip_bytes


def test_a_nested_zip_is_rejected_not_opened() -> None:
    inner = zip_bytes({"inner/neutrophil/a.jpg": pbc_bytes("neutrophil", 5)})
    good = export_entries(per_class=1)
    # Named .jpg on purpose: recognised by content, not by name.
    batch = read_zip(zip_bytes({**good, "export/more.zip": inner, "export/sneaky.jpg": inner}))

    assert [i.name for i in batch.images] == list(good)
    assert {r.file for r in batch.rejected} == {"export/more.zip", "export/sneaky.jpg"}
    assert all("not opened recursively" in r.reason for r in batch.rejected)


def test_an_office_document_is_not_taken_for_an_export_zip() -> None:
    """A Word file is a zip too: refused as a document, not with advice to upload it alone."""
    good = export_entries(per_class=1)
    doc = zip_bytes({"word/document.xml": b"<w:document/>"})
    batch = read_zip(zip_bytes({**good, "export/notes.docx": doc}))
    assert [i.name for i in batch.images] == list(good)
    (refused,) = batch.rejected
    assert refused.file == "export/notes.docx"
    assert str(refused.reason).startswith("not an image: a document stored as a zip archive")
    assert "recursively" not in str(refused.reason)
