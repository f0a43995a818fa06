"""Signing reads the latest analysis run only, and a run whose worker is gone is not "still
running": an older run left "running" by a killed worker never blocks the case."""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone

from apps.analysis.models import AnalysisRun, RunStatus
from apps.review.services import sign_blockers
from apps.workflow.services import case_sign

PASSWORD = "correct-horse-battery"
RUNNING = "The analysis is still running."
NOT_ANALYSED = "The cells have not been analysed yet."


def _run(specimen, status, **fields):  # type: ignore[no-untyped-def]
    return AnalysisRun.objects.create(specimen=specimen, pipeline="cells-v1", status=status,
                                      **fields)


def test_an_older_run_left_running_by_a_dead_worker_does_not_block(biologist, analysed):
    succeeded = AnalysisRun.objects.get(specimen=analysed)
    # Left "running" by a worker killed mid-run; its lease has lapsed, and even while it had not
    # the newer run supersedes it.
    stale = _run(analysed, RunStatus.RUNNING, lease_until=timezone.now() - timedelta(minutes=1))
    AnalysisRun.objects.filter(pk=stale.pk).update(queued_at=succeeded.queued_at
                                                   - timedelta(hours=1))
    assert sign_blockers(analysed) == []
    AnalysisRun.objects.filter(pk=stale.pk).update(
        lease_until=timezone.now() + timedelta(minutes=5))
    assert sign_blockers(analysed) == []
    signature = case_sign(actor=biologist, specimen=analysed, password=PASSWORD,
                          meaning="validated", count_acknowledged=True)
    assert signature.version == 1


def test_the_latest_run_blocks_while_its_worker_holds_it(analysed):
    live = _run(analysed, RunStatus.RUNNING, lease_until=timezone.now() + timedelta(minutes=5))
    assert sign_blockers(analysed) == [RUNNING]
    # Its worker is gone: nothing is running any more, but the cells of the latest request are
    # not analysed until the sweep has run it again.
    AnalysisRun.objects.filter(pk=live.pk).update(
        lease_until=timezone.now() - timedelta(seconds=1))
    assert sign_blockers(analysed) == [NOT_ANALYSED]
    _run(analysed, RunStatus.QUEUED)
    assert sign_blockers(analysed) == [RUNNING]


def test_each_reason_a_case_has_no_analysis_is_said(technician, analysed):
    """Nothing uploaded is not an analysis that failed, and a failed one says so."""
    from apps.patients.services import specimen_create

    empty = specimen_create(actor=technician, accession="S-0099", patient=analysed.patient)
    # That alone: not "No white cell is counted: there is no differential to validate", which
    # asked for a rejection the page then refused.
    assert sign_blockers(empty) == [
        "No smear image has been uploaded: upload the export on the specimen page."]
    # A rejection releases nothing: a case with no smear (none made, a clotted sample) can be
    # rejected.
    assert sign_blockers(empty, meaning="rejected") == []
    _run(analysed, RunStatus.FAILED)
    assert sign_blockers(analysed) == [
        "The analysis of the cells failed: start it again on the specimen page."]


def test_a_case_without_a_smear_is_rejected(technician, biologist, settings, tmp_path,
                                            django_capture_on_commit_callbacks):
    """Signed as rejected, with its result message saying the order has no result."""
    settings.LIS_OUTBOX_DIR = str(tmp_path / "outbox")
    from apps.patients.services import patient_create, specimen_create
    from apps.reports.models import ResultMessage
    from apps.workflow import services as workflow

    patient = patient_create(actor=technician, external_id="MRN-9", sex="F")
    empty = specimen_create(actor=technician, accession="S-0098", patient=patient)
    with django_capture_on_commit_callbacks(execute=True):
        signature = workflow.case_sign(actor=biologist, specimen=empty,
                                       password="correct-horse-battery", meaning="rejected",
                                       comment="Sample clotted: no smear made.")
    assert signature.meaning == "rejected"
    import hl7

    message = hl7.parse(ResultMessage.objects.get(signature=signature).message)
    assert str(message.segment("OBR")[25]) == "X"      # the order has no result
    assert "23761-0" not in str(message)                # and no differential
