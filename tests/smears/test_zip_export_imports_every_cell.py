"""A real CellaVision export, zipped: every cell arrives with its class, bytes and size."""

from __future__ import annotations

import io

from PIL import Image

from apps.smears.importers import read_upload, read_zip

from .builders import CLASSES, accounted_names, export_entries, sha256, zip_bytes


def test_every_cell_is_imported_with_its_class_and_original_bytes() -> None:
    entries = export_entries(top="export", per_class=3)
    batch = read_zip(zip_bytes(entries))

    assert batch.rejected == () and batch.duplicates == () and batch.skipped == ()
    assert [i.name for i in batch.images] == list(entries)  # archive order, nothing dropped
    for image in batch.images:
        original = entries[image.name]
        with Image.open(io.BytesIO(original)) as reference:
            expected_size = reference.size
        assert image.content == original
        assert image.sha256 == sha256(original)
        assert image.format == "JPEG"
        assert (image.width, image.height) == expected_size
        assert image.analyser_class == image.name.split("/")[1]
        assert image.metadata == {}
    assert {i.analyser_class for i in batch.images} == set(CLASSES)


def test_an_export_without_a_wrapping_folder_keeps_its_classes() -> None:
    entries = export_entries(top=None, per_class=2)
    batch = read_zip(zip_bytes(entries))

    assert sorted(accounted_names(batch)) == sorted(entries)
    assert {(i.name, i.analyser_class) for i in batch.images} == {
        (name, name.split("/")[0]) for name in entries
    }


def test_a_zip_upload_is_streamed_from_a_file_object() -> None:
    entries = export_entries(per_class=1)
    batch = read_upload("cells.zip", io.BytesIO(zip_bytes(entries)))

    assert [i.name for i in batch.images] == list(entries)
