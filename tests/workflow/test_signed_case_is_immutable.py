"""A signed case (validated or rejected) changes only through an amendment: a re-analysis, new
images, CBC rows and a reclassification are refused with a clear message on the page, the API
and the commands, and nothing is written; after case_amend each of them works again."""

from __future__ import annotations

import io
import json

import pytest
from django.contrib.messages import get_messages
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command
from django.utils import translation

from apps.analysis.models import AnalysisRun
from apps.hemograms.models import CBCResult
from apps.patients.models import Specimen, SpecimenStatus
from apps.patients.selectors import specimen_locked_reason
from apps.review.services import case_amend
from apps.smears.models import Cell
from apps.workflow import services as workflow
from tests.helpers import export_zip

PASSWORD = "correct-horse-battery"
SIGNED = "is signed"
# The signed specimen's row (line 2) and a row for another sample (line 3).
CBC = (b"Sample No.,Date,Time,WBC(10^9/L),HGB(g/dL),MCV(fL),PLT(10^9/L)\r\n"
       b"S-0001,2026/11/20,08:00:00,3.0,9.5,106.0,90\r\n"
       b"S-0002,2026/11/20,08:05:00,5.1,13.9,91.0,250\r\n")


@pytest.fixture(params=["validated", "rejected"])
def signed(request, biologist, analysed):  # type: ignore[no-untyped-def]
    """The review's analysed specimen (6 cells, one finished run), signed."""
    workflow.case_sign(actor=biologist, specimen=analysed, password=PASSWORD,
                       meaning=request.param, count_acknowledged=True)
    analysed.refresh_from_db()
    assert analysed.status == request.param
    return analysed


@pytest.fixture
def untouched(signed):  # type: ignore[no-untyped-def]
    """Asserts, after the test, that nothing of the signed case changed."""
    before = (signed.status, AnalysisRun.objects.filter(specimen=signed).count(),
              Cell.objects.filter(specimen=signed).count(),
              CBCResult.objects.filter(specimen=signed).count(),
              sorted(Cell.objects.filter(specimen=signed).values_list("pk", "reviewed_class")))
    yield signed
    signed.refresh_from_db()
    assert (signed.status, AnalysisRun.objects.filter(specimen=signed).count(),
            Cell.objects.filter(specimen=signed).count(),
            CBCResult.objects.filter(specimen=signed).count(),
            sorted(Cell.objects.filter(specimen=signed).values_list("pk", "reviewed_class"))
            ) == before


def _page_messages(response) -> list[str]:  # type: ignore[no-untyped-def]
    return [str(m) for m in get_messages(response.wsgi_request)]


def _zip(name: str = "more.zip") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, export_zip({"basophil": 1}, top="more"))


def _cell_ids(specimen: Specimen) -> list[int]:
    return list(Cell.objects.filter(specimen=specimen).values_list("pk", flat=True)[:1])


# The rule ------------------------------------------------------------------------------------

def test_only_a_validated_or_rejected_case_is_locked(specimen):
    for value in SpecimenStatus.values:
        specimen.status = value
        reason = specimen_locked_reason(specimen)
        assert (reason is not None) == (value in ("validated", "rejected")), value
    assert specimen_locked_reason(None) is None
    assert reason is None


def test_the_refusal_names_the_specimen_and_reads_in_french(untouched):
    reason = specimen_locked_reason(untouched)
    assert reason is not None and "S-0001" in reason and "amend" in reason
    with translation.override("fr"):
        french = specimen_locked_reason(untouched)
    assert french is not None and "S-0001" in french and SIGNED not in french
    assert "est signé (validé)" in french or "est signé (rejeté)" in french


# Re-analysis -----------------------------------------------------------------------------------

def test_the_page_offers_no_upload_or_reanalysis_and_says_why(client, technician, untouched):
    client.force_login(technician)
    page = client.get(f"/specimens/{untouched.accession}/").content.decode()
    assert 'id="smear-form"' not in page and 'id="cbc-form"' not in page
    assert "Run the analysis again" not in page
    assert 'id="uploads-locked"' in page and "amend the case first" in page


def test_reanalysis_is_refused_on_the_page(client, technician, untouched):
    client.force_login(technician)
    response = client.post(f"/specimens/{untouched.accession}/reanalyse/")
    assert response.status_code == 302
    assert any(SIGNED in m for m in _page_messages(response))


def test_reanalysis_is_refused_by_the_api(client, technician, untouched):
    client.force_login(technician)
    response = client.post(f"/api/specimens/{untouched.accession}/analysis/")
    assert response.status_code == 409
    assert response.json()["code"] == "specimen_signed"
    assert SIGNED in response.json()["detail"]


def test_reanalysis_is_refused_by_the_workflow(technician, untouched):
    with pytest.raises(workflow.SpecimenSignedError, match=SIGNED):
        workflow.analysis_rerun(actor=technician, specimen=untouched)


# New images ------------------------------------------------------------------------------------

def test_an_upload_is_refused_on_the_page(client, technician, untouched):
    client.force_login(technician)
    response = client.post(f"/specimens/{untouched.accession}/smear/", {"files": [_zip()]})
    assert response.status_code == 302
    assert any("nothing was imported" in m and SIGNED in m for m in _page_messages(response))


