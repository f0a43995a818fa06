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
