from __future__ import annotations

import io
import json
import zipfile

import pytest
from django.core.management import CommandError, call_command

from apps.patients.models import Specimen
from apps.smears.models import Cell
from tests.helpers import export_zip, pbc_images


@pytest.fixture(autouse=True)
def _no_queue(monkeypatch):
    monkeypatch.setattr("apps.analysis.tasks.analysis_run_execute.delay", lambda *_: None)


def _json_line(out: io.StringIO) -> dict:
    return json.loads(out.getvalue().strip().splitlines()[-1])


def test_zip_import_creates_the_specimen_and_reports_json(db, tmp_path):
    path = tmp_path / "export.zip"
    path.write_bytes(export_zip({"neutrophil": 4, "monocyte": 2}))
    out = io.StringIO()
    call_command("import_cellavision", str(path), "--specimen", "CV-1", "--json", stdout=out)
    summary = _json_line(out)
    assert summary["specimen"] == "CV-1"
    assert summary["images_imported"] == 6
    assert summary["duplicates"] == 0
    assert summary["rejected"] == []
    assert Specimen.objects.filter(accession="CV-1").exists()

    again = io.StringIO()
    call_command("import_cellavision", str(path), "--specimen", "CV-1", "--json", stdout=again)
    assert _json_line(again)["duplicates"] == 6
    assert Cell.objects.count() == 6


def test_folder_import_with_a_corrupt_file_rejects_only_that_file(db, tmp_path):
    folder = tmp_path / "export"
    (folder / "eosinophil").mkdir(parents=True)
    for path in pbc_images("eosinophil", 3):
        (folder / "eosinophil" / path.name).write_bytes(path.read_bytes())
    good = pbc_images("eosinophil", 4)[3].read_bytes()
    (folder / "eosinophil" / "broken.jpg").write_bytes(good[: len(good) // 3])
    out = io.StringIO()
    call_command("import_cellavision", str(folder), "--specimen", "CV-2", "--json", stdout=out)
    summary = _json_line(out)
    assert summary["images_imported"] == 3
    assert [r["file"].rsplit("/", 1)[-1] for r in summary["rejected"]] == ["broken.jpg"]


def test_traversal_zip_is_refused_with_non_zero_exit_and_no_specimen(db, tmp_path):
    path = tmp_path / "evil.zip"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("../../etc/evil.jpg", pbc_images("neutrophil", 1)[0].read_bytes())
    out = io.StringIO()
    with pytest.raises(CommandError, match="refused"):
        call_command("import_cellavision", str(path), "--specimen", "CV-3", "--json", stdout=out)
    assert _json_line(out)["images_imported"] == 0
    assert not Specimen.objects.filter(accession="CV-3").exists()
