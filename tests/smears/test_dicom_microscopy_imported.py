"""VL microscopy DICOM files become RGB PNGs with the metadata that matters, never the name."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image
from pydicom.dataset import Dataset
from pydicom.uid import (
    VLSlideCoordinatesMicroscopicImageStorage,
    VLWholeSlideMicroscopyImageStorage,
)

from apps.smears.importers import read_single, read_zip

from .builders import (
    dicom_bytes,
    dicom_dataset,
    dicom_jpeg,
    dicom_native,
    pbc_bytes,
    pbc_pixels,
    sha256,
    zip_bytes,
)


def _png_pixels(content: bytes) -> np.ndarray:
    with Image.open(io.BytesIO(content)) as img:
        assert (img.format, img.mode) == ("PNG", "RGB")
        return np.asarray(img)


def test_an_rgb_microscopy_image_keeps_its_pixels_and_metadata() -> None:
    pixels = pbc_pixels("basophil")
    data = dicom_native(pixels)
    (image,) = read_single("cell.dcm", data).images

    assert (image.format, image.width, image.height) == ("DICOM", 360, 363)
    assert np.array_equal(_png_pixels(image.content), pixels)
    assert image.sha256 == sha256(image.content)
    meta = image.metadata
    assert meta["SOPClassUID"] == "1.2.840.10008.5.1.4.1.1.77.1.2"
    assert meta["Modality"] == "SM"
    assert meta["Manufacturer"] == "CellaVision"
    assert meta["ManufacturerModelName"] == "DM96"
    assert meta["ContentDate"] == "20240131"
    assert meta["ContainerIdentifier"] == "SLIDE-0007"
    assert meta["SpecimenIdentifier"] == "S-2024-0001"
    assert meta["PhotometricInterpretation"] == "RGB"
    assert meta["PatientID"] == "MRN-1"
    assert {"SOPInstanceUID", "StudyInstanceUID", "SeriesInstanceUID", "SpecimenUID"} <= set(meta)
    # Patient name and birth date are never copied, under any key.
    assert "PatientName" not in meta and "PatientBirthDate" not in meta
    assert not any("Doe" in v or "19700101" in v for v in meta.values())


def test_a_jpeg_baseline_ybr_422_image_decodes_like_the_original_jpeg() -> None:
    jpeg = pbc_bytes("eosinophil")
    (image,) = read_single("cell.dcm", dicom_jpeg(jpeg, rows=363, columns=360)).images
    expected = np.asarray(Image.open(io.BytesIO(jpeg)).convert("RGB"))

    assert (image.width, image.height) == (360, 363)
    assert np.abs(_png_pixels(image.content).astype(int) - expected).max() <= 2
    assert image.metadata["TransferSyntaxUID"] == "1.2.840.10008.1.2.4.50"


def test_ybr_full_is_converted_to_rgb() -> None:
    from pydicom.pixels import convert_color_space

    pixels = pbc_pixels("lymphocyte")
    ybr = convert_color_space(pixels, "RGB", "YBR_FULL")
    (image,) = read_single("cell.dcm", dicom_native(ybr, "YBR_FULL")).images
    assert np.abs(_png_pixels(image.content).astype(int) - pixels).max() <= 2


def test_monochrome2_8_and_16_bit_become_grey_rgb() -> None:
    grey = pbc_pixels()[..., 1]
    (image8,) = read_single("a.dcm", dicom_native(grey, "MONOCHROME2")).images
    rendered = _png_pixels(image8.content)
    assert np.array_equal(rendered[..., 0], grey) and np.array_equal(rendered[..., 2], grey)

    # 12 bits stored in 16: scaled linearly from 0..4095 to 0..255.
    grey12 = (grey.astype(np.uint32) * 4095 // 255).astype(np.uint16)
    (image16,) = read_single("b.dcm", dicom_native(grey12, "MONOCHROME2", bits_stored=12)).images
    assert np.abs(_png_pixels(image16.content)[..., 0].astype(int) - grey).max() <= 1


@pytest.mark.parametrize(
    "sop_class", [VLSlideCoordinatesMicroscopicImageStorage, VLWholeSlideMicroscopyImageStorage]
)
def test_slide_coordinates_and_single_frame_wsi_are_accepted(sop_class: str) -> None:
    ds = dicom_dataset(sop_class=sop_class)
    ds.set_pixel_data(pbc_pixels(), "RGB", 8)
    ds.NumberOfFrames = 1
    measures = Dataset()
    measures.PixelSpacing = [0.00025, 0.00025]
    shared = Dataset()
    shared.PixelMeasuresSequence = [measures]
    ds.SharedFunctionalGroupsSequence = [shared]
    ds.ImagedVolumeWidth = 0.09
    (image,) = read_single("wsi.dcm", dicom_bytes(ds)).images
    assert image.metadata["SOPClassUID"] == str(sop_class)
    assert image.metadata["PixelSpacing"] == "0.00025\\0.00025"
    assert image.metadata["ImagedVolumeWidth"] == "0.09"


def test_dicom_files_in_a_zip_take_their_class_folder() -> None:
    data = zip_bytes({
        "export/neutrophil/1.dcm": dicom_native(pbc_pixels("neutrophil", 0)),
        "export/platelet/2.dcm": dicom_native(pbc_pixels("platelet", 0)),
    })
    batch = read_zip(data)
    assert [(i.analyser_class, i.format) for i in batch.images] == [
        ("neutrophil", "DICOM"), ("platelet", "DICOM"),
    ]
