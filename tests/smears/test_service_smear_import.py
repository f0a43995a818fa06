"""Storing an export: all images or none, duplicates by sha256, files under generated names."""

from __future__ import annotations

import hashlib
import io
from pathlib import Path

import pytest

from apps.analysis.models import AnalysisRun
from apps.core.errors import ImportRefusedError
from apps.smears.models import Cell, SmearUpload
from apps.smears.services import smear_read_upload
from apps.workflow.services import smear_import
from tests.helpers import export_zip, pbc_images


def _batch(data: bytes, name: str = "export.zip"):
    return smear_read_upload(name=name, fileobj=io.BytesIO(data))


def test_export_is_stored_with_analyser_classes_and_queues_analysis(
        technician, specimen, settings, monkeypatch):
    queued = []
    monkeypatch.setattr("apps.analysis.tasks.analysis_run_execute.delay", queued.append)
    data = export_zip({"neutrophil": 3, "lymphocyte": 2})
    outcome = smear_import(actor=technician, specimen=specimen, batch=_batch(data))
    assert outcome.images_imported == 5
    cells = list(Cell.objects.filter(specimen=specimen))
    assert sorted(c.analyser_class for c in cells) == ["lymphocyte"] * 2 + ["neutrophil"] * 3
    expected = {hashlib.sha256(p.read_bytes()).hexdigest()
                for p in pbc_images("neutrophil", 3) + pbc_images("lymphocyte", 2)}
    assert {c.sha256 for c in cells} == expected
    for cell in cells:
        stored = Path(settings.MEDIA_ROOT) / cell.image.name
        assert hashlib.sha256(stored.read_bytes()).hexdigest() == cell.sha256
        # Never a path derived from the uploaded name.
        assert "neutrophil" not in cell.image.name and "SNE" not in cell.image.name
    run = AnalysisRun.objects.get(specimen=specimen)
    assert outcome.analysis_run_id == run.pk
    assert queued == []  # queued only after commit


def test_same_export_twice_stores_nothing_new(technician, specimen, monkeypatch):
    monkeypatch.setattr("apps.analysis.tasks.analysis_run_execute.delay", lambda *_: None)
    data = export_zip({"neutrophil": 3})
    smear_import(actor=technician, specimen=specimen, batch=_batch(data))
    again = smear_import(actor=technician, specimen=specimen, batch=_batch(data))
    assert again.images_imported == 0
    assert len(again.duplicates) == 3
    assert Cell.objects.count() == 3
    assert SmearUpload.objects.count() == 1


def test_upload_with_only_bad_files_is_refused_and_writes_nothing(technician, specimen, settings):
    with pytest.raises(ImportRefusedError):
        smear_import(actor=technician, specimen=specimen,
                     batch=_batch(b"not an image at all", name="cell.jpg"))
    assert Cell.objects.count() == 0
    media = Path(settings.MEDIA_ROOT)
    assert not media.exists() or not any(p.is_file() for p in media.rglob("*"))


def test_a_failure_while_storing_removes_the_files_already_written(
        technician, specimen, settings, monkeypatch):
    def boom(*args, **kwargs):
        raise RuntimeError("database went away")

    monkeypatch.setattr("apps.smears.models.Cell.objects.bulk_create", boom)
    with pytest.raises(RuntimeError):
        smear_import(actor=technician, specimen=specimen,
                     batch=_batch(export_zip({"neutrophil": 2})))
    assert Cell.objects.count() == 0 and SmearUpload.objects.count() == 0
    media = Path(settings.MEDIA_ROOT)
    assert not media.exists() or not any(p.is_file() for p in media.rglob("*"))
