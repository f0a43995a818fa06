"""Entries sharing compressed data (the overlapping-files bomb) refuse the upload."""

from __future__ import annotations

import pytest

from apps.smears.importers import ImportRefused, read_zip

from .builders import patch_central_directory, pbc_bytes, zip_bytes


def test_two_entries_pointing_at_the_same_data_are_refused() -> None:
    data = zip_bytes([("export/a.jpg", pbc_bytes()), ("export/b.jpg", pbc_bytes("eosinophil"))])
    overlapping = patch_central_directory(data, "export/b.jpg", header_offset=0)
    with pytest.raises(ImportRefused, match="overlaps"):
        read_zip(overlapping)
