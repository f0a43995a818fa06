from __future__ import annotations

from django.core.management.base import BaseCommand

from apps.analysis.services import scores_recompute_open


class Command(BaseCommand):
    help = (
        "Recompute the scores of every specimen not yet signed, after an upgrade that changed a "
        "score's rules or model (signed cases are left as signed). Safe to run at any time."
    )

    def handle(self, *args, **options) -> None:  # type: ignore[no-untyped-def]
        specimens, stored = scores_recompute_open()
        self.stdout.write(f"specimens read: {specimens}; score revisions stored: {stored}")
