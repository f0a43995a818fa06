"""Import + analysis against score_cells on the same cells, in one run.

    .venv/bin/python bench/bench_import_analysis.py [--n 100] [--repeat 3]

(a) ``score_folder`` (what ``manage.py score_cells DIR`` runs) over N real PBC cells in a folder;
(b) the same N cells as a CellaVision-style zip through the app's one upload path
(``workflow.smear_upload``: read, validate, store) with the analysis job run eagerly on commit
(inference, compact Grad-CAM maps, predictions, scores). Both share one warm model session, so
neither pays the session start-up. The two alternate, ``--repeat`` times; prints the median of
each, and the median of the pairwise ratios (b) / (a) (steadier on a shared machine); the target
is at most 1.5. A fresh SQLite file and media folder in a temporary
directory unless DATABASE_URL / DATA_DIR are set. Prints figures only; nothing here is a test.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import time
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
PBC = ROOT.parent / "shared" / "datasets" / "pbc"


def sample_cells(pbc: Path, n: int) -> list[Path]:
    """N cells spread over every class folder (sorted, so the same cells every run)."""
    files = sorted(pbc.glob("*/*.jpg"))
    if len(files) < n:
        sys.exit(f"only {len(files)} images under {pbc}; {n} needed (see ../shared/datasets)")
    step = len(files) // n
    return files[::step][:n]


def write_inputs(cells: list[Path], work: Path) -> tuple[Path, Path]:
    """The cells as a folder (class/name.jpg) and as a CellaVision-style zip of that folder."""
    folder = work / "cells"
    archive = work / "export.zip"
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as zf:
        for path in cells:
            target = folder / path.parent.name / path.name
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, target)
            zf.write(path, f"export/{path.parent.name}/{path.name}")
    return folder, archive


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=100)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--images", type=Path, default=PBC)
    args = parser.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="hemaclinic-bench-"))
    os.environ.setdefault("DATA_DIR", str(tmp))
    os.environ.setdefault("DATABASE_URL", f"sqlite:///{tmp}/bench.sqlite3")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "hemaclinic.settings")
    os.environ["CELERY_TASK_ALWAYS_EAGER"] = "1"  # the job runs in this process, on commit
    import logging

    import django

    django.setup()
    from django.conf import settings
    from django.core.files.base import File
    from django.core.management import call_command

    from apps.analysis.models import AnalysisRun, CellPrediction, RunStatus
    from apps.analysis.pipeline import get_runner
    from apps.ml.score_cells import score_folder
    from apps.patients.services import specimen_create
    from apps.workflow.services import smear_upload

    call_command("migrate", verbosity=0)
    logging.getLogger("celery").setLevel(logging.WARNING)  # no line per eager task
    cells = sample_cells(args.images, args.n)
    folder, archive = write_inputs(cells, tmp)
    runner = get_runner()  # the worker's cached model: score_cells gets the same instance
    model = runner.model
    # Warm the session (first-run allocations) outside both timings.
    score_folder(folder, tmp / "warm.csv", model=model, batch_size=runner.batch_size)

    load = os.getloadavg()[0]
    scorer_s: list[float] = []
    app_s: list[float] = []
    scorer_cpu: list[float] = []  # CPU seconds of this process: steadier when cores are shared
    app_cpu: list[float] = []
    stages: dict[str, float] = {}
    for k in range(args.repeat):
        t, c = time.perf_counter(), time.process_time()
        summary = score_folder(folder, tmp / f"cells-{k}.csv", model=model,
                               batch_size=runner.batch_size)
        scorer_s.append(time.perf_counter() - t)
        scorer_cpu.append(time.process_time() - c)
        assert summary.scored == args.n, summary

        specimen = specimen_create(actor=None, accession=f"BENCH-{k}")
        t, c = time.perf_counter(), time.process_time()
        with archive.open("rb") as fh:
            outcome = smear_upload(actor=None, specimen=specimen,
                                   files=[File(fh, name=archive.name)])
        app_s.append(time.perf_counter() - t)
        app_cpu.append(time.process_time() - c)
        run = AnalysisRun.objects.get(pk=outcome.analysis_run_id)
        if run.status != RunStatus.SUCCEEDED:
            sys.exit(f"the analysis did not succeed: {run.status} {run.error}")
        predicted = CellPrediction.objects.filter(run=run).count()
        assert outcome.images_imported == predicted == args.n, (outcome, predicted)
        stages = run.timings

    def pairs(x: list[float], y: list[float]) -> float:
        return statistics.median(b / a for a, b in zip(x, y, strict=True))

    def runs(x: list[float]) -> str:
        return ", ".join(f"{v:.2f}" for v in x)

    print(f"{args.n} PBC cells, batch {runner.batch_size}, ML_THREADS {settings.ML_THREADS}, "
          f"{args.repeat} runs each, alternating; load average before: {load:.2f} on "
          f"{os.cpu_count()} cores")
    print(f"(a) score_cells (score_folder):     wall {statistics.median(scorer_s):5.2f} s "
          f"[{runs(scorer_s)}]  cpu {statistics.median(scorer_cpu):5.2f} s")
    print(f"(b) upload + analysis job (eager):  wall {statistics.median(app_s):5.2f} s "
          f"[{runs(app_s)}]  cpu {statistics.median(app_cpu):5.2f} s")
    print(f"    last run's stages: {stages}")
    print(f"ratio (b) / (a), median of the pairs: wall {pairs(scorer_s, app_s):.2f}, "
          f"cpu {pairs(scorer_cpu, app_cpu):.2f}  (target <= 1.5)")
    shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
