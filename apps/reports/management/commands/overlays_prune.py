from __future__ import annotations

from django.core.management.base import BaseCommand

from apps.reports.services import overlay_files_prune


class Command(BaseCommand):
    help = (
        "Delete the Grad-CAM overlay files (cams/overlays/) that no cell's newest prediction "
        "draws and no signed report names, and the bounded copies of large key cells "
        "(cells/bounded/) no signed report names: a re-analysis leaves the old ones behind. "
        "Prints each file and its bytes; --dry-run deletes nothing."
    )

    def add_arguments(self, parser):  # type: ignore[no-untyped-def]
        parser.add_argument("--dry-run", action="store_true",
                            help="list what would be removed, remove nothing")

    def handle(self, *args, dry_run: bool, **options) -> None:  # type: ignore[no-untyped-def]
        files = overlay_files_prune(dry_run=dry_run)
        verb = "would remove" if dry_run else "removed"
        for stored in files:
            self.stdout.write(f"{verb} {stored.name} ({stored.size} bytes)")
        self.stdout.write(f"{verb} {len(files)} files, {sum(f.size for f in files)} bytes")
