"""Names inside an export: safety checks, files to skip, and the CellaVision class folder."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable

from apps.core.text import Text

# Names are split on both separators: Windows tools write "a\\b.jpg" in zips, and a
# backslash must not smuggle a ".." past a check that only splits on "/".
_SEPARATORS = re.compile(r"[/\\]+")
_DRIVE = re.compile(r"^[A-Za-z]:")

_OS_JUNK_FILES = frozenset({".ds_store", "thumbs.db", "ehthumbs.db", "desktop.ini"})
_OS_JUNK_FOLDERS = frozenset({"__macosx"})
# Side files a CellaVision export (or the lab's own tooling) puts next to the cell images.
SIDE_FILE_SUFFIXES = frozenset({".xml", ".txt", ".csv", ".ini", ".log"})


class UnsafeName(ValueError):
    """An archive entry name that could point outside the export; ``text`` says how, as what
    follows the entry's name in a sentence ("contains a '..' component")."""

    def __init__(self, message: Text) -> None:
        super().__init__(str(message))
        self.text = message


def _has_control_character(name: str) -> bool:
    return any(unicodedata.category(ch) == "Cc" for ch in name)


def archive_name_parts(raw: str) -> tuple[str, ...]:
    """Split an archive entry name into safe components, or raise UnsafeName.

    The name is only displayed, but an export that names files outside itself is
    hostile or broken, so the whole upload is refused rather than "fixed".
    """
    if _has_control_character(raw):
        raise UnsafeName(Text.of("contains a control character (such as NUL)"))
    if raw.startswith(("/", "\\")):
        raise UnsafeName(Text.of("is an absolute path"))
    if _DRIVE.match(raw):
        raise UnsafeName(Text.of("starts with a Windows drive letter"))
    parts = tuple(p for p in _SEPARATORS.split(raw) if p not in ("", "."))
    if ".." in parts:
        raise UnsafeName(Text.of("contains a '..' component"))
    return parts


def display_name(parts: Iterable[str]) -> str:
    """POSIX display name; characters a terminal or log could misread are replaced."""
    joined = "/".join(parts)
    # Undecodable file-system bytes arrive as lone surrogates; they cannot be stored as UTF-8.
    joined = joined.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
    return "".join("\ufffd" if unicodedata.category(ch) == "Cc" else ch for ch in joined)


def is_os_junk(parts: tuple[str, ...]) -> bool:
    """Operating-system metadata: macOS resource forks, Finder/Explorer files, hidden files."""
    if any(p.lower() in _OS_JUNK_FOLDERS or p.startswith(".") for p in parts):
        return True
    return bool(parts) and parts[-1].lower() in _OS_JUNK_FILES


def skip_reason(parts: tuple[str, ...]) -> Text | None:
    """Why a file is not read at all, or None when it should be read as a possible image.

    Decided on the name alone: these files are never opened, so a bomb or a malformed
    file hidden among them costs nothing. Everything else is judged on its content.
    """
    if not parts:
        return None
    lowered = [p.lower() for p in parts]
    if any(p in _OS_JUNK_FOLDERS for p in lowered):
        return Text.of("macOS archive metadata (__MACOSX), not an image")
    if lowered[-1] in _OS_JUNK_FILES:
        return Text.of("operating-system file (%(name)s), not an image", name=parts[-1])
    if parts[-1].startswith("._"):
        return Text.of("macOS resource fork (._ file), not an image")
    if any(p.startswith(".") for p in parts):
        return Text.of("hidden file, not read")
    suffix = _suffix(lowered[-1])
    if suffix in SIDE_FILE_SUFFIXES:
        return Text.of("export side file (%(suffix)s), not an image", suffix=suffix)
    return None


def _suffix(name: str) -> str:
    dot = name.rfind(".")
    return name[dot:] if dot > 0 else ""


def wrapping_folder(all_files: Iterable[tuple[str, ...]]) -> str | None:
    """The single top-level folder every (non-junk) file sits in, if there is one.

    Zipping a folder ("export/", "slide_123/") wraps the whole export in it; that folder
    names the export, not a cell class.
    """
    top: str | None = None
    for parts in all_files:
        if is_os_junk(parts):
            continue
        if len(parts) < 2:
            return None
        if top is None:
            top = parts[0]
        elif parts[0] != top:
            return None
    return top


def analyser_class(parts: tuple[str, ...], wrapper: str | None) -> str:
    """CellaVision pre-classification: the image's immediate parent folder, stripped.

    "" for a file at the root, or directly inside the single wrapping top-level folder.
    """
    if len(parts) < 2:
        return ""
    if len(parts) == 2 and parts[0] == wrapper:
        return ""
    return parts[-2].strip()
