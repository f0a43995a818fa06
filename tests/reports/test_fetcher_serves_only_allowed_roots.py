"""The PDF fetcher: files under the allowed roots only; no network, no other file, no escape."""

from __future__ import annotations

import os

import pytest

from apps.reports.pdf import FetchRefusedError, RootedFetcher


@pytest.fixture
def roots(tmp_path):  # type: ignore[no-untyped-def]
    media, static = tmp_path / "media", tmp_path / "static"
    (media / "cams").mkdir(parents=True)
    static.mkdir()
    (media / "cams" / "1.png").write_bytes(b"\x89PNG\r\n\x1a\n-cam-")
    (static / "report.css").write_text("body { color: black }")
    (tmp_path / "secret.png").write_bytes(b"\x89PNG\r\n\x1a\n-secret-")
    (media / "reports").mkdir()
    (media / "reports" / "other-patient.pdf").write_bytes(b"%PDF-1.7 other patient")
    return media, static


def test_serves_a_file_under_a_root(roots):
    media, static = roots
    fetcher = RootedFetcher([media, static])
    response = fetcher((media / "cams" / "1.png").as_uri())
    assert response.read() == b"\x89PNG\r\n\x1a\n-cam-"
    assert response.content_type == "image/png"
    assert fetcher((static / "report.css").as_uri()).read() == b"body { color: black }"


@pytest.mark.parametrize("url", [
    "http://127.0.0.1:8000/admin/",
    "https://example.org/logo.png",
    "ftp://example.org/x.png",
    "data:text/plain;base64,cm9vdDp4OjA6MA==",
    "file:///etc/passwd",
    "file://remotehost/srv/media/cams/1.png",
    "report.css",
])
def test_refuses_other_schemes_hosts_and_files(roots, url):
    media, static = roots
    with pytest.raises(FetchRefusedError):
        RootedFetcher([media, static])(url)


def test_refuses_dot_dot_out_of_media(roots):
    media, static = roots
    fetcher = RootedFetcher([media, static])
    for url in (media.as_uri() + "/../secret.png", media.as_uri() + "/cams/%2e%2e/../secret.png",
                media.as_uri() + "/cams/../../../../../etc/passwd"):
        with pytest.raises(FetchRefusedError):
            fetcher(url)


def test_refuses_a_symlink_that_leaves_the_root(roots):
    media, static = roots
    os.symlink(media.parent / "secret.png", media / "cams" / "link.png")
    os.symlink("/etc", media / "etc")
    fetcher = RootedFetcher([media, static])
    with pytest.raises(FetchRefusedError):
        fetcher((media / "cams" / "link.png").as_uri())
    with pytest.raises(FetchRefusedError):
        fetcher((media / "etc" / "passwd").as_uri())


def test_refuses_files_a_report_never_loads_even_inside_media(roots):
    media, static = roots
    with pytest.raises(FetchRefusedError):
        RootedFetcher([media, static])((media / "reports" / "other-patient.pdf").as_uri())


def test_a_missing_file_under_a_root_is_an_ordinary_error(roots):
    media, static = roots
    # Not a refusal: WeasyPrint warns and renders on without the image.
    with pytest.raises(FileNotFoundError):
        RootedFetcher([media, static])((media / "cams" / "gone.png").as_uri())
