"""The same image twice in one upload is imported once; the later copies are listed."""

from __future__ import annotations

import pytest

from apps.smears.importers import ImportRefused, read_zip

from .builders import accounted_names, pbc_bytes, zip_bytes


def test_identical_content_keeps_the_first_and_lists_the_rest() -> None:
    same = pbc_bytes("neutrophil", 0)
    other = pbc_bytes("eosinophil", 0)
    names = ["export/neutrophil/a.jpg", "export/eosinophil/b.jpg", "export/ig/a copy.jpg",
             "export/lymphocyte/again.jpg"]
    batch = read_zip(zip_bytes(list(zip(names, [same, other, same, same], strict=True))))

    assert [(i.name, i.analyser_class) for i in batch.images] == [
        ("export/neutrophil/a.jpg", "neutrophil"),
        ("export/eosinophil/b.jpg", "eosinophil"),
    ]
    assert batch.duplicates == ("export/ig/a copy.jpg", "export/lymphocyte/again.jpg")
    assert sorted(accounted_names(batch)) == sorted(names)


def test_one_name_listed_twice_refuses_the_upload() -> None:
    with pytest.warns(UserWarning, match="Duplicate name"):
        data = zip_bytes([("export/a.jpg", pbc_bytes()), ("export/a.jpg", pbc_bytes("eosinophil"))])
    with pytest.raises(ImportRefused, match="twice"):
        read_zip(data)
