"""At signing, the HL7 v2.5 ORU^R01 result message is built from the signed content, stored with
its sha256 (append-only), and written to the outbox folder for the lab's interface engine: one
file per message, atomically, mode 0600, named by its control id. Read back with `hl7`."""

from __future__ import annotations

import hashlib
import stat

import hl7
import pytest
from django.db import transaction

from apps.analysis.models import AnalysisRun, RunStatus
from apps.reports.models import ResultMessage
from apps.reports.services import ReportError, result_message_outbox_write
from apps.review.models import Signature
from apps.review.services import case_amend
from apps.workflow.services import case_sign
from tests.reports.conftest import confirm_scanner_disagreements

PASSWORD = "correct-horse-battery"


@pytest.fixture
def outbox(settings, tmp_path):  # type: ignore[no-untyped-def]
    settings.LIS_OUTBOX_DIR = str(tmp_path / "outbox")
    return tmp_path / "outbox"


@pytest.fixture
def make_specimen(make_specimen):  # type: ignore[no-untyped-def]
    """The report fixture's specimen, ready to sign: the run its import queued (never started
    in a test) is dropped, the finished one stays, the cells the scanner classed otherwise are
    read."""
    def make(**kw):  # type: ignore[no-untyped-def]
        specimen = make_specimen(**kw)
        AnalysisRun.objects.filter(specimen=specimen, status=RunStatus.QUEUED).delete()
        confirm_scanner_disagreements(specimen)
        return specimen
    return make


def _sign(specimen, signer, capture, **kw):  # type: ignore[no-untyped-def]
    with capture(execute=True):
        return case_sign(actor=signer, specimen=specimen, password=PASSWORD,
                         meaning=kw.pop("meaning", "validated"), count_acknowledged=True,
                         comment=kw.pop("comment", "Neutrophilie réactionnelle."), **kw)


def test_signing_stores_the_message_and_writes_it_to_the_outbox(
        make_specimen, signer, outbox, django_capture_on_commit_callbacks):
    signature = _sign(make_specimen(), signer, django_capture_on_commit_callbacks)
    message = ResultMessage.objects.get(signature=signature)
    assert message.control_id == "H25-0001-v1"
    assert message.sha256 == hashlib.sha256(message.message.encode()).hexdigest()
    files = sorted(p.name for p in outbox.iterdir())
    assert files == ["H25-0001-v1.hl7"]  # no temporary file left behind
    path = outbox / files[0]
    assert path.read_bytes() == message.message.encode()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600

    msg = hl7.parse(path.read_bytes().decode())  # CR-separated: no newline translation
    assert str(msg.segment("MSH")[10]) == "H25-0001-v1"
    assert str(msg.segment("PID")[3][0][0]) == "MRN-77"
    obr = msg.segment("OBR")
    assert str(obr[3]) == "H25-0001" and str(obr[25]) == "F"
    assert str(obr[32]) == "cmartin&Martin&Claire"
    values = {str(o[3][0][0]): float(str(o[5])) for o in msg.segments("OBX")}
    # The validated differential as signed: 2 neutrophils, 1 monocyte, 1 lymphocyte.
    differential = signature.content["differential"]
    assert values["23761-0"] == differential["per_100_wbc"]["neutrophil"] == 50.0
    assert values["737-7"] == values["744-3"] == 25.0
    assert values["HC-WBC-COUNTED"] == differential["wbc_counted"] == 4
    assert values["18309-5"] == differential["nrbc_per_100_wbc"] == 0.0
    notes = [msg.unescape(str(n[3])) for n in msg.segments("NTE")]
    assert "Neutrophilie réactionnelle." in notes
    assert f"Signed content sha256 {signature.content_sha256}" in notes


def test_nothing_is_produced_before_the_signature_is_committed(make_specimen, signer, outbox,
                                                               django_capture_on_commit_callbacks):
    specimen = make_specimen()
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        case_sign(actor=signer, specimen=specimen, password=PASSWORD, meaning="validated",
                  count_acknowledged=True)
    assert callbacks and not ResultMessage.objects.exists() and not outbox.exists()

    class Abort(Exception):
        pass

    with (django_capture_on_commit_callbacks(execute=True), pytest.raises(Abort),
          transaction.atomic()):
        case_amend(actor=signer, specimen=specimen, reason="recount")
        case_sign(actor=signer, specimen=specimen, password=PASSWORD, meaning="validated",
                  count_acknowledged=True)
        raise Abort
    assert not ResultMessage.objects.exists()


def test_an_amendment_is_a_new_corrected_message_and_messages_never_change(
        make_specimen, signer, outbox, django_capture_on_commit_callbacks):
    specimen = make_specimen()
    first = _sign(specimen, signer, django_capture_on_commit_callbacks)
    case_amend(actor=signer, specimen=specimen, reason="Lymphocyte recount")
    second = _sign(specimen, signer, django_capture_on_commit_callbacks)
    assert sorted(p.name for p in outbox.iterdir()) == ["H25-0001-v1.hl7", "H25-0001-v2.hl7"]
    v2 = hl7.parse((outbox / "H25-0001-v2.hl7").read_bytes().decode())
    assert str(v2.segment("OBR")[25]) == "C"
    assert "Amendment: Lymphocyte recount" in [v2.unescape(str(n[3]))
                                               for n in v2.segments("NTE")]
    stored = ResultMessage.objects.get(signature=first)
    stored.message = "MSH|tampered"
    with pytest.raises(ValueError):
        stored.save()
    assert ResultMessage.objects.filter(signature=second).count() == 1


def test_an_existing_outbox_file_is_never_overwritten(make_specimen, signer, outbox,
                                                      django_capture_on_commit_callbacks):
    signature = _sign(make_specimen(), signer, django_capture_on_commit_callbacks)
    message = ResultMessage.objects.get(signature=signature)
    path = outbox / "H25-0001-v1.hl7"
    assert result_message_outbox_write(message=message) == path  # same bytes: already delivered
    path.write_bytes(b"MSH|other")
    with pytest.raises(ReportError):
        result_message_outbox_write(message=message)
    assert path.read_bytes() == b"MSH|other"


def test_an_empty_outbox_setting_stores_the_message_and_writes_no_file(
        make_specimen, signer, settings, tmp_path, django_capture_on_commit_callbacks):
    settings.LIS_OUTBOX_DIR = ""
    signature = _sign(make_specimen(), signer, django_capture_on_commit_callbacks)
    assert ResultMessage.objects.filter(signature=signature).exists()
    assert Signature.objects.count() == 1
