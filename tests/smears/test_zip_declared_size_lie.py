"""A member whose data disagree with its declared size refuses the upload; reads are capped."""

from __future__ import annotations

import io

import pytest

from apps.smears.importers import ImportRefused, Limits, read_zip
from apps.smears.importers.members import TooLarge, read_capped

from .builders import patch_central_directory, pbc_bytes, zip_bytes


def test_a_member_larger_than_declared_refuses_the_upload() -> None:
    real = pbc_bytes()
    data = zip_bytes([("export/a.jpg", real)])
    # Declare a tenth of the real size: the limits pass, the data then disagree.
    lie = patch_central_directory(data, "export/a.jpg", file_size=len(real) // 10)
    with pytest.raises(ImportRefused, match="damaged"):
        read_zip(lie, limits=Limits(max_member_bytes=len(real) // 5))


def test_a_member_smaller_than_declared_refuses_the_upload() -> None:
    real = pbc_bytes()
    data = zip_bytes([("export/a.jpg", real)])
    lie = patch_central_directory(data, "export/a.jpg", file_size=len(real) + 1000)
    with pytest.raises(ImportRefused, match="damaged"):
        read_zip(lie)


def test_reads_stop_one_byte_past_the_cap() -> None:
    class Counting(io.BytesIO):
        consumed = 0

        def read(self, size: int | None = -1) -> bytes:
            chunk = super().read(size)
            Counting.consumed += len(chunk)
            return chunk

    stream = Counting(b"x" * 10_000_000)
    with pytest.raises(TooLarge):
        read_capped(stream, 1000)
    assert Counting.consumed == 1001
    assert read_capped(io.BytesIO(b"x" * 1000), 1000) == b"x" * 1000
