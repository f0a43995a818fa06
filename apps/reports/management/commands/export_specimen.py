from __future__ import annotations

import json

from django.core.management.base import BaseCommand, CommandError

from apps.patients.models import Specimen
from apps.reports.selectors import specimen_document


class Command(BaseCommand):
    help = ("Print a specimen as one JSON document: CBC, cells (prediction, final class, "
            "reviewer), analysis runs, scores, differential, conclusion, signature, result "
            "messages.")

    def add_arguments(self, parser):  # type: ignore[no-untyped-def]
        parser.add_argument("accession")

    def handle(self, *args, accession: str, **options) -> None:  # type: ignore[no-untyped-def]
        specimen = Specimen.objects.filter(accession=accession).first()
        if specimen is None:
            raise CommandError(f"No specimen with accession {accession!r}.")
        self.stdout.write(json.dumps(specimen_document(specimen), indent=2, ensure_ascii=False))
