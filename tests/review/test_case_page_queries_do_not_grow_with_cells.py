"""The case page reads a bounded number of queries, the same for 20 cells as for 200: every
cell, prediction, CBC value, score, earlier specimen and signature is read in one query per kind,
never one per cell. (bench/bench_case_page.py prints the server time of the same page.)"""

from __future__ import annotations

import io
import re
import zipfile

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from apps.analysis.models import AnalysisRun, CellPrediction, RunStatus
from apps.analysis.scores import scores_compute
from apps.patients.services import patient_create, specimen_create
from apps.smears.models import Cell
from apps.smears.services import smear_read_upload
from apps.workflow.services import cbc_import, cells_reclassify, smear_import
from tests.review.cbc import COLUMNS
from tests.smears.builders import pbc_images

# The page's queries for a case like these (session, user, specimen, cells and predictions, CBC,
# runs, scores, flags, patient context, signatures): a bound, not a count to reach.
MAX_QUERIES = 24
CLASSES = ("neutrophil", "lymphocyte", "monocyte", "eosinophil", "basophil", "platelet")
ATTRIBUTES = {"cell_size": "big", "nucleus_shape": "segmented-multilobed", "granularity": "yes",
              "cytoplasm_colour": "light blue", "granule_type": "small"}


def _case(*, accession: str, cells: int, skip: int, technician, biologist, monkeypatch):  # type: ignore[no-untyped-def]
    """An analysed case of `cells` real PBC cells with everything the page shows: predictions
    with probabilities, attributes, anomalies, overlays and domain flags, reviewed cells, a CBC
    with its differential, scores, and an earlier specimen of the same patient."""
    monkeypatch.setattr("apps.analysis.tasks.analysis_run_execute.delay", lambda *_: None)
    patient = patient_create(actor=technician, external_id=f"MRN-{accession}", sex="F")
    earlier = specimen_create(actor=technician, accession=f"{accession}-0", patient=patient,
                              collected_at=timezone.now() - timezone.timedelta(days=40))
    specimen = specimen_create(actor=technician, accession=accession, patient=patient,
                               collected_at=timezone.now())
    for one in (earlier, specimen):
        values = dict(COLUMNS, **{"Sample No.": one.accession, "Patient ID": patient.external_id})
        data = (",".join(values) + "\r\n" + ",".join(values.values()) + "\r\n").encode()
        assert cbc_import(actor=technician, data=data, specimen=one).results_created == 1
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for i, cls in enumerate(CLASSES):
            n = cells // len(CLASSES) + (1 if i < cells % len(CLASSES) else 0)
            for path in pbc_images(cls, n, skip=skip):
                archive.write(path, f"export/{cls}/{path.name}")
    buffer.seek(0)
    smear_import(actor=technician, specimen=specimen,
                 batch=smear_read_upload(name="export.zip", fileobj=buffer))
    run = AnalysisRun.objects.get(specimen=specimen)
    AnalysisRun.objects.filter(pk=run.pk).update(status=RunStatus.SUCCEEDED,
                                                 finished_at=timezone.now())
    rows = list(Cell.objects.filter(specimen=specimen))
    CellPrediction.objects.bulk_create([CellPrediction(
        cell=cell, run=run, model_name="fixture", model_version="0", model_sha256="0" * 64,
        cell_class=cell.analyser_class, cell_class_prob=0.8,
        class_probs={cls: (0.8 if cls == cell.analyser_class else 0.04) for cls in CLASSES},
        subtype="segmented_neutrophil" if cell.analyser_class == "neutrophil" else "",
        subtype_prob=0.7, attributes=ATTRIBUTES,
        attribute_probs={name: {value: 0.6} for name, value in ATTRIBUTES.items()},
        anomalies={"vacuole": (i % 10) / 10, "pseudo_pelger": 0.2, "barr_body": None},
        view="found" if i % 7 else "no_stain", in_domain=i % 5 != 0,
        cam=f"cams/{cell.pk}.png" if i % 2 else "") for i, cell in enumerate(rows)])
    specimen.status = "analysed"
    specimen.save()
    cells_reclassify(actor=biologist, specimen=specimen, cell_ids=[rows[0].pk, rows[-1].pk],
                     new_class="monocyte")
    scores_compute(specimen_id=specimen.pk, trigger="test")
    return specimen


def _render(client, accession: str) -> tuple[int, str]:  # type: ignore[no-untyped-def]
    client.get(f"/review/{accession}/")  # the first request of a session reads a little more
    with CaptureQueriesContext(connection) as queries:
        response = client.get(f"/review/{accession}/")
    assert response.status_code == 200
    return len(queries), response.content.decode()


@pytest.fixture
def cases(technician, biologist, monkeypatch):  # type: ignore[no-untyped-def]
    return {n: _case(accession=f"Q-{n}", cells=n, skip=skip, technician=technician,
                     biologist=biologist, monkeypatch=monkeypatch)
            for n, skip in ((200, 0), (20, 40))}


def test_200_cells_read_as_many_queries_as_20(client, biologist, cases):
    client.force_login(biologist)
    small, small_page = _render(client, cases[20].accession)
    large, large_page = _render(client, cases[200].accession)
    # Every cell is on the page: nothing was cut to save time. The large-cell pane's figures
    # are read per cell when it is shown (review_cell_detail), not sent for all 200.
    assert len(re.findall(r'<figure class="cell[^"]*" tabindex="0" data-cell="', large_page)) == 200
    assert len(re.findall(r'<figure class="cell[^"]*" tabindex="0" data-cell="', small_page)) == 20
    assert "data-cell-url=" in large_page and '"final_label"' not in large_page
    assert large_page.count('data-cam="') == 100 and large_page.count("data-domain-flag=") > 40
    assert small == large, (small, large)


def test_the_200_cell_case_page_is_bounded(client, biologist, cases,
                                           django_assert_max_num_queries):
    client.force_login(biologist)
    client.get(f"/review/{cases[200].accession}/")
    with django_assert_max_num_queries(MAX_QUERIES):
        response = client.get(f"/review/{cases[200].accession}/")
    assert response.status_code == 200
