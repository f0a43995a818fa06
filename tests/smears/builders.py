"""Build real (and deliberately broken) exports for the importer tests, in memory or tmp_path."""

from __future__ import annotations

import hashlib
import io
import struct
import zipfile
import zlib
from collections.abc import Iterable
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.encaps import encapsulate
from pydicom.uid import (
    ExplicitVRLittleEndian,
    JPEGBaseline8Bit,
    VLMicroscopicImageStorage,
    generate_uid,
)

from apps.smears.importers import ImportBatch

# The shared dataset, found relative to the repository (CI has it at the same place).
PBC = Path(__file__).resolve().parents[2].parent / "shared" / "datasets" / "pbc"
CLASSES = ("neutrophil", "eosinophil", "platelet")


def pbc_images(cls: str, n: int, *, skip: int = 0) -> list[Path]:
    """`n` real CellaVision images of one PBC class (sorted, so every run uses the same)."""
    folder = PBC / cls
    if not folder.is_dir():
        pytest.fail(f"The PBC dataset is missing: expected {folder} (see ../shared/datasets).")
    files = sorted(folder.glob("*.jpg"))[skip : skip + n]
    if len(files) < n:
        pytest.fail(f"Only {len(files)} images in {folder}, {n} needed.")
    return files


def pbc_bytes(cls: str = "neutrophil", index: int = 0) -> bytes:
    return pbc_images(cls, 1, skip=index)[0].read_bytes()


def pbc_pixels(cls: str = "neutrophil", index: int = 0) -> np.ndarray:
    with Image.open(io.BytesIO(pbc_bytes(cls, index))) as img:
        return np.asarray(img.convert("RGB"))


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def export_entries(top: str | None = "export", per_class: int = 3) -> dict[str, bytes]:
    """name -> bytes of a CellaVision-style export: class folders of real PBC images."""
    prefix = f"{top}/" if top else ""
    return {
        f"{prefix}{cls}/{path.name}": path.read_bytes()
        for cls in CLASSES
        for path in pbc_images(cls, per_class)
    }


def zip_bytes(
    entries: dict[str, bytes] | Iterable[tuple[str | zipfile.ZipInfo, bytes]],
    method: int = zipfile.ZIP_DEFLATED,
) -> bytes:
    items = entries.items() if isinstance(entries, dict) else entries
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", method) as archive:
        for name, data in items:
            archive.writestr(name, data, compress_type=method)
    return buffer.getvalue()


def write_tree(root: Path, entries: dict[str, bytes]) -> Path:
    for name, data in entries.items():
        path = root.joinpath(*name.split("/"))
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    return root


def accounted_names(batch: ImportBatch) -> list[str]:
    """Every file the batch mentions, once per mention (so a file counted twice shows)."""
    return (
        [i.name for i in batch.images]
        + [r.file for r in batch.rejected]
        + list(batch.duplicates)
        + [s.file for s in batch.skipped]
    )


# --- zip surgery: the central directory and local headers, patched after zipfile wrote them ---

_CD_FIELDS = {  # name: (offset in the 46-byte central directory record, struct format)
    "flags": (8, "<H"),
    "method": (10, "<H"),
    "compress_size": (20, "<L"),
    "file_size": (24, "<L"),
    "external_attr": (38, "<L"),
    "header_offset": (42, "<L"),
}


def patch_central_directory(data: bytes, name: str, **fields: int) -> bytes:
    """Rewrite fields of `name`'s central directory record (the copy zipfile trusts)."""
    out = bytearray(data)
    (end,) = [i for i in range(len(out) - 22, -1, -1) if out[i : i + 4] == b"PK\x05\x06"][:1]
    count, _size, offset = struct.unpack_from("<HLL", out, end + 10)
    pos = offset
    for _ in range(count):
        name_len, extra_len, comment_len = struct.unpack_from("<HHH", out, pos + 28)
        entry_name = bytes(out[pos + 46 : pos + 46 + name_len]).decode("utf-8")
        if entry_name == name:
            for field, value in fields.items():
                at, fmt = _CD_FIELDS[field]
                struct.pack_into(fmt, out, pos + at, value)
            return bytes(out)
        pos += 46 + name_len + extra_len + comment_len
    raise KeyError(name)


