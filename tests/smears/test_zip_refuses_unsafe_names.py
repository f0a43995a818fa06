"""Entry names that point outside the export refuse the whole upload."""

from __future__ import annotations

import zipfile

import pytest

from apps.smears.importers import ImportRefused, read_zip

from .builders import pbc_bytes, rename_bytes, zip_bytes


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("../evil.jpg", "'..'"),
        ("export/../../evil.jpg", "'..'"),
        ("export\\..\\..\\evil.jpg", "'..'"),
        ("/abs.jpg", "absolute"),
        ("/etc/cron.d/x.jpg", "absolute"),
        ("\\\\server\\share\\x.jpg", "absolute"),
        ("\\x.jpg", "absolute"),
        ("C:\\x.jpg", "drive"),
        ("c:/Windows/x.jpg", "drive"),
        ("export/bell\x07.jpg", "control character"),
    ],
)
def test_unsafe_names_refuse_the_upload(name: str, reason: str) -> None:
    good = ("export/neutrophil/ok.jpg", pbc_bytes())
    data = zip_bytes([good, (zipfile.ZipInfo(name), pbc_bytes("eosinophil"))])
    with pytest.raises(ImportRefused, match=reason):
        read_zip(data)


def test_a_nul_in_a_name_refuses_the_upload() -> None:
    # zipfile cuts names at NUL when it parses them; the raw name must still be checked.
    data = zip_bytes([("export/evil_jpg", pbc_bytes())])
    data = rename_bytes(data, b"evil_jpg", b"evil\x00jpg")
    with pytest.raises(ImportRefused, match="NUL"):
        read_zip(data)


def test_dot_components_are_only_normalised() -> None:
    data = zip_bytes([("./export//neutrophil/./a.jpg", pbc_bytes())])
    (image,) = read_zip(data).images
    assert (image.name, image.analyser_class) == ("export/neutrophil/a.jpg", "neutrophil")


def test_windows_separators_are_displayed_as_posix() -> None:
    data = zip_bytes([("export\\eosinophil\\a.jpg", pbc_bytes())])
    (image,) = read_zip(data).images
    assert (image.name, image.analyser_class) == ("export/eosinophil/a.jpg", "eosinophil")


def test_utf8_names_without_the_utf8_flag_are_decoded() -> None:
    # Many tools write UTF-8 names but leave the flag clear; zipfile then reads CP437.
    data = zip_bytes([("export/eosinofilo/a.jpg", pbc_bytes())])
    data = rename_bytes(data, b"eosinofilo", "eosinófil".encode())
    (image,) = read_zip(data).images
    assert image.analyser_class == "eosinófil"
