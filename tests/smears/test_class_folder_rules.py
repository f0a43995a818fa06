"""analyser_class is the image's parent folder, unless that is the single wrapping folder."""

from __future__ import annotations

import pytest

from apps.smears.importers import read_zip
from apps.smears.importers.naming import analyser_class, wrapping_folder

from .builders import pbc_bytes, zip_bytes


@pytest.mark.parametrize(
    ("names", "expected"),
    [
        # export/ wraps everything: its class folders name the classes.
        (["export/neutrophil/a.jpg", "export/eosinophil/b.jpg"], ["neutrophil", "eosinophil"]),
        # An image directly in the wrapping folder has no class.
        (["slide_123/a.jpg", "slide_123/neutrophil/b.jpg"], ["", "neutrophil"]),
        # No wrapping folder: class folders at the root; a root file has no class.
        (["neutrophil/a.jpg", "eosinophil/b.jpg", "c.jpg"], ["neutrophil", "eosinophil", ""]),
        # Deeper layouts: always the immediate parent.
        (["export/slide 1/lymphocyte/a.jpg", "export/slide 2/b.jpg"], ["lymphocyte", "slide 2"]),
        # A single top-level folder holding images is read as a wrapper (documented).
        (["neutrophil/a.jpg", "neutrophil/b.jpg"], ["", ""]),
        # Folder names are kept raw, only stripped.
        (["export/ Neutrophil (band) /a.jpg", "export/x/b.jpg"], ["Neutrophil (band)", "x"]),
        # The same name nested under the wrapper is a class, not the wrapper.
        (["export/export/a.jpg", "export/b.jpg"], ["export", ""]),
    ],
)
def test_class_comes_from_the_parent_folder(names: list[str], expected: list[str]) -> None:
    entries = [(name, pbc_bytes("neutrophil", i)) for i, name in enumerate(names)]
    batch = read_zip(zip_bytes(entries))

    imported = [(i.name, i.analyser_class) for i in batch.images]
    assert imported == list(zip(names, expected, strict=True))


def test_os_junk_does_not_hide_the_wrapping_folder() -> None:
    files = [("__MACOSX", "export", "._a.jpg"), (".DS_Store",), ("export", "neutrophil", "a.jpg")]
    assert wrapping_folder(files) == "export"
    assert analyser_class(("export", "a.jpg"), "export") == ""
    assert analyser_class(("a.jpg",), None) == ""
