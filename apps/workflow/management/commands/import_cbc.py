from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from apps.core.errors import ImportRefusedError
from apps.hemograms.parsers import MAX_CBC_BYTES
from apps.workflow import services


class Command(BaseCommand):
    help = "Import a CBC file (Sysmex XN CSV, HL7 v2 ORU^R01 or the generic CSV)."

    def add_arguments(self, parser):  # type: ignore[no-untyped-def]
        parser.add_argument("file", type=Path)
        parser.add_argument("--format", choices=["sysmex", "hl7", "csv"], default=None)
        parser.add_argument("--json", action="store_true", help="end with a JSON summary line")

    def handle(self, *args, file: Path, format: str | None, **options) -> None:  # type: ignore[no-untyped-def]
        try:
            if not file.is_file():
                raise ImportRefusedError(f"{file} is not a file.")
            if file.stat().st_size > MAX_CBC_BYTES:
                raise ImportRefusedError(f"{file} is larger than the CBC file limit.")
            outcome = services.cbc_import(actor=None, data=file.read_bytes(),
                                          file_name=file.name, format=format)
        except ImportRefusedError as exc:
            if options["json"]:
                self.stdout.write(json.dumps({"refused": str(exc)}))
            raise CommandError(f"CBC file refused, nothing was imported: {exc}") from exc
        if options["json"]:
            self.stdout.write(json.dumps(asdict(outcome), ensure_ascii=False))
            return
        self.stdout.write(
            f"{outcome.format}: {outcome.results_created} result(s) imported, "
            f"{outcome.duplicates} already present, {outcome.held} held for a signed case, "
            f"{len(outcome.errors) - outcome.held} row error(s).")
        for warning in outcome.warnings:
            self.stdout.write(f"  note: {warning}")
        for error in outcome.errors:
            self.stdout.write(f"  line {error['line']}: {error['reason']}")
