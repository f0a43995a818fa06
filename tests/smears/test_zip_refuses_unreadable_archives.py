"""Something that is not a sound zip is refused as a whole, with a user-facing message."""

from __future__ import annotations

import pytest

from apps.smears.importers import ImportRefused, read_zip

from .builders import export_entries, pbc_bytes, zip_bytes


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"hello, this is not a zip",
        pytest.param(None, id="jpeg"),
    ],
)
def test_not_a_zip_is_refused(data: bytes | None) -> None:
    with pytest.raises(ImportRefused, match="not a readable zip"):
        read_zip(pbc_bytes() if data is None else data)


def test_corrupt_central_directory_is_refused() -> None:
    data = bytearray(zip_bytes(export_entries(per_class=1)))
    directory = data.rfind(b"PK\x01\x02")
    data[directory : directory + 4] = b"XX\x01\x02"
    with pytest.raises(ImportRefused, match="not a readable zip"):
        read_zip(bytes(data))


def test_truncated_archive_is_refused() -> None:
    data = zip_bytes(export_entries(per_class=1))
    with pytest.raises(ImportRefused, match="not a readable zip"):
        read_zip(data[: len(data) // 2])


def test_damaged_member_data_refuses_the_archive() -> None:
    # Flip bytes inside the first member's compressed data: its CRC no longer matches.
    entries = export_entries(per_class=1)
    data = bytearray(zip_bytes(entries))
    data[200:210] = bytes(10)
    with pytest.raises(ImportRefused, match="damaged"):
        read_zip(bytes(data))
