from __future__ import annotations

from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from apps.patients.models import Specimen
from apps.reports import selectors, services
from apps.reports.models import ReportStatus


class Command(BaseCommand):
    help = ("Render the validation report of a signed specimen now (latest signature, or "
            "--version) and write the stored PDF to a file.")

    def create_parser(self, prog_name, subcommand, **kwargs):  # type: ignore[no-untyped-def]
        # --version here is the report version, not Django's: let ours replace it.
        return super().create_parser(prog_name, subcommand, conflict_handler="resolve", **kwargs)

    def add_arguments(self, parser):  # type: ignore[no-untyped-def]
        parser.add_argument("accession")
        parser.add_argument("--lang", required=True,
                            choices=[code for code, _name in settings.LANGUAGES])
        parser.add_argument("--out", required=True, type=Path, help="the PDF file to write")
        parser.add_argument("--version", dest="report_version", type=int,
                            help="signature version (default: the latest)")

    def handle(self, *args, accession: str, lang: str, out: Path,  # type: ignore[no-untyped-def]
               report_version: int | None, **options) -> None:
        specimen = Specimen.objects.filter(accession=accession).first()
        if specimen is None:
            raise CommandError(f"No specimen {accession!r}.")
        signatures = specimen.signatures.order_by("-version")
        if report_version is not None:
            signatures = signatures.filter(version=report_version)
        signature = signatures.first()
        if signature is None:
            raise CommandError(
                f"Specimen {accession} has no signature"
                + (f" version {report_version}." if report_version is not None else ": "
                   "a biologist must sign the case before a report can be printed."))
        report = services.report_generate(signature=signature, language=lang, actor=None)
        if report.status != ReportStatus.READY:
            raise CommandError(f"The report could not be rendered: {report.error}")
        data = selectors.report_pdf_bytes(report)
        out.write_bytes(data)
        self.stdout.write(f"{out}: report of {accession} version {signature.version} ({lang}), "
                          f"{len(data)} bytes, sha256 {report.sha256}")
