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
    assert sign_blockers(empty)[0] == (
        "No smear image has been uploaded: upload the export on the specimen page.")
    assert not any("analys" in b for b in sign_blockers(empty))
    _run(analysed, RunStatus.FAILED)
    assert sign_blockers(analysed) == [
        "The analysis of the cells failed: start it again on the specimen page."]
