"""Symbolic links, special files and encrypted entries refuse the whole upload."""

from __future__ import annotations

import stat
import zipfile

import pytest

from apps.smears.importers import ImportRefused, read_zip

from .builders import pbc_bytes, set_encrypted_flag, zip_bytes


def _entry(name: str, mode: int) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(name)
    info.create_system = 3  # unix: the mode is in the high 16 bits of external_attr
    info.external_attr = mode << 16
    return info


def test_a_symlink_entry_refuses_the_upload() -> None:
    data = zip_bytes([
        ("export/neutrophil/a.jpg", pbc_bytes()),
        (_entry("export/neutrophil/link.jpg", stat.S_IFLNK | 0o777), b"/etc/passwd"),
    ])
    with pytest.raises(ImportRefused, match="symbolic link"):
        read_zip(data)


def test_a_device_entry_refuses_the_upload() -> None:
    data = zip_bytes([(_entry("export/dev.jpg", stat.S_IFCHR | 0o644), b"")])
    with pytest.raises(ImportRefused, match="not a regular file"):
        read_zip(data)


def test_regular_unix_entries_are_read() -> None:
    data = zip_bytes([(_entry("export/a.jpg", stat.S_IFREG | 0o644), pbc_bytes())])
    assert len(read_zip(data).images) == 1


def test_an_encrypted_entry_refuses_the_upload() -> None:
    data = zip_bytes([
        ("export/neutrophil/a.jpg", pbc_bytes()),
        ("export/neutrophil/b.jpg", pbc_bytes("eosinophil")),
    ])
    data = set_encrypted_flag(data, "export/neutrophil/b.jpg")
    with pytest.raises(ImportRefused, match="encrypted"):
        read_zip(data)
