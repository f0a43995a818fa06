"""One file's bytes to an ImportedImage or a Rejected, and outcomes into an ImportBatch."""

from __future__ import annotations

import hashlib
import io
import logging
from collections.abc import Iterable
from typing import IO, BinaryIO

from apps.core.text import Text

from .decoded import Decoded, FileRejected, human_size
from .dicom import decode_dicom, is_dicom
from .images import decode_raster
from .types import ImportBatch, ImportedImage, ImportRefused, Limits, Rejected, Skipped

logger = logging.getLogger(__name__)

Outcome = ImportedImage | Rejected | Skipped

ZIP_SIGNATURES = (b"PK\x03\x04", b"PK\x05\x06", b"PK\x07\x08")
_CHUNK = 1024 * 1024


class TooLarge(Exception):
    """More bytes than the cap allowed were available."""


def is_zip(head: bytes) -> bool:
    return head[:4] in ZIP_SIGNATURES


def read_capped(stream: IO[bytes], cap: int) -> bytes:
    """Read `stream` to its end, but never more than cap + 1 bytes (then raise TooLarge).

    Sizes declared by an archive or a file system are claims; this is the actual count.
    """
    chunks: list[bytes] = []
    total = 0
    while True:
        chunk = stream.read(min(_CHUNK, cap + 1 - total))
        if not chunk:
            return b"".join(chunks)
        chunks.append(chunk)
        total += len(chunk)
        if total > cap:
            raise TooLarge(total)


def too_large_reason(size: int, limits: Limits) -> Text:
    return Text.of("file is %(size)s, above the %(limit)s per-image limit",
                   size=human_size(size), limit=human_size(limits.max_member_bytes))


def seekable_upload(source: bytes | bytearray | memoryview | BinaryIO, limits: Limits) -> BinaryIO:
    """A seekable stream over the whole upload, read from its start; refuse it when too big."""
    if isinstance(source, (bytes, bytearray, memoryview)):
        stream: BinaryIO = io.BytesIO(source)
    else:
        stream = source
        seekable = getattr(stream, "seekable", None)
        if not (callable(seekable) and seekable()):
            # zipfile needs to seek; a pipe or socket is buffered, within the upload limit.
            try:
                stream = io.BytesIO(read_capped(stream, limits.max_upload_bytes))
            except TooLarge as exc:
                raise upload_too_large(None, limits) from exc
    # tell(), not seek()'s return value: some file wrappers return None from seek().
    stream.seek(0, io.SEEK_END)
    size = stream.tell()
    if size > limits.max_upload_bytes:
        raise upload_too_large(size, limits)
    stream.seek(0)
    return stream


def upload_too_large(size: int | None, limits: Limits) -> ImportRefused:
    limit = human_size(limits.max_upload_bytes)
    if size is None:
        return ImportRefused(Text.of("The upload is too large (the limit is %(limit)s).",
                                     limit=limit))
    return ImportRefused(Text.of("The upload is too large (%(size)s, the limit is %(limit)s).",
                                 size=human_size(size), limit=limit))


def decode_member(name: str, data: bytes, analyser_class: str, limits: Limits) -> Outcome:
    """Judge one file on its content (never its extension)."""
    try:
        decoded = _decode(data, limits, name)
    except FileRejected as exc:
        logger.info("smear import rejected %r: %s", name, exc.reason)
        return Rejected(file=name, message=exc.reason)
    return ImportedImage(
        name=name,
        content=decoded.content,
        sha256=hashlib.sha256(decoded.content).hexdigest(),
        format=decoded.format,
        width=decoded.width,
        height=decoded.height,
        analyser_class=analyser_class,
        metadata=decoded.metadata,
    )


# Office documents are zip archives too: named so, they are told apart from an export's zip.
OFFICE_SUFFIXES = (".docx", ".xlsx", ".pptx", ".odt", ".ods", ".odp")


def _decode(data: bytes, limits: Limits, name: str = "") -> Decoded:
    if not data:
        raise FileRejected(Text.of("empty file (0 bytes)"))
    if len(data) > limits.max_member_bytes:
        raise FileRejected(too_large_reason(len(data), limits))
    if is_zip(data):
        # Never opened: one level of archive is all an export needs, and recursion is
        # how zip bombs multiply. The file is listed so the user knows to upload it alone. Its
        # name only chooses the words: an office document is a zip too, and no export.
        if name.lower().endswith(OFFICE_SUFFIXES):
            raise FileRejected(Text.of("not an image: a document stored as a zip archive (a "
                                       "Word, Excel or OpenDocument file, for instance)"))
        raise FileRejected(Text.of("a zip archive inside the upload; archives are not opened "
                                   "recursively, upload it on its own"))
    if is_dicom(data):
        return decode_dicom(data, limits)
    return decode_raster(data, limits)


def assemble(outcomes: Iterable[Outcome]) -> ImportBatch:
    """Collect outcomes in order; a repeated sha256 keeps the first image only."""
    images: list[ImportedImage] = []
    rejected: list[Rejected] = []
    skipped: list[Skipped] = []
    duplicates: list[str] = []
    seen: set[str] = set()
    for outcome in outcomes:
        if isinstance(outcome, ImportedImage):
            if outcome.sha256 in seen:
                duplicates.append(outcome.name)
                continue
            seen.add(outcome.sha256)
            images.append(outcome)
        elif isinstance(outcome, Rejected):
            rejected.append(outcome)
        else:
            skipped.append(outcome)
    return ImportBatch(
        images=tuple(images),
        rejected=tuple(rejected),
        duplicates=tuple(duplicates),
        skipped=tuple(skipped),
    )
