"""Memory bounded by design: a very large cell image is analysed, and its overlay drawn, from a
copy bounded to ANALYSIS_MAX_SIDE; no full-size copy of it is made (no convert or copy at full
size); cells are decoded in batches whose bounded copies hold at most BATCH_MAX_PIXELS."""

from __future__ import annotations

import io
from types import SimpleNamespace

import numpy as np
import pytest
from PIL import Image

from apps.analysis import pipeline
from apps.analysis.models import AnalysisRun, CellPrediction, RunStatus
from apps.analysis.pipeline import (
    ANALYSIS_MAX_SIDE,
    BATCH_MAX_PIXELS,
    batches,
    bounded_size,
    decode_bounded,
)
from apps.analysis.services import analysis_run_execute
from apps.smears.services import smear_read_upload
from apps.workflow.services import smear_import
from tests.helpers import pbc_images

LARGE = (6000, 4000)  # 24 megapixels: accepted (the limit is 40)


@pytest.fixture(autouse=True)
def _fresh_runner():
    pipeline.reset_runner()
    yield
    pipeline.reset_runner()


def _large_png() -> bytes:
    """A real PBC cell enlarged 4x in the middle of a large canvas of its background."""
    with Image.open(pbc_images("neutrophil", 1)[0]) as im:
        cell = im.convert("RGB")
    canvas = Image.new("RGB", LARGE, cell.getpixel((0, 0)))
    big = cell.resize((cell.width * 4, cell.height * 4), Image.Resampling.BILINEAR)
    canvas.paste(big, ((LARGE[0] - big.width) // 2, (LARGE[1] - big.height) // 2))
    buffer = io.BytesIO()
    canvas.save(buffer, format="PNG")
    return buffer.getvalue()


def _spy(monkeypatch, method: str, sizes: list[tuple[int, int]]) -> None:  # type: ignore[no-untyped-def]
    real = getattr(Image.Image, method)

    def spied(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        sizes.append(self.size)
        return real(self, *args, **kwargs)

    monkeypatch.setattr(Image.Image, method, spied)


def test_a_huge_image_is_analysed_and_drawn_from_a_bounded_copy(
        technician, specimen, monkeypatch, client, django_capture_on_commit_callbacks):
    batch = smear_read_upload(name="big.png", fileobj=io.BytesIO(_large_png()))
    with django_capture_on_commit_callbacks(execute=False):  # the job runs below, spied on
        outcome = smear_import(actor=technician, specimen=specimen, batch=batch)
    assert outcome.images_imported == 1

    runner = pipeline.get_runner()
    seen: list[tuple[int, int]] = []
    model = runner.model
    monkeypatch.setattr(runner, "model", SimpleNamespace(
        provenance=model.provenance, card=model.card, classify_views=model.classify_views,
        batch_maps=model.batch_maps,
        prepare=lambda image: (seen.append(image.size), model.prepare(image))[1]))
    copied: list[tuple[int, int]] = []
    for method in ("convert", "copy"):
        _spy(monkeypatch, method, copied)

    analysis_run_execute(run_id=outcome.analysis_run_id)
    run = AnalysisRun.objects.get(pk=outcome.analysis_run_id)
    assert run.status == RunStatus.SUCCEEDED, run.error
    # The model got the bounded copy, aspect kept; nothing was converted or copied at full size.
    assert seen == [(ANALYSIS_MAX_SIDE, round(ANALYSIS_MAX_SIDE * LARGE[1] / LARGE[0]))]
    assert copied and max(max(size) for size in copied) <= ANALYSIS_MAX_SIDE

    cell = CellPrediction.objects.get(run=run).cell
    assert (cell.width, cell.height) == LARGE  # the stored original is untouched
    copied.clear()
    client.force_login(technician)
    response = client.get(f"/cells/{cell.pk}/cam/")
    assert response.status_code == 200
    overlay = Image.open(io.BytesIO(b"".join(response.streaming_content)))
    assert overlay.size == seen[0]
    assert copied and max(max(size) for size in copied) <= ANALYSIS_MAX_SIDE


@pytest.mark.parametrize("mode", ["RGB", "RGBA", "L", "P", "I;16"])
def test_every_stored_mode_decodes_to_a_bounded_rgb_copy(mode):
    image = Image.new("RGB", (3000, 1500), (200, 120, 160)).convert(
        "L" if mode == "I;16" else mode)
    if mode == "I;16":
        image = Image.fromarray(np.full((1500, 3000), 40000, np.uint16))
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    copy = decode_bounded(buffer.getvalue())
    assert copy.mode == "RGB" and copy.size == (ANALYSIS_MAX_SIDE, ANALYSIS_MAX_SIDE // 2)
    assert copy.size == bounded_size(3000, 1500)
    if mode in ("RGB", "RGBA", "P"):
        assert np.abs(np.asarray(copy, np.int16)[500, 500] - (200, 120, 160)).max() <= 2


def test_batches_cap_the_decoded_size_whatever_the_batch_size():
    huge = [SimpleNamespace(id=k, width=6300, height=6300) for k in range(100)]
    out = list(batches(huge, 1000))
    assert [c.id for b in out for c in b] == list(range(100))  # all, in order
    for b in out:
        assert sum(np.prod(bounded_size(c.width, c.height)) for c in b) <= BATCH_MAX_PIXELS
    assert max(len(b) for b in out) == BATCH_MAX_PIXELS // ANALYSIS_MAX_SIDE**2
    # Ordinary CellaVision cells: the configured batch size decides.
    small = [SimpleNamespace(id=k, width=360, height=363) for k in range(100)]
    assert [len(b) for b in batches(small, 32)] == [32, 32, 32, 4]
    # One image is never split, whatever its size.
    assert [len(b) for b in batches(huge[:1], 32)] == [1]
