"""Values the importers return. Plain frozen dataclasses: no Django, no I/O."""

from __future__ import annotations

from dataclasses import dataclass, field

from apps.core.text import Text


@dataclass(frozen=True)
class Limits:
    """Resource limits for one import; every importer checks all of them."""

    max_upload_bytes: int = 512 * 1024**2  # a zip or single upload
    max_entries: int = 5000  # files in an archive/folder; folders are capped alike
    max_total_uncompressed: int = 1024**3  # sum of declared uncompressed sizes
    max_member_bytes: int = 20 * 1024**2  # one image
    max_compression_ratio: float = 100.0  # per member, declared uncompressed / compressed
    max_pixels: int = 40_000_000  # per image (also DICOM rows*cols*frames)
    max_dicom_frames: int = 1


DEFAULT_LIMITS = Limits()


@dataclass(frozen=True)
class ImportedImage:
    """One image ready to be stored as a cell."""

    name: str  # POSIX path inside the export, sanitised: for display only, never a storage path
    content: bytes  # the original file for Pillow formats; a PNG rendering for DICOM
    sha256: str  # hex sha256 of `content`: the dedup key
    format: str  # "JPEG" | "PNG" | "TIFF" | "BMP" | "DICOM"
    width: int
    height: int
    analyser_class: str  # CellaVision class folder name, stripped; "" when there is none
    metadata: dict[str, str] = field(default_factory=dict)  # DICOM whitelist; {} otherwise


@dataclass(frozen=True)
class Rejected:
    """A file that was read and refused; the rest of the upload is still imported."""

    file: str
    message: Text  # why, for people (apps.core.text: translated by the pages)

    @property
    def reason(self) -> str:
        return str(self.message)


@dataclass(frozen=True)
class Skipped:
    """A file deliberately not read: OS metadata or a CellaVision side file (never an image)."""

    file: str
    message: Text

    @property
    def reason(self) -> str:
        return str(self.message)


@dataclass(frozen=True)
class ImportBatch:
    """Everything found in one upload: each input file is in exactly one of the four fields."""

    images: tuple[ImportedImage, ...]
    rejected: tuple[Rejected, ...]
    duplicates: tuple[str, ...] = ()  # files dropped because an earlier file had the same sha256
    skipped: tuple[Skipped, ...] = ()


class ImportRefused(ValueError):
    """The whole upload is refused and nothing is imported; ``text`` says why (``str()`` in
    English)."""

    def __init__(self, message: Text) -> None:
        super().__init__(str(message))
        self.text = message
