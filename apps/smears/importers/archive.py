"""CellaVision exports uploaded as a zip archive.

Every entry is checked from the central directory before any member is decompressed;
members are then streamed into memory with a byte cap. Nothing is written to disk.
"""

from __future__ import annotations

import io
import stat
import struct
import zipfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import BinaryIO

from apps.core.text import Text

from .decoded import human_size
from .members import (
    Outcome,
    TooLarge,
    assemble,
    decode_member,
    read_capped,
    seekable_upload,
)
from .naming import (
    UnsafeName,
    analyser_class,
    archive_name_parts,
    display_name,
    skip_reason,
    wrapping_folder,
)
from .types import DEFAULT_LIMITS, ImportBatch, ImportRefused, Limits, Rejected, Skipped

# Below this declared size the ratio is not checked: such a member can expand to 1 MiB at
# most, while OS junk full of zeros (.DS_Store, ._ resource forks) routinely compresses
# more than 100:1 and would otherwise refuse honest exports from a Mac.
RATIO_CHECK_FLOOR = 1024**2

# Central directory records are 46 bytes plus name and extra fields; 1 KiB each is far
# more than any real export uses. Bounding the directory before zipfile parses it keeps a
# small upload from costing gigabytes of ZipInfo objects.
_MAX_DIRECTORY_BYTES_PER_ENTRY = 1024

_EOCD = struct.Struct("<4s4H2LH")
_ZIP64_LOCATOR = struct.Struct("<4sLQL")
_ZIP64_EOCD = struct.Struct("<4sQ2H2L4Q")
_EOCD_SIGNATURE = b"PK\x05\x06"

_ENCRYPTED_FLAG = 0x1
_STRONG_ENCRYPTION_FLAG = 0x40
_UTF8_FLAG = 0x800
_AES_METHOD = 99
_READABLE_METHODS = {zipfile.ZIP_STORED: "stored", zipfile.ZIP_DEFLATED: "deflate"}

# What zipfile and zlib raise on a damaged archive, by family: zipfile's own errors, zlib's,
# OSError, EOFError, ValueError (bad sizes, names that do not decode), struct.error (records
# cut short) and RuntimeError (with NotImplementedError: methods or versions zipfile lacks).
_ZIP_ERRORS = (
    zipfile.BadZipFile,
    zipfile.LargeZipFile,
    zlib.error,
    OSError,
    EOFError,
    ValueError,
    struct.error,
    RuntimeError,
)


@dataclass(frozen=True)
class _Entry:
    info: zipfile.ZipInfo
    parts: tuple[str, ...]


def read_zip(
    fileobj_or_bytes: bytes | bytearray | memoryview | BinaryIO,
    *,
    limits: Limits = DEFAULT_LIMITS,
) -> ImportBatch:
    """Import a zipped export; raise ImportRefused when the archive itself is unsafe."""
    stream = seekable_upload(fileobj_or_bytes, limits)
    _check_directory_size(stream, limits)
    try:
        archive = zipfile.ZipFile(stream)
    except _ZIP_ERRORS as exc:
        raise ImportRefused(Text.of("The upload is not a readable zip archive (%(detail)s).",
                                    detail=str(exc))) from exc
    with archive:
        entries = _checked_entries(archive.infolist(), limits)
        return assemble(_outcomes(archive, entries, limits))


def _not_a_zip() -> ImportRefused:
    return ImportRefused(Text.of(
        "The upload is not a readable zip archive (no end of central directory)."))


