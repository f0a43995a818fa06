"""Smear image importers: CellaVision exports (zip or folder), single images and DICOM.

Pure Python over bytes, Pillow and pydicom; no Django. See docs/image-imports.md.
"""

from __future__ import annotations

from .archive import read_zip
from .folder import read_folder
from .types import (
    DEFAULT_LIMITS,
    ImportBatch,
    ImportedImage,
    ImportRefused,
    Limits,
    Rejected,
    Skipped,
)
from .upload import is_archive, read_single, read_upload

__all__ = [
    "DEFAULT_LIMITS",
    "ImportBatch",
    "ImportRefused",
    "ImportedImage",
    "Limits",
    "Rejected",
    "Skipped",
    "is_archive",
    "read_folder",
    "read_single",
    "read_upload",
    "read_zip",
]
