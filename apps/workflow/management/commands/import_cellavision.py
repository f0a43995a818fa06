from __future__ import annotations

import json
from pathlib import Path

from django.core.files.base import File
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from apps.core.errors import ImportRefusedError
from apps.patients.services import specimen_get_or_create
from apps.smears import services as smear_services
from apps.smears.models import UploadKind
from apps.workflow import services


class Command(BaseCommand):
    help = "Import a CellaVision export (zip or folder) as the cells of a specimen."

    def add_arguments(self, parser):  # type: ignore[no-untyped-def]
        parser.add_argument("path", type=Path)
        parser.add_argument("--specimen", required=True, help="accession number (created if new)")
        parser.add_argument("--json", action="store_true", help="end with a JSON summary line")

    def handle(self, *args, path: Path, specimen: str, **options) -> None:  # type: ignore[no-untyped-def]
        as_json = options["json"]
        try:
            if path.is_dir():
                read = smear_services.UploadRead(kind=UploadKind.FOLDER, original_name=path.name,
                                           batch=smear_services.smear_read_folder(path=path))
            elif path.is_file():
                # The same reading as the page and the API: the kind comes from the content.
                with path.open("rb") as fh:
                    read = smear_services.smear_upload_read(files=[File(fh, name=path.name)])
            else:
                raise ImportRefusedError(f"{path} is neither a file nor a folder.")
            with transaction.atomic():  # a refused import leaves no new specimen behind
                target, _ = specimen_get_or_create(actor=None, accession=specimen)
                outcome = services.smear_import(actor=None, specimen=target, batch=read.batch,
                                                kind=read.kind, original_name=read.original_name)
        except ImportRefusedError as exc:
            if as_json:
                self.stdout.write(json.dumps({"specimen": specimen, "refused": str(exc),
                                              "images_imported": 0, "duplicates": 0,
                                              "rejected": []}))
            raise CommandError(f"Import refused, nothing was imported: {exc}") from exc
        summary = outcome.as_dict()
        if not as_json:
            self.stdout.write(
                f"{outcome.images_imported} image(s) imported into {outcome.specimen}, "
                f"{len(outcome.duplicates)} duplicate(s), {len(outcome.rejected)} rejected.")
            for item in outcome.rejected:
                self.stdout.write(f"  rejected {item['file']}: {item['reason']}")
        else:
            self.stdout.write(json.dumps(summary, ensure_ascii=False))