def _check_directory_size(stream: BinaryIO, limits: Limits) -> None:
    """Refuse a central directory too big for max_entries, before zipfile reads it."""
    stream.seek(0, io.SEEK_END)
    size = stream.tell()
    if size < _EOCD.size:
        raise _not_a_zip()
    # Same search as zipfile: an end record with no comment, else the last signature.
    stream.seek(size - _EOCD.size)
    record = stream.read(_EOCD.size)
    end_at = size - _EOCD.size
    if not (record[:4] == _EOCD_SIGNATURE and record[-2:] == b"\x00\x00"):
        span = min(size, _EOCD.size + 0xFFFF)
        stream.seek(size - span)
        tail = stream.read(span)
        found = tail.rfind(_EOCD_SIGNATURE)
        if found < 0 or found + _EOCD.size > len(tail):
            raise _not_a_zip()
        record = tail[found : found + _EOCD.size]
        end_at = size - span + found
    fields = _EOCD.unpack(record)
    entries, directory_bytes = fields[4], fields[5]
    locator_at = end_at - _ZIP64_LOCATOR.size
    if locator_at - _ZIP64_EOCD.size >= 0:
        stream.seek(locator_at)
        locator = stream.read(_ZIP64_LOCATOR.size)
        if locator[:4] == b"PK\x06\x07":
            stream.seek(locator_at - _ZIP64_EOCD.size)
            zip64 = stream.read(_ZIP64_EOCD.size)
            if zip64[:4] == b"PK\x06\x06":
                z = _ZIP64_EOCD.unpack(zip64)
                entries, directory_bytes = z[7], z[8]
    stream.seek(0)
    # Files and folders are each capped at max_entries, hence twice.
    max_entries = 2 * limits.max_entries
    if entries > max_entries or directory_bytes > max_entries * _MAX_DIRECTORY_BYTES_PER_ENTRY:
        raise ImportRefused(Text.of(
            "The archive lists more entries than the limit of %(limit)s files allows.",
            limit=limits.max_entries))


def _decoded_name(info: zipfile.ZipInfo) -> str:
    """The entry name as the user's tool meant it.

    Without the UTF-8 flag zipfile decodes names as CP437, but macOS and many Windows
    tools write UTF-8 anyway; "eosinófilo" must not become "eosin├│filo". orig_filename
    keeps any NUL that zipfile cuts from `filename`.
    """
    raw = info.orig_filename
    if not info.flag_bits & _UTF8_FLAG:
        try:
            return raw.encode("cp437").decode("utf-8")
        except (UnicodeEncodeError, UnicodeDecodeError):
            return raw
    return raw


def _label(name: str) -> str:
    return repr(display_name([name])[:200])


def _checked_entries(infos: list[zipfile.ZipInfo], limits: Limits) -> list[_Entry]:
    """Every archive-level rule, from the central directory alone."""
    folders = sum(1 for info in infos if _is_folder(info))
    files = len(infos) - folders
    if files > limits.max_entries:
        raise ImportRefused(Text.of(
            "The archive holds %(n)s files; the limit is %(limit)s per upload.", n=files,
            limit=limits.max_entries))
    if folders > limits.max_entries:
        raise ImportRefused(Text.of(
            "The archive holds %(n)s folders; the limit is %(limit)s per upload.", n=folders,
            limit=limits.max_entries))

    entries: list[_Entry] = []
    names: set[str] = set()
    declared_total = 0
    for info in infos:
        name = _decoded_name(info)
        label = _label(name)
        try:
            parts = archive_name_parts(name)
        except UnsafeName as exc:
            raise ImportRefused(Text.of("The archive entry %(label)s %(problem)s; the upload is "
                                        "refused.", label=label, problem=exc.text)) from exc
        file_type = stat.S_IFMT(info.external_attr >> 16)
        if file_type == stat.S_IFLNK:
            raise ImportRefused(Text.of(
                "The archive entry %(label)s is a symbolic link; the upload is refused.",
                label=label))
        if file_type not in (0, stat.S_IFREG, stat.S_IFDIR):
            raise ImportRefused(Text.of(
                "The archive entry %(label)s is not a regular file; the upload is refused.",
                label=label))
        if info.flag_bits & (_ENCRYPTED_FLAG | _STRONG_ENCRYPTION_FLAG) or (
            info.compress_type == _AES_METHOD
        ):
            raise ImportRefused(Text.of(
                "The archive entry %(label)s is encrypted; upload an archive without a password.",
                label=label))
        if info.file_size > limits.max_member_bytes:
            raise ImportRefused(Text.of(
                "The archive entry %(label)s declares %(size)s, above the %(limit)s per-file "
                "limit; the upload is refused.", label=label, size=human_size(info.file_size),
                limit=human_size(limits.max_member_bytes)))
        if info.file_size > RATIO_CHECK_FLOOR and (
            info.file_size > limits.max_compression_ratio * max(info.compress_size, 1)
        ):
            ratio = info.file_size / max(info.compress_size, 1)
            raise ImportRefused(Text.of(
                "The archive entry %(label)s is compressed %(ratio)s:1 (limit %(limit)s:1), which "
                "is how zip bombs are built; the upload is refused.", label=label,
                ratio=f"{ratio:.0f}", limit=f"{limits.max_compression_ratio:g}"))
        declared_total += info.file_size
        if _is_folder(info) or not parts:
            continue
        key = "/".join(parts)
        if key in names:
            # Two entries with one name show different files to different tools.
            raise ImportRefused(Text.of("The archive lists %(label)s twice; the upload is "
                                        "refused.", label=label))
        names.add(key)
        entries.append(_Entry(info=info, parts=parts))

    if declared_total > limits.max_total_uncompressed:
        raise ImportRefused(Text.of(
            "The archive expands to %(size)s, above the %(limit)s limit; the upload is refused.",
            size=human_size(declared_total), limit=human_size(limits.max_total_uncompressed)))
    _check_no_overlap(infos)
    return entries


