from __future__ import annotations

from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError


class Command(BaseCommand):
    help = (
        "Classify every image under DIR with the registered cell model and write one CSV row "
        "per file (unreadable files get an error row)."
    )

    def add_arguments(self, parser):  # type: ignore[no-untyped-def]
        parser.add_argument("directory", type=Path)
        parser.add_argument("--out", type=Path, required=True, help="CSV file to write")
        parser.add_argument("--batch-size", type=int, default=32)
        parser.add_argument("--threads", type=int, default=None,
                            help="onnxruntime threads (default: settings.ML_THREADS)")

    def handle(self, *args, directory: Path, out: Path, batch_size: int,  # type: ignore[no-untyped-def]
               threads: int | None, **options) -> None:
        from apps.ml.cards import CardError
        from apps.ml.cells import load_default
        from apps.ml.score_cells import score_folder

        if not directory.is_dir():
            raise CommandError(f"{directory} is not a directory.")
        if batch_size < 1:
            raise CommandError("--batch-size must be at least 1.")
        threads = settings.ML_THREADS if threads is None else threads
        if threads < 1:
            raise CommandError("--threads must be at least 1.")
        try:
            model = load_default(settings.MODELS_ONNX_DIR, threads=threads)
        except CardError as exc:
            raise CommandError(f"The cell model cannot be loaded: {exc}") from exc
        if model is None:
            raise CommandError(f"No cell model is registered in {settings.MODELS_ONNX_DIR}.")
        summary = score_folder(directory, out, model=model, batch_size=batch_size,
                               progress=True)
        prov = model.provenance
        self.stdout.write(
            f"{summary.files} files, {summary.scored} scored, {summary.errors} unreadable, "
            f"{summary.seconds:.1f} s -> {out} ({prov['name']} {prov['version']}, "
            f"sha256 {prov['sha256'][:12]})"
        )
        self.stdout.write(domain_line(summary.domain))


def domain_line(domain) -> str:  # type: ignore[no-untyped-def]
    from apps.ml.domain import SPECIMEN_OUTSIDE, SPECIMEN_UNCHECKED

    if domain is None or domain.code == SPECIMEN_UNCHECKED:
        return "Domain check: not available for this model (no validated domain statistics)."
    share = f"{domain.outside} of {domain.cells} images outside the validated domain"
    if domain.code == SPECIMEN_OUTSIDE:
        return (f"WARNING: these images are outside the domain the model was validated on "
                f"({share}; limit {domain.max_outside:.0%}). Classifications and the scores "
                f"that depend on them are not reliable for this folder.")
    return f"Domain check: inside the validated domain ({share})."

