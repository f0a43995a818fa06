"""A highly compressed member (a zip bomb) refuses the upload from the central directory."""

from __future__ import annotations

import time
import zipfile

import pytest

from apps.smears.importers import ImportRefused, Limits, read_zip
from apps.smears.importers.archive import RATIO_CHECK_FLOOR

from .builders import pbc_bytes, zip_bytes


def test_a_high_ratio_member_is_refused_without_being_read(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # 4 MiB of zeros deflate to ~4 KiB: a ratio near 1000:1, far above 100:1.
    bomb = b"\x00" * (4 * 1024**2)
    data = zip_bytes([("export/neutrophil/a.jpg", pbc_bytes()), ("export/bomb.jpg", bomb)])
    assert len(data) < 64 * 1024

    def fail(*args: object, **kwargs: object) -> None:
        raise AssertionError("a member was decompressed")

    monkeypatch.setattr(zipfile.ZipFile, "open", fail)
    started = time.perf_counter()
    with pytest.raises(ImportRefused, match=r"compressed \d+:1 \(limit 100:1\)"):
        read_zip(data)
    assert time.perf_counter() - started < 1.0


def test_the_ratio_limit_is_configurable() -> None:
    member = bytes(range(256)) * 8192  # 2 MiB, compresses well but not absurdly
    data = zip_bytes([("export/a.bin", member)])
    with pytest.raises(ImportRefused, match="zip bombs"):
        read_zip(data, limits=Limits(max_compression_ratio=2))


def test_small_highly_compressible_os_files_do_not_refuse_an_export() -> None:
    # .DS_Store and ._ files are mostly zeros: >100:1, but too small to matter.
    junk = b"\x00" * (RATIO_CHECK_FLOOR // 2)
    data = zip_bytes([("export/.DS_Store", junk), ("export/neutrophil/a.jpg", pbc_bytes())])
    batch = read_zip(data)
    assert [i.name for i in batch.images] == ["export/neutrophil/a.jpg"]
    assert [s.file for s in batch.skipped] == ["export/.DS_Store"]
