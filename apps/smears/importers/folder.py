"""CellaVision exports as a folder on a server-side path (a mounted share, a command)."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from apps.core.text import Text

from .decoded import human_size
from .members import Outcome, TooLarge, assemble, decode_member, read_capped, too_large_reason
from .naming import analyser_class, display_name, skip_reason, wrapping_folder
from .types import DEFAULT_LIMITS, ImportBatch, ImportRefused, Limits, Rejected, Skipped

# O_NOFOLLOW: a file swapped for a symlink between listing and opening is not followed.
# O_NONBLOCK: a FIFO swapped in cannot hang the worker in open().
_OPEN_FLAGS = (
    os.O_RDONLY
    | getattr(os, "O_NOFOLLOW", 0)
    | getattr(os, "O_NONBLOCK", 0)
    | getattr(os, "O_BINARY", 0)
)


@dataclass(frozen=True)
class _Found:
    parts: tuple[str, ...]
    size: int = 0
    rejected: Text | None = None  # why, when the entry is refused without being read
    skipped: Text | None = None  # why, for a folder that is not entered


def read_folder(path: Path, *, limits: Limits = DEFAULT_LIMITS) -> ImportBatch:
    """Import an export folder recursively; symbolic links are listed, never followed."""
    root = Path(path)
    if not root.is_dir():
        raise ImportRefused(Text.of("The chosen path is not a folder."))
    found = _walk(root, limits)
    files = [f for f in found if not f.rejected and not f.skipped]
    total = sum(f.size for f in files)
    if total > limits.max_total_uncompressed:
        raise ImportRefused(Text.of("The folder holds %(size)s, above the %(limit)s limit.",
                                    size=human_size(total),
                                    limit=human_size(limits.max_total_uncompressed)))
    return assemble(_outcomes(root, found, limits))


def _walk(root: Path, limits: Limits) -> list[_Found]:
    found: list[_Found] = []
    files = folders = 0
    pending: list[tuple[str, ...]] = [()]
    while pending:
        folder = pending.pop()
        try:
            with os.scandir(root.joinpath(*folder)) as listing:
                children = sorted(listing, key=lambda e: e.name)
        except OSError as exc:
            if not folder:
                raise ImportRefused(Text.of("The folder cannot be read (%(detail)s).",
                                            detail=str(exc.strerror))) from exc
            found.append(_Found(folder, rejected=Text.of("folder cannot be read (%(detail)s)",
                                                         detail=str(exc.strerror))))
            continue
        for child in children:
            parts = (*folder, child.name)
            if child.is_symlink():
                found.append(_Found(parts, rejected=Text.of(
                    "symbolic link; links are not followed")))
            elif child.is_dir(follow_symlinks=False):
                if child.name.startswith(".") or child.name.lower() == "__macosx":
                    found.append(_Found(parts, skipped=Text.of(
                        "hidden or macOS metadata folder, not read")))
                    continue
                folders += 1
                if folders > limits.max_entries:
                    raise ImportRefused(Text.of(
                        "The folder holds more than %(limit)s subfolders.",
                        limit=limits.max_entries))
                pending.append(parts)
            elif child.is_file(follow_symlinks=False):
                files += 1
                if files > limits.max_entries:
                    raise ImportRefused(Text.of(
                        "The folder holds more than %(limit)s files; the limit is %(limit)s per "
                        "import.", limit=limits.max_entries))
                size = child.stat(follow_symlinks=False).st_size
                found.append(_Found(parts, size=size))
            else:
                found.append(_Found(parts, rejected=Text.of(
                    "not a regular file (device, FIFO or socket)")))
    # Sorted, so "keep the first duplicate" and the report order do not depend on the walk.
    return sorted(found, key=lambda f: f.parts)


def _outcomes(root: Path, found: list[_Found], limits: Limits) -> Iterator[Outcome]:
    wrapper = wrapping_folder(f.parts for f in found if not f.rejected and not f.skipped)
    read_total = 0
    for entry in found:
        name = display_name(entry.parts)
        if entry.skipped:
            yield Skipped(file=f"{name}/", message=entry.skipped)
            continue
        if entry.rejected:
            yield Rejected(file=name, message=entry.rejected)
            continue
        reason = skip_reason(entry.parts)
        if reason:
            yield Skipped(file=name, message=reason)
            continue
        if entry.size > limits.max_member_bytes:
            # A file-system size is a fact, not an archive's claim: only this file is refused.
            yield Rejected(file=name, message=too_large_reason(entry.size, limits))
            continue
        try:
            data = _read_regular_file(root.joinpath(*entry.parts), limits)
        except TooLarge:
            yield Rejected(file=name, message=Text.of(
                "file grew past the per-image limit while being read"))
            continue
        except OSError as exc:
            yield Rejected(file=name, message=Text.of("file cannot be read (%(detail)s)",
                                                      detail=str(exc.strerror or exc)))
            continue
        read_total += len(data)
        if read_total > limits.max_total_uncompressed:
            raise ImportRefused(Text.of("The folder holds more than %(limit)s.",
                                        limit=human_size(limits.max_total_uncompressed)))
        yield decode_member(name, data, analyser_class(entry.parts, wrapper), limits)


def _read_regular_file(path: Path, limits: Limits) -> bytes:
    fd = os.open(path, _OPEN_FLAGS)
    try:
        fh = os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise
    with fh:
        if not stat.S_ISREG(os.fstat(fh.fileno()).st_mode):
            raise OSError(0, "no longer a regular file")
        return read_capped(fh, limits.max_member_bytes)
