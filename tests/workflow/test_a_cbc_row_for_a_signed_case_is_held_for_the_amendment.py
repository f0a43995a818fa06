"""A CBC row that arrives for a signed case is not lost and does not change the signed result:
it is held with its file, the case page says so and the signed case is back on the worklist;
once the case is amended a biologist attaches it (read again from the stored file) and its
scores are recomputed, or leaves it out with a reason. The same row sent twice is held once."""

from __future__ import annotations

import pytest
from django.contrib.messages import get_messages
from django.core.files.uploadedfile import SimpleUploadedFile

from apps.analysis.selectors import specimen_document
from apps.core.errors import ImportRefusedError
from apps.core.models import AuditEvent
from apps.hemograms.models import CBCResult, HeldCBCRecord
from apps.hemograms.services import cbc_held_leave_out
from apps.review.selectors import worklist
from apps.review.services import case_amend
from apps.workflow import services as workflow

PASSWORD = "correct-horse-battery"
CBC = (b"Sample No.,Date,Time,WBC(10^9/L),HGB(g/dL),MCV(fL),PLT(10^9/L)\r\n"
       b"S-0001,2026/11/20,08:00:00,3.0,9.5,106.0,90\r\n"
       b"S-0002,2026/11/20,08:05:00,5.1,13.9,91.0,250\r\n")


@pytest.fixture
def signed(biologist, analysed):  # type: ignore[no-untyped-def]
    workflow.case_sign(actor=biologist, specimen=analysed, password=PASSWORD,
                       meaning="validated", count_acknowledged=True)
    analysed.refresh_from_db()
    return analysed


def test_the_row_is_held_not_attached_and_the_page_says_so(client, technician, signed):
    outcome = workflow.cbc_import(actor=technician, data=CBC, file_name="xn.csv")
    assert outcome.results_created == 1 and outcome.specimens == ["S-0002"]
    row = next(e for e in outcome.errors if e["line"] == 2)
    assert row["held"] is True and "to attach after an amendment" in str(row["reason"])
    assert not CBCResult.objects.filter(specimen=signed).exists()
    held = HeldCBCRecord.objects.get(specimen=signed)
    assert (held.source_line, held.source.file_name, held.attached_result) == (2, "xn.csv", None)
    assert AuditEvent.objects.filter(action="cbc.hold").count() == 1

    assert outcome.held == 1
    client.force_login(technician)
    page = client.post("/cbc/import/", {"file": SimpleUploadedFile("xn.csv", CBC)})
    text = " ".join(page.content.decode().split())
    assert "Sysmex XN CSV · imported: 0; already present: 1 · 1 row held for a signed case (its " \
        "case page lists it)" in text
    assert "CBC results imported: 0; already present: 1; held for a signed case: 1; rows with " \
        "errors: 0." in text
    again = workflow.cbc_import(actor=technician, data=CBC, file_name="xn-again.csv")
    assert again.duplicates == 1 and HeldCBCRecord.objects.count() == 1  # held once
    assert "already kept with the case" in str(again.errors[0]["reason"])

    assert signed in worklist()  # signed, yet waiting again for a biologist
    flag = signed.flags.get(name="cbc_after_signing")
    assert flag.weight == 3 and flag.reason == {"code": "cbc_held", "params": {"n": 1}}

    client.force_login(technician)
    page = client.get(f"/review/{signed.accession}/").content.decode()
    assert 'id="held-cbc"' in page and "line 2 of xn.csv" in page
    # What the biologist decides on without opening the file: its time and key values, with
    # the decimals the analyser gave them (MCV 106.0) and their short names.
    assert "measured" in page and "Hb 9.5&nbsp;g/dL" in page
    assert "Platelets 90&nbsp;×10⁹/L" in page and "MCV 106.0&nbsp;fL" in page
    assert "Amend the case to attach them" in page
    assert "Attach to the case" not in page  # a signed case takes nothing
    page = client.get("/worklist/").content.decode()
    assert "1 blood count received after signing" in page


def test_a_biologist_may_leave_it_out_with_a_reason(client, technician, biologist, signed):
    workflow.cbc_import(actor=technician, data=CBC, file_name="xn.csv")
    held = HeldCBCRecord.objects.get(specimen=signed)
    with pytest.raises(ImportRefusedError, match="Say why"):
        cbc_held_leave_out(actor=biologist, held=held, reason="  ")
    client.force_login(biologist)
    response = client.post(f"/review/{signed.accession}/cbc-held/{held.pk}/leave-out/",
                           {"reason": "repeat on the same tube, no change"})
    assert response.status_code == 302
    held.refresh_from_db()
    assert held.left_out_reason == "repeat on the same tube, no change"
    exported = specimen_document(signed)["cbc_held"]
    assert [(h["source_line"], h["attached_result"], h["left_out_reason"]) for h in exported] \
        == [(2, None, "repeat on the same tube, no change")]
    assert AuditEvent.objects.filter(action="cbc.held_left_out").count() == 1
    signed.refresh_from_db()
    assert signed.status == "validated" and not signed.flags.filter(
        name="cbc_after_signing").exists()
    assert signed not in worklist()
    assert 'id="held-cbc"' not in client.get(f"/review/{signed.accession}/").content.decode()
    case_amend(actor=biologist, specimen=signed, reason="checking the later count")
    with pytest.raises(ImportRefusedError, match="left out"):
        workflow.cbc_held_attach(actor=biologist, held=held)


def test_after_the_amendment_a_biologist_attaches_it(client, technician, biologist, signed):
    workflow.cbc_import(actor=technician, data=CBC, file_name="xn.csv")
    held = HeldCBCRecord.objects.get(specimen=signed)
    with pytest.raises(ImportRefusedError, match="is signed"):
        workflow.cbc_held_attach(actor=biologist, held=held)

    case_amend(actor=biologist, specimen=signed, reason="a CBC arrived after signing")
    client.force_login(technician)  # a technician sees it, cannot attach it
    assert client.post(f"/review/{signed.accession}/cbc-held/{held.pk}/attach/").status_code \
        == 403
    client.force_login(biologist)
    page = client.get(f"/review/{signed.accession}/").content.decode()
    assert "Attach to the case" in page
    response = client.post(f"/review/{signed.accession}/cbc-held/{held.pk}/attach/")
    assert response.status_code == 302
    assert any("now part of the case" in str(m) for m in get_messages(response.wsgi_request))

    result = CBCResult.objects.get(specimen=signed)
    values = {v.code: v for v in result.values.all()}
    assert values["HGB"].value == 9.5 and values["HGB"].flag == "L"
    assert (result.source_line, result.source.file_name) == (2, "xn.csv")
    held.refresh_from_db()
    assert held.attached_result == result
    assert AuditEvent.objects.filter(action="cbc.attach_held").count() == 1
    assert 'id="held-cbc"' not in client.get(f"/review/{signed.accession}/").content.decode()
    assert not signed.flags.filter(name="cbc_after_signing").exists()
    with pytest.raises(ImportRefusedError, match="already part of the case"):
        workflow.cbc_held_attach(actor=biologist, held=held)
