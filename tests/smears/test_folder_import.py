"""read_folder: the same rules as a zip, walked recursively without following links."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from apps.smears.importers import ImportRefused, Limits, read_folder

from .builders import accounted_names, export_entries, pbc_bytes, sha256, write_tree


def test_an_export_folder_is_imported_with_classes(tmp_path: Path) -> None:
    entries = export_entries(top="slide_123", per_class=2)
    write_tree(tmp_path, entries)
    batch = read_folder(tmp_path)

    assert sorted(i.name for i in batch.images) == sorted(entries)
    for image in batch.images:
        assert image.content == entries[image.name]
        assert image.sha256 == sha256(entries[image.name])
        assert image.analyser_class == image.name.split("/")[1]
        assert (image.width, image.height) == (360, 363)
    assert batch.rejected == () and batch.skipped == () and batch.duplicates == ()


def test_symlinks_are_listed_and_never_followed(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    write_tree(outside, {"secret/cell.jpg": pbc_bytes("monocyte"), "secret.jpg": pbc_bytes("ig")})
    root = write_tree(tmp_path / "export", export_entries(top=None, per_class=1))
    (root / "neutrophil" / "link.jpg").symlink_to(outside / "secret.jpg")
    (root / "linked_folder").symlink_to(outside / "secret", target_is_directory=True)
    (root / "loop").symlink_to(root, target_is_directory=True)

    batch = read_folder(root)

    assert len(batch.images) == 3
    assert {r.file: r.reason for r in batch.rejected} == {
        "neutrophil/link.jpg": "symbolic link; links are not followed",
        "linked_folder": "symbolic link; links are not followed",
        "loop": "symbolic link; links are not followed",
    }
    assert pbc_bytes("monocyte") not in {i.content for i in batch.images}


def test_junk_side_files_and_special_files(tmp_path: Path) -> None:
    cells = export_entries(per_class=1)
    root = write_tree(tmp_path, {
        **cells,
        "export/.DS_Store": b"\x00" * 100,
        "export/slide.xml": b"<Slide/>",
        "export/.git/objects/ab": b"x",
        "__MACOSX/export/._a.jpg": b"\x00" * 10,
        "export/notes.jpg": b"not an image",
    })
    os.mkfifo(root / "export" / "pipe.jpg")

    batch = read_folder(root)

    assert sorted(i.name for i in batch.images) == sorted(cells)
    assert {s.file for s in batch.skipped} == {
        "export/.DS_Store", "export/slide.xml", "export/.git/", "__MACOSX/",
    }
    assert {r.file: r.reason.split(" (")[0] for r in batch.rejected} == {
        "export/notes.jpg": "not an image that can be read",
        "export/pipe.jpg": "not a regular file",
    }


def test_folder_limits(tmp_path: Path) -> None:
    entries = export_entries(per_class=2)
    root = write_tree(tmp_path, entries)
    with pytest.raises(ImportRefused, match="more than 5 files"):
        read_folder(root, limits=Limits(max_entries=5))
    total = sum(len(v) for v in entries.values())
    with pytest.raises(ImportRefused, match="above the"):
        read_folder(root, limits=Limits(max_total_uncompressed=total - 1))
    # A file above the per-image limit only rejects that file: its size is a fact here.
    smallest = min(len(v) for v in entries.values())
    batch = read_folder(root, limits=Limits(max_member_bytes=smallest))
    assert len(batch.images) >= 1
    assert all("per-image limit" in r.reason for r in batch.rejected)
    assert sorted(accounted_names(batch)) == sorted(entries)


def test_a_file_path_is_not_a_folder(tmp_path: Path) -> None:
    (tmp_path / "a.jpg").write_bytes(pbc_bytes())
    with pytest.raises(ImportRefused, match="not a folder"):
        read_folder(tmp_path / "a.jpg")
    with pytest.raises(ImportRefused, match="not a folder"):
        read_folder(tmp_path / "missing")
