"""What a format decoder hands back to the importers (internal)."""

from __future__ import annotations

from dataclasses import dataclass, field

from apps.core.text import Text


@dataclass(frozen=True)
class Decoded:
    content: bytes
    format: str
    width: int
    height: int
    metadata: dict[str, str] = field(default_factory=dict)


class FileRejected(Exception):
    """One file cannot be imported; `reason` says why, for people."""

    def __init__(self, reason: Text) -> None:
        super().__init__(str(reason))
        self.reason = reason


def megapixels(pixels: int) -> str:
    return f"{pixels / 1_000_000:g} MP"


def human_size(size: int) -> str:
    if size < 1024:
        return f"{size} bytes"
    if size < 1024**2:
        return f"{size / 1024:.1f} KiB"
    if size < 1024**3:
        return f"{size / 1024**2:.1f} MiB"
    return f"{size / 1024**3:.2f} GiB"