def set_encrypted_flag(data: bytes, name: str) -> bytes:
    """Mark an entry encrypted in both headers, as a password-protected zip would be."""
    patched = bytearray(patch_central_directory(data, name, flags=0x1))
    local = bytes(patched).find(b"PK\x03\x04")
    while local >= 0:
        name_len = struct.unpack_from("<H", patched, local + 26)[0]
        if bytes(patched[local + 30 : local + 30 + name_len]).decode("utf-8") == name:
            struct.pack_into("<H", patched, local + 6, 0x1)
            break
        local = bytes(patched).find(b"PK\x03\x04", local + 4)
    return bytes(patched)


def rename_bytes(data: bytes, old: bytes, new: bytes) -> bytes:
    """Replace a name in the local header and the central directory (same length)."""
    assert len(old) == len(new)
    assert data.count(old) == 2
    return data.replace(old, new)


# --- images -------------------------------------------------------------------------------

def png_1bit(width: int, height: int) -> bytes:
    """A valid black 1-bit PNG of any size, streamed: tiny on disk, huge when decoded."""
    def chunk(kind: bytes, body: bytes) -> bytes:
        return (
            struct.pack(">L", len(body)) + kind + body
            + struct.pack(">L", zlib.crc32(kind + body) & 0xFFFFFFFF)
        )

    row = b"\x00" * (1 + (width + 7) // 8)  # filter byte + packed pixels
    compressor = zlib.compressobj(9)
    idat = b"".join(compressor.compress(row) for _ in range(height)) + compressor.flush()
    header = struct.pack(">LLBBBBB", width, height, 1, 0, 0, 0, 0)
    signature = b"\x89PNG\r\n\x1a\n"
    return signature + chunk(b"IHDR", header) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")


def reencode(data: bytes, fmt: str, **params: object) -> bytes:
    with Image.open(io.BytesIO(data)) as img:
        out = io.BytesIO()
        img.convert("RGB").save(out, format=fmt, **params)
    return out.getvalue()


# --- DICOM --------------------------------------------------------------------------------

def dicom_dataset(
    *,
    sop_class: str = VLMicroscopicImageStorage,
    transfer_syntax: str = ExplicitVRLittleEndian,
) -> Dataset:
    """A VL microscopy dataset with identifying patient attributes, without pixels."""
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = sop_class
    meta.MediaStorageSOPInstanceUID = generate_uid()
    meta.TransferSyntaxUID = transfer_syntax
    ds = Dataset()
    ds.file_meta = meta
    ds.SOPClassUID = sop_class
    ds.SOPInstanceUID = meta.MediaStorageSOPInstanceUID
    ds.StudyInstanceUID = generate_uid()
    ds.SeriesInstanceUID = generate_uid()
    ds.Modality = "SM"
    ds.Manufacturer = "CellaVision"
    ds.ManufacturerModelName = "DM96"
    ds.ContentDate = "20240131"
    ds.ContentTime = "101500"
    ds.PatientName = "Doe^Jane"
    ds.PatientBirthDate = "19700101"
    ds.PatientID = "MRN-1"  # the patient of the `specimen` fixture (S-0001)
    ds.ContainerIdentifier = "SLIDE-0007"
    specimen = Dataset()
    specimen.SpecimenIdentifier = "S-2024-0001"
    specimen.SpecimenUID = generate_uid()
    ds.SpecimenDescriptionSequence = [specimen]
    return ds


def dicom_bytes(ds: Dataset) -> bytes:
    out = io.BytesIO()
    ds.save_as(out, enforce_file_format=True)
    return out.getvalue()


def dicom_native(
    pixels: np.ndarray, photometric: str = "RGB", bits_stored: int | None = None, **kwargs: str
) -> bytes:
    ds = dicom_dataset(**kwargs)
    ds.set_pixel_data(pixels, photometric, bits_stored or pixels.dtype.itemsize * 8)
    return dicom_bytes(ds)


def dicom_jpeg(jpeg: bytes, rows: int, columns: int, **kwargs: str) -> bytes:
    """A JPEG Baseline DICOM whose single frame is a real CellaVision JPEG, untouched."""
    ds = dicom_dataset(transfer_syntax=JPEGBaseline8Bit, **kwargs)
    ds.Rows, ds.Columns = rows, columns
    ds.SamplesPerPixel = 3
    ds.PhotometricInterpretation = "YBR_FULL_422"
    ds.PlanarConfiguration = 0
    ds.BitsAllocated = ds.BitsStored = 8
    ds.HighBit = 7
    ds.PixelRepresentation = 0
    ds.NumberOfFrames = 1
    ds.LossyImageCompression = "01"
    ds.PixelData = encapsulate([jpeg])
    ds["PixelData"].VR = "OB"
    return dicom_bytes(ds)
