from __future__ import annotations

from django.core.management.base import BaseCommand

from apps.analysis.services import analysis_runs_sweep


class Command(BaseCommand):
    help = (
        "Queue again (or fail, past ANALYSIS_MAX_ATTEMPTS) the analysis runs whose worker is "
        "gone, and send again the runs whose message was lost. Workers already do this when "
        "they start and every ANALYSIS_SWEEP_SECONDS; safe to run at any time, from cron too."
    )

    def handle(self, *args, **options) -> None:  # type: ignore[no-untyped-def]
        outcome = analysis_runs_sweep()
        self.stdout.write(
            f"re-queued: {len(outcome.requeued)} {list(outcome.requeued)}; "
            f"failed: {len(outcome.failed)} {list(outcome.failed)}; "
            f"sent again: {len(outcome.resent)} {list(outcome.resent)}")