def _is_folder(info: zipfile.ZipInfo) -> bool:
    return info.orig_filename.endswith(("/", "\\"))


def _check_no_overlap(infos: list[zipfile.ZipInfo]) -> None:
    """Refuse members whose data overlap: the "overlapping files" bomb reuses one kernel.

    A local header is at least 30 bytes, so each member occupies at least
    30 + compress_size bytes from its header offset.
    """
    end = 0
    for info in sorted(infos, key=lambda i: i.header_offset):
        if info.header_offset < end:
            raise ImportRefused(Text.of(
                "The archive entry %(label)s overlaps another entry; the upload is refused.",
                label=_label(info.filename)))
        end = info.header_offset + 30 + info.compress_size


def _outcomes(archive: zipfile.ZipFile, entries: list[_Entry], limits: Limits) -> Iterator[Outcome]:
    wrapper = wrapping_folder(entry.parts for entry in entries)
    read_total = 0
    for entry in entries:
        name = display_name(entry.parts)
        reason = skip_reason(entry.parts)
        if reason:
            yield Skipped(file=name, message=reason)
            continue
        method = entry.info.compress_type
        if method not in _READABLE_METHODS:
            # Not dangerous, merely unsupported (bzip2, LZMA, deflate64...): this file only.
            yield Rejected(file=name, message=Text.of(
                "compressed with zip method %(method)s; re-create the archive with standard "
                "(deflate) compression", method=method))
            continue
        try:
            with archive.open(entry.info) as member:
                data = read_capped(member, limits.max_member_bytes)
        except TooLarge as exc:
            raise ImportRefused(Text.of(
                "The archive entry %(label)s holds more than the %(limit)s per-file limit; the "
                "upload is refused.", label=_label(name),
                limit=human_size(limits.max_member_bytes))) from exc
        except _ZIP_ERRORS as exc:
            # The container disagrees with itself (CRC, sizes, headers): nothing in it is trusted.
            raise ImportRefused(Text.of(
                "The archive is damaged: entry %(label)s cannot be read (%(detail)s).",
                label=_label(name), detail=str(exc))) from exc
        if len(data) != entry.info.file_size:
            raise ImportRefused(Text.of(
                "The archive is damaged: entry %(label)s holds %(held)s bytes but its directory "
                "entry declares %(declared)s.", label=_label(name), held=len(data),
                declared=entry.info.file_size))
        read_total += len(data)
        if read_total > limits.max_total_uncompressed:
            raise ImportRefused(Text.of(
                "The archive expands to more than %(limit)s; the upload is refused.",
                limit=human_size(limits.max_total_uncompressed)))
        yield decode_member(name, data, analyser_class(entry.parts, wrapper), limits)
