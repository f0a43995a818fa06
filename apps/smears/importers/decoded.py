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


def human_size(size: int) -> Text:
    """A size in words for people, in whole units (no decimal point to localise: 2.5 MiB reads
    2560 KiB), the unit translated (Mio in French)."""
    if size >= 10 * 1024**3:
        return Text.of("%(n)s GiB", n=str(round(size / 1024**3)))
    if size >= 10 * 1024**2:
        return Text.of("%(n)s MiB", n=str(round(size / 1024**2)))
    if size >= 10 * 1024:
        return Text.of("%(n)s KiB", n=str(round(size / 1024)))
    return Text.of("%(n)s bytes", n=str(size))
