"""HTML to PDF with WeasyPrint, loading only files from a few trusted folders. Imports no Django.

WeasyPrint's default fetcher opens any URL it meets: http(s) (a request from the server to
anywhere) and any local file, which `<a rel="attachment" href="file:///etc/passwd">` would embed
in the PDF. The fetcher here serves regular files under the given roots and nothing else, so a
mistake in a template cannot turn into a file or network leak.
"""

from __future__ import annotations

import logging
import mimetypes
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path, PurePosixPath
from urllib.parse import unquote, urlsplit

import weasyprint.images  # noqa: F401  (imported for its side effect, undone just below)
from PIL import ImageFile
from weasyprint import HTML
from weasyprint.document import Document
from weasyprint.urls import FatalURLFetchingError, URLFetcher, URLFetcherResponse

# weasyprint.images sets Pillow's LOAD_TRUNCATED_IMAGES for the whole process on import. The smear
# importers refuse to run with it on (a truncated cell would be imported padded with grey), so a
# worker that rendered one report would refuse every later import. Report images were already
# decoded strictly at import, so WeasyPrint does not need the lenient mode.
ImageFile.LOAD_TRUNCATED_IMAGES = False

logger = logging.getLogger(__name__)

# What a report loads: its stylesheet, cell images and their Grad-CAM overlays, fonts. Never a
# PDF, a database or a key file, even one that happens to sit under an allowed root.
ALLOWED_SUFFIXES = frozenset({".css", ".png", ".jpg", ".jpeg", ".tif", ".tiff", ".bmp", ".gif",
                              ".svg", ".ttf", ".otf", ".woff", ".woff2"})
MAX_RESOURCE_BYTES = 32 * 1024 * 1024


class PdfRenderError(Exception):
    """The PDF could not be rendered; the message says why."""


class FetchRefusedError(FatalURLFetchingError):
    """A resource outside the allowed roots was asked for. Fatal: it stops the rendering.

    (WeasyPrint turns ordinary exceptions into a logged warning and renders on without the
    resource; a refused URL means the HTML is not what we wrote, so we stop instead.)
    """


class RootedFetcher(URLFetcher):
    """Serves `file:` URLs of regular files under `roots` (symlinks resolved); refuses the rest."""

    def __init__(self, roots: Iterable[Path], suffixes: frozenset[str] = ALLOWED_SUFFIXES) -> None:
        super().__init__(allowed_protocols={"file"}, allow_redirects=False, fail_on_errors=False)
        self.roots = tuple(Path(root).resolve() for root in roots)
        self.suffixes = suffixes

    def resolve(self, url: str) -> Path:
        """The real path `url` names, or FetchRefusedError. Does not check that it exists."""
        parts = urlsplit(url)
        if parts.scheme.lower() != "file":
            raise FetchRefusedError(f"Refused {parts.scheme or 'relative'} URL {url[:200]!r}.")
        if parts.netloc not in ("", "localhost"):
            raise FetchRefusedError(f"Refused file URL on host {parts.netloc!r}.")
        raw = unquote(parts.path)
        if "\x00" in raw or "\\" in raw or not raw.startswith("/"):
            raise FetchRefusedError(f"Refused file URL {url[:200]!r}.")
        if ".." in PurePosixPath(raw).parts:
            raise FetchRefusedError(f"Refused '..' in {url[:200]!r}.")
        path = Path(raw).resolve()  # follows symlinks: a link out of a root is caught below
        if not any(path.is_relative_to(root) for root in self.roots):
            raise FetchRefusedError(f"Refused {path}: not under an allowed folder.")
        if path.suffix.lower() not in self.suffixes:
            raise FetchRefusedError(f"Refused {path}: not a kind of file a report loads.")
        return path

    def fetch(self, url: str, headers: dict[str, str] | None = None) -> URLFetcherResponse:
        path = self.resolve(url)
        if not path.is_file():
            # Inside a root but missing: an ordinary error, so WeasyPrint warns and goes on.
            raise FileNotFoundError(f"{path} does not exist")
        if path.stat().st_size > MAX_RESOURCE_BYTES:
            raise FetchRefusedError(f"Refused {path}: larger than {MAX_RESOURCE_BYTES} bytes.")
        content_type = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
        return URLFetcherResponse(path.as_uri(), path.read_bytes(),
                                  {"Content-Type": content_type})

    def open(self, url, data=None, timeout=None):  # type: ignore[no-untyped-def]
        # OpenerDirector.open would bypass fetch() for a urllib Request: never let it.
        full_url = getattr(url, "full_url", url)
        return self.fetch(full_url)


OPTIONS = {"attachments": None, "pdf_forms": False}


@contextmanager
def _refusals() -> Iterator[None]:
    """A refused or failed fetch as PdfRenderError."""
    try:
        yield
    except FetchRefusedError as exc:
        logger.warning("PDF rendering stopped: %s", exc)
        raise PdfRenderError(str(exc)) from exc
    except FatalURLFetchingError as exc:
        raise PdfRenderError(str(exc)) from exc


def render_document(html: str, *, base_dir: Path, allowed_roots: Sequence[Path]) -> Document:
    """`html` laid out in pages (relative URLs resolved against `base_dir`): the very layout
    `render_pdf` writes, open to a test that checks where each box fell.

    Only files under `allowed_roots` can be loaded; `base_dir` must be one of them or inside one.
    """
    fetcher = RootedFetcher(allowed_roots)
    base = Path(base_dir).resolve()
    if not any(base.is_relative_to(root) for root in fetcher.roots):
        raise PdfRenderError(f"{base} is not under an allowed folder.")
    with _refusals():
        return HTML(string=html, base_url=base.as_uri() + "/", url_fetcher=fetcher).render(
            **OPTIONS)


def render_pdf(html: str, *, base_dir: Path, allowed_roots: Sequence[Path]) -> bytes:
    """Render `html` as PDF bytes (see `render_document`)."""
    document = render_document(html, base_dir=base_dir, allowed_roots=allowed_roots)
    with _refusals():
        pdf: bytes = document.write_pdf(**OPTIONS)
    return pdf