def test_an_upload_is_refused_by_the_api(client, technician, untouched):
    client.force_login(technician)
    response = client.post(f"/api/specimens/{untouched.accession}/uploads/", {"files": [_zip()]})
    assert response.status_code == 409
    assert response.json()["code"] == "specimen_signed"


def test_import_cellavision_refuses_a_signed_specimen(tmp_path, untouched):
    path = tmp_path / "more.zip"
    path.write_bytes(export_zip({"basophil": 1}, top="more"))
    out = io.StringIO()
    with pytest.raises(CommandError, match=SIGNED):
        call_command("import_cellavision", str(path), "--specimen", untouched.accession,
                     "--json", stdout=out)
    summary = json.loads(out.getvalue().strip().splitlines()[-1])
    assert summary["images_imported"] == 0 and SIGNED in summary["refused"]


# CBC rows --------------------------------------------------------------------------------------

def test_a_cbc_file_for_the_signed_specimen_is_refused_on_its_page(client, technician,
                                                                    untouched):
    client.force_login(technician)
    response = client.post(f"/specimens/{untouched.accession}/cbc/",
                           {"file": SimpleUploadedFile("xn.csv", CBC)})
    assert response.status_code == 302
    assert any("nothing was imported" in m and SIGNED in m for m in _page_messages(response))


def test_a_cbc_file_for_the_signed_specimen_is_refused_by_the_api(client, technician,
                                                                    untouched):
    client.force_login(technician)
    response = client.post(f"/api/specimens/{untouched.accession}/cbc/",
                           {"file": SimpleUploadedFile("xn.csv", CBC)})
    assert response.status_code == 409
    assert response.json()["code"] == "specimen_signed"


def _signed_row(errors) -> list[tuple[object, object, object]]:  # type: ignore[no-untyped-def]
    return [(e["line"], e["code"], e["sample"]) for e in errors if e.get("code")]


def test_import_cbc_refuses_the_signed_row_and_imports_the_others(tmp_path, untouched):
    path = tmp_path / "xn.csv"
    path.write_bytes(CBC)
    out = io.StringIO()
    call_command("import_cbc", str(path), "--json", stdout=out)
    summary = json.loads(out.getvalue().strip().splitlines()[-1])
    assert _signed_row(summary["errors"]) == [(2, "specimen_signed", "S-0001")]
    assert SIGNED in summary["errors"][0]["reason"]
    assert summary["results_created"] == 1 and summary["specimens"] == ["S-0002"]

    text = io.StringIO()
    call_command("import_cbc", str(path), stdout=text)  # the words a user reads
    assert "line 2: Specimen S-0001 is signed" in text.getvalue()


def test_the_batch_api_refuses_the_signed_row(client, technician, untouched):
    client.force_login(technician)
    response = client.post("/api/cbc-imports/", {"file": SimpleUploadedFile("xn.csv", CBC)})
    assert response.status_code == 201
    assert _signed_row(response.json()["errors"]) == [(2, "specimen_signed", "S-0001")]
    assert response.json()["specimens"] == ["S-0002"]


def test_the_batch_page_refuses_the_signed_row(client, technician, untouched):
    client.force_login(technician)
    response = client.post("/cbc/import/", {"file": SimpleUploadedFile("xn.csv", CBC)})
    assert response.status_code == 200
    assert any(m.startswith("Line 2: Specimen S-0001 is signed")
               for m in _page_messages(response))
    assert CBCResult.objects.filter(specimen__accession="S-0002").count() == 1


# Reclassification ------------------------------------------------------------------------------

def test_reclassification_is_refused_on_the_case_page(client, biologist, untouched):
    client.force_login(biologist)
    response = client.post(f"/review/{untouched.accession}/reclassify/",
                           json.dumps({"cells": _cell_ids(untouched), "class": "ig"}),
                           content_type="application/json")
    assert response.status_code == 409
    assert response.json()["code"] == "specimen_signed"
    assert SIGNED in response.json()["error"]


def test_reclassification_is_refused_by_the_workflow(biologist, untouched):
    with pytest.raises(workflow.SpecimenSignedError, match=SIGNED):
        workflow.cells_reclassify(actor=biologist, specimen=untouched,
                                  cell_ids=_cell_ids(untouched), new_class="ig")


# An amendment unlocks --------------------------------------------------------------------------

def test_an_amendment_unlocks_every_path(client, technician, biologist, signed, tmp_path,
                                         monkeypatch):
    monkeypatch.setattr("apps.analysis.tasks.analysis_run_execute.delay", lambda *_: None)
    case_amend(actor=biologist, specimen=signed, reason="CBC re-run on a fresh tube")
    signed.refresh_from_db()
    assert specimen_locked_reason(signed) is None

    workflow.cells_reclassify(actor=biologist, specimen=signed, cell_ids=_cell_ids(signed),
                              new_class="ig")
    path = tmp_path / "xn.csv"
    path.write_bytes(CBC)
    out = io.StringIO()
    call_command("import_cbc", str(path), "--json", stdout=out)
    summary = json.loads(out.getvalue().strip().splitlines()[-1])
    assert summary["results_created"] == 2 and summary["errors"] == []

    client.force_login(technician)
    response = client.post(f"/api/specimens/{signed.accession}/uploads/", {"files": [_zip()]})
    assert response.status_code == 201 and response.json()["images_imported"] == 1
    assert client.post(f"/api/specimens/{signed.accession}/analysis/").status_code == 202
