"""Entry count, declared sizes and upload size are checked before any member is read."""

from __future__ import annotations

import io
import zipfile

import pytest

from apps.smears.importers import ImportRefused, Limits, read_upload, read_zip

from .builders import export_entries, zip_bytes


def forbid_member_reads(monkeypatch: pytest.MonkeyPatch) -> None:
    """From here on, opening any member fails the test: limits come from the directory."""

    def fail(*args: object, **kwargs: object) -> None:
        raise AssertionError("a member was opened before the archive was checked")

    monkeypatch.setattr(zipfile.ZipFile, "open", fail)


def test_too_many_files_refuses_the_upload(monkeypatch: pytest.MonkeyPatch) -> None:
    data = zip_bytes(export_entries(per_class=2))  # 6 files
    forbid_member_reads(monkeypatch)
    with pytest.raises(ImportRefused, match="6 files; the limit is 5"):
        read_zip(data, limits=Limits(max_entries=5))


def test_a_huge_directory_is_refused_before_zipfile_parses_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    data = zip_bytes([(f"export/{i:05}.txt", b"") for i in range(300)])

    def fail(*args: object, **kwargs: object) -> None:
        raise AssertionError("zipfile parsed the central directory")

    monkeypatch.setattr(zipfile, "ZipFile", fail)
    with pytest.raises(ImportRefused, match="more entries than the limit of 2 files"):
        read_zip(data, limits=Limits(max_entries=2))


def test_declared_total_above_the_limit_refuses_the_upload(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    entries = export_entries(per_class=2)
    total = sum(len(v) for v in entries.values())
    data = zip_bytes(entries)
    forbid_member_reads(monkeypatch)
    with pytest.raises(ImportRefused, match="expands to"):
        read_zip(data, limits=Limits(max_total_uncompressed=total - 1))


def test_a_member_declared_above_the_per_file_limit_refuses_the_upload(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    entries = export_entries(per_class=1)
    largest = max(len(v) for v in entries.values())
    data = zip_bytes(entries)
    forbid_member_reads(monkeypatch)
    with pytest.raises(ImportRefused, match="per-file limit"):
        read_zip(data, limits=Limits(max_member_bytes=largest - 1))


def test_an_upload_above_the_upload_limit_is_refused() -> None:
    data = zip_bytes(export_entries(per_class=1))
    limits = Limits(max_upload_bytes=len(data) - 1)
    with pytest.raises(ImportRefused, match="too large"):
        read_zip(data, limits=limits)
    with pytest.raises(ImportRefused, match="too large"):
        read_upload("x.zip", io.BytesIO(data), limits=limits)


def test_exactly_at_the_limits_is_accepted() -> None:
    entries = export_entries(per_class=1)
    data = zip_bytes(entries)
    limits = Limits(
        max_upload_bytes=len(data),
        max_entries=len(entries),
        max_total_uncompressed=sum(len(v) for v in entries.values()),
        max_member_bytes=max(len(v) for v in entries.values()),
    )
    assert len(read_zip(data, limits=limits).images) == len(entries)
