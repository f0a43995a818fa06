"""Damaged bytes of every kind end as a Rejected (or an image), never as an exception."""

from __future__ import annotations

import random

import pytest

from apps.smears.importers import ImportRefused, read_single, read_zip

from .builders import (
    dicom_jpeg,
    dicom_native,
    export_entries,
    pbc_bytes,
    pbc_pixels,
    reencode,
    zip_bytes,
)

SEED = 20240131


def _mutations(data: bytes, count: int) -> list[bytes]:
    rng = random.Random(SEED)
    out = []
    for _ in range(count):
        mutated = bytearray(data)
        kind = rng.randrange(3)
        if kind == 0:  # truncate
            mutated = mutated[: rng.randrange(len(mutated))]
        elif kind == 1:  # overwrite a run of bytes
            at = rng.randrange(len(mutated))
            mutated[at : at + rng.randrange(1, 64)] = rng.randbytes(rng.randrange(1, 64))
        else:  # flip single bytes
            for _ in range(rng.randrange(1, 8)):
                mutated[rng.randrange(len(mutated))] ^= 1 << rng.randrange(8)
        out.append(bytes(mutated))
    return out


SOURCES = {
    "jpeg": lambda: pbc_bytes(),
    "png": lambda: reencode(pbc_bytes(), "PNG"),
    "tiff": lambda: reencode(pbc_bytes(), "TIFF"),
    "bmp": lambda: reencode(pbc_bytes(), "BMP"),
    "dicom native": lambda: dicom_native(pbc_pixels()),
    "dicom jpeg": lambda: dicom_jpeg(pbc_bytes(), rows=363, columns=360),
}


@pytest.mark.parametrize("source", list(SOURCES))
def test_mutated_files_are_rejected_or_imported(source: str) -> None:
    for data in _mutations(SOURCES[source](), 60):
        batch = read_single("cell", data)
        assert len(batch.images) + len(batch.rejected) == 1
        assert all(r.reason for r in batch.rejected)


def test_mutated_archives_are_refused_or_read() -> None:
    for data in _mutations(zip_bytes(export_entries(per_class=1)), 80):
        try:
            batch = read_zip(data)
        except ImportRefused as exc:
            assert str(exc)
        else:
            assert len(batch.images) + len(batch.rejected) + len(batch.skipped) >= 1
