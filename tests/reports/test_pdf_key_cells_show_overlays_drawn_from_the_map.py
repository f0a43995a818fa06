"""Key cells of a report analysed with compact Grad-CAM maps: the signed content names each
overlay, the PDF prints it (drawn by the same function as the heat-map view, on first use), next
to the cell image; a 40-megapixel key cell is printed from a bounded copy."""

from __future__ import annotations

import io
import subprocess
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from apps.analysis.models import CellPrediction
from apps.analysis.overlays import report_cell_files
from apps.analysis.pipeline import ANALYSIS_MAX_SIDE
from apps.ml.cam import CamMap
from apps.reports.document import report_html
from tests.reports.pdfs import pdf_bytes


@pytest.fixture
def analysed_with_maps(make_specimen):  # type: ignore[no-untyped-def]
    """The report fixture's specimen, its predictions holding compact maps and no overlay file."""
    specimen = make_specimen()
    values = np.zeros((6, 6), np.uint8)
    values[2:4, 2:4] = 255
    cam = CamMap(values, (0.0, 0.0, 1.0, 1.0))
    for prediction in CellPrediction.objects.filter(cell__specimen=specimen):
        prediction.cam.delete(save=False)
        prediction.cam, prediction.cam_map, prediction.cam_box = "", cam.encode(), list(cam.box)
        prediction.save()
    return specimen


def _pdf_images(data: bytes, tmp_path: Path) -> list[tuple[int, int]]:
    path = tmp_path / "report.pdf"
    path.write_bytes(data)
    listing = subprocess.run(["pdfimages", "-list", str(path)], check=True, capture_output=True,
                             text=True).stdout.splitlines()[2:]
    return [(int(row.split()[3]), int(row.split()[4])) for row in listing]


def test_pdf_prints_each_key_cells_overlay(analysed_with_maps, sign, rendered, settings,
                                           client, biologist, tmp_path):
    signed = sign(analysed_with_maps)
    key_cells = signed.content["key_cells"]
    assert len(key_cells) == 4
    media = Path(settings.MEDIA_ROOT)
    for cell in key_cells:
        assert cell["cam"].startswith("cams/overlays/")
        assert not (media / cell["cam"]).exists()  # not drawn until someone needs it

    html = report_html(signature=signed, language="en", media_root=media)
    for cell in key_cells:
        assert (media / cell["cam"]).as_uri() in html
        assert (media / cell["image"]).as_uri() in html
        assert "No Grad-CAM overlay" not in html
        # The file the PDF prints is the one the heat-map view serves.
        client.force_login(biologist)
        served = b"".join(client.get(f"/cells/{cell['cell_id']}/cam/").streaming_content)
        assert served == (media / cell["cam"]).read_bytes()

    data = pdf_bytes(rendered(signed, "en"))
    sizes = _pdf_images(data, tmp_path)
    # Each key cell twice at the cell's own size: the image and its overlay.
    assert sizes.count((360, 363)) >= 2 * len(key_cells), sizes


def test_pdf_redraws_an_overlay_whose_file_is_gone(analysed_with_maps, sign, settings):
    signed = sign(analysed_with_maps)
    cell = signed.content["key_cells"][0]
    media = Path(settings.MEDIA_ROOT)
    image, cam = report_cell_files(image=cell["image"], cam=cell["cam"])
    assert image == cell["image"] and cam == cell["cam"]
    first = (media / cam).read_bytes()
    (media / cam).unlink()
    assert report_cell_files(image=cell["image"], cam=cell["cam"])[1] == cam
    assert (media / cam).read_bytes() == first
    # A map changed since signing is not passed off as the signed one.
    (media / cam).unlink()
    prediction = CellPrediction.objects.get(cell_id=cell["cell_id"])
    prediction.cam_box = [0.1, 0.1, 0.9, 0.9]
    prediction.save()
    assert report_cell_files(image=cell["image"], cam=cell["cam"])[1] is None
    # Names that are not overlays are not followed.
    assert report_cell_files(image=None, cam="../../etc/passwd")[1] is None


def test_a_huge_key_cell_is_printed_from_a_bounded_copy(analysed_with_maps, settings):
    from apps.smears.models import Cell

    cell = Cell.objects.filter(specimen=analysed_with_maps).first()
    buffer = io.BytesIO()
    Image.new("RGB", (6000, 4000), (180, 150, 200)).save(buffer, format="PNG")
    media = Path(settings.MEDIA_ROOT)
    (media / cell.image.name).write_bytes(buffer.getvalue())
    image, _ = report_cell_files(image=cell.image.name, cam=None)
    assert image != cell.image.name and image.startswith("cells/bounded/")
    with Image.open(media / image) as printed:
        assert max(printed.size) == ANALYSIS_MAX_SIDE
        assert abs(printed.size[0] / printed.size[1] - 1.5) < 0.01
