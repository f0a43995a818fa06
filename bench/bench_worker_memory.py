"""Peak memory of an upload and of its analysis, each in a process of its own.

    .venv/bin/python bench/bench_worker_memory.py [--large 32] [--side 6300] [--cells 2000]

Two cases: (a) a zip of ``--large`` PNGs of ``--side`` x ``--side`` pixels (6300: just under the
40-megapixel limit), each a real PBC cell enlarged 3x on a canvas of its background colour; (b)
``--cells`` ordinary PBC cells (CellaVision JPEGs, repeated with a changed pixel when the
dataset has fewer). For each, one child process imports the zip through the app's upload path
(``workflow.smear_upload``, what the page and the API do; the analysis message is not sent), then
another runs the analysis job on it as the worker does (``analysis.services.analysis_run_execute``:
model session, decoding, inference, compact maps, predictions, scores). Each child reports its
own peak resident memory, VmHWM of /proc/self/status (Linux): the high-water mark of the child's
own memory since it started. (``ru_maxrss`` would not do: after fork and exec it starts from the
parent's resident size at the fork.)
Target: under about 1.5 GB for every process. A fresh SQLite file and media folder in a temporary
directory. Prints figures only; nothing here is a test.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
PBC = ROOT.parent / "shared" / "datasets" / "pbc"
TARGET_MB = 1536


def _django(tmp: Path) -> None:
    os.environ["DATA_DIR"] = str(tmp)
    os.environ["DATABASE_URL"] = f"sqlite:///{tmp}/bench.sqlite3"
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "hemaclinic.settings")
    import django

    django.setup()


def child_import(tmp: Path, archive: Path, accession: str) -> dict[str, object]:
    _django(tmp)
    from unittest import mock

    from django.core.files.base import File

    from apps.patients.services import specimen_create
    from apps.workflow.services import smear_upload

    specimen = specimen_create(actor=None, accession=accession)
    # The web process only queues the analysis; here the message is not sent at all (the next
    # child runs the job), so no broker is involved in the figure.
    with mock.patch("apps.analysis.tasks.analysis_run_execute.delay"), \
            archive.open("rb") as fh:
        outcome = smear_upload(actor=None, specimen=specimen, files=[File(fh, name=archive.name)])
    return {"imported": outcome.images_imported, "rejected": len(outcome.rejected),
            "run": outcome.analysis_run_id}


def child_analyse(tmp: Path, run_id: int) -> dict[str, object]:
    _django(tmp)
    from apps.analysis.models import AnalysisRun, CellPrediction
    from apps.analysis.services import analysis_run_execute

    analysis_run_execute(run_id=run_id)
    run = AnalysisRun.objects.get(pk=run_id)
    return {"status": run.status, "error": run.error[:300],
            "predictions": CellPrediction.objects.filter(run=run).count(),
            "timings": run.timings}


def peak_rss_mb() -> float:
    """This process's peak resident memory (VmHWM), in MB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024  # kB
    raise RuntimeError("no VmHWM in /proc/self/status (this bench needs Linux)")


def run_child(*args: str) -> tuple[dict[str, object], float, float]:
    """Run this script as a child; its JSON answer, its peak RSS in MB and its seconds."""
    start = time.perf_counter()
    done = subprocess.run([sys.executable, __file__, *args], stdout=subprocess.PIPE, check=False)
    if done.returncode != 0:
        sys.exit(f"child {args[0]} failed with {done.returncode}")
    answer = json.loads(done.stdout.decode().strip().splitlines()[-1])
    return answer, float(answer.pop("peak_rss_mb")), time.perf_counter() - start


def large_zip(path: Path, n: int, side: int) -> None:
    from PIL import Image

    cells = sorted(PBC.glob("*/*.jpg"))[:: 97][:n]
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for k, cell in enumerate(cells):
            with Image.open(cell) as im:
                small = im.convert("RGB")
            big = small.resize((small.width * 3, small.height * 3), Image.Resampling.BILINEAR)
            canvas = Image.new("RGB", (side, side), small.getpixel((0, 0)))
            canvas.paste(big, ((side - big.width) // 2 + k, (side - big.height) // 2))
            buffer = io.BytesIO()
            canvas.save(buffer, format="PNG")
            zf.writestr(f"export/{cell.parent.name}/large_{k:02d}.png", buffer.getvalue())


def cells_zip(path: Path, n: int) -> None:
    every = sorted(PBC.glob("*/*.jpg"))
    step = max(1, len(every) // n)
    files = every[::step] if len(every) >= n else every  # spread over the class folders
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as zf:
        for k in range(n):
            source = files[k % len(files)]
            data = source.read_bytes()
            if k >= len(files):  # a repeat: made distinct (imports deduplicate by sha256)
                data += f"{k}".encode()
            zf.writestr(f"export/{source.parent.name}/{k:05d}_{source.name}", data)


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] in ("--child-import", "--child-analyse"):
        tmp = Path(sys.argv[2])
        if sys.argv[1] == "--child-import":
            answer = child_import(tmp, Path(sys.argv[3]), sys.argv[4])
        else:
            answer = child_analyse(tmp, int(sys.argv[3]))
        print(json.dumps({**answer, "peak_rss_mb": peak_rss_mb()}))
        return

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--large", type=int, default=32)
    parser.add_argument("--side", type=int, default=6300)
    parser.add_argument("--cells", type=int, default=2000)
    args = parser.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="hemaclinic-mem-"))
    _django(tmp)
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    cases = []
    t = time.perf_counter()
    large_zip(tmp / "large.zip", args.large, args.side)
    cases.append((f"(a) {args.large} PNGs of {args.side}x{args.side}", tmp / "large.zip", "MEM-A"))
    cells_zip(tmp / "cells.zip", args.cells)
    cases.append((f"(b) {args.cells} PBC cells", tmp / "cells.zip", "MEM-B"))
    print(f"inputs written in {time.perf_counter() - t:.0f} s: "
          + ", ".join(f"{p.name} {p.stat().st_size / 1e6:.1f} MB" for _, p, _ in cases))

    worst = 0.0
    for label, archive, accession in cases:
        imported, import_mb, import_s = run_child("--child-import", str(tmp), str(archive),
                                                  accession)
        analysed, analyse_mb, analyse_s = run_child("--child-analyse", str(tmp),
                                                    str(imported["run"]))
        worst = max(worst, import_mb, analyse_mb)
        print(f"{label}: {imported['imported']} imported, {imported['rejected']} rejected; "
              f"analysis {analysed['status']}, {analysed['predictions']} predictions")
        print(f"    peak RSS  import (web process): {import_mb:7.0f} MB  ({import_s:.0f} s)")
        print(f"    peak RSS  analysis (worker):    {analyse_mb:7.0f} MB  ({analyse_s:.0f} s)")
        if analysed["status"] != "succeeded":
            print(f"    error: {analysed['error']}")
    print(f"largest peak: {worst:.0f} MB (target under {TARGET_MB} MB)")
    shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
