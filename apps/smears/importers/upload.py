"""Single uploads: one image, one DICOM file, or a zip, recognised by content."""

from __future__ import annotations

import io
from typing import BinaryIO

from .archive import read_zip
from .members import (
    TooLarge,
    assemble,
    decode_member,
    is_zip,
    read_capped,
    seekable_upload,
    too_large_reason,
    upload_too_large,
)
from .naming import display_name
from .types import DEFAULT_LIMITS, ImportBatch, Limits, Rejected


def read_single(name: str, data: bytes, *, limits: Limits = DEFAULT_LIMITS) -> ImportBatch:
    """Import one image or DICOM file; zip content is handed to read_zip."""
    if len(data) > limits.max_upload_bytes:
        raise upload_too_large(len(data), limits)
    if is_zip(data):
        return read_zip(data, limits=limits)
    # A lone file has no class folder: the browser sends a bare file name.
    return assemble([decode_member(single_name(name), bytes(data), "", limits)])


def read_upload(name: str, fileobj: BinaryIO, *, limits: Limits = DEFAULT_LIMITS) -> ImportBatch:
    """Import an uploaded file from its start, dispatching on its first bytes, never its name."""
    stream = seekable_upload(fileobj, limits)
    head = stream.read(4)
    stream.seek(0)
    if is_zip(head):
        return read_zip(stream, limits=limits)
    try:
        data = read_capped(stream, limits.max_member_bytes)
    except TooLarge:
        stream.seek(0, io.SEEK_END)
        size = stream.tell()
        return assemble([Rejected(file=single_name(name), message=too_large_reason(size, limits))])
    return read_single(name, data, limits=limits)


def is_archive(fileobj: BinaryIO) -> bool:
    """True when a seekable upload is a zip archive, from its first bytes, never its name.

    The stream is left at its start, ready for read_upload.
    """
    fileobj.seek(0)
    head = fileobj.read(4)
    fileobj.seek(0)
    return is_zip(head)


def single_name(name: str) -> str:
    """The file's own name, without any client-side folders (display only)."""
    base = name.replace("\\", "/").rstrip("/").rsplit("/", 1)[-1].strip()
    return display_name([base]) or "upload"
