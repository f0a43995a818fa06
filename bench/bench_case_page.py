"""Server time of the case page (the biologist's review of one specimen) for a large case.

    .venv/bin/python bench/bench_case_page.py [--cells 200] [--requests 50] [--previous 5]
        [--data-dir DIR] [--html page.html] [--show-queries] [--profile out.prof]

Builds, in a fresh SQLite database under a temporary DATA_DIR (or in --data-dir, where a later
run times the case already built: two versions of the code timed on one case), a patient with
`--previous` earlier specimens (each with a CBC) and one specimen analysed as the app does: a
CellaVision-style zip of `--cells` real PBC images imported through the workflow, the
registered cell model run over every cell (Celery eager, so in this process), a CBC imported
and a few cells reclassified by a biologist. CBC values are real patient counts from
../shared/datasets/wbs_cbc. Then prints the median (p50) and p90 server time of
GET /review/<accession>/ measured with Django's test client (middleware, queries, template; no
network), the same in CPU time of this process (the figure to compare when other processes
share the cores), the time spent in full (generation 2) garbage collections during the renders
(what makes p90 above p50), the number of SQL queries of one render and the size of the HTML.
Target (#14): under 60 ms for 200 cells, with a query count that does not grow with the cells.
Last, the same figures for GET /review/<accession>/cells/<id>/, the request the large-cell pane
makes for a cell when it is first shown (not part of the page's time), over `--requests` cells.
"""

from __future__ import annotations

import argparse
import csv
import gc
import io
import os
import statistics
import sys
import tempfile
import time
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
DATASETS = ROOT.parent / "shared" / "datasets"
ACCESSION = "CASE-1"
CLASSES = ("neutrophil", "lymphocyte", "monocyte", "eosinophil", "basophil", "ig",
           "erythroblast", "platelet")


def export_zip(cells: int) -> bytes:
    """A CellaVision-style export: class folders of real PBC images, `cells` in all."""
    per_class, extra = divmod(cells, len(CLASSES))
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for i, cls in enumerate(CLASSES):
            n = per_class + (1 if i < extra else 0)
            files = sorted((DATASETS / "pbc" / cls).glob("*.jpg"))[:n]
            if len(files) < n:
                sys.exit(f"need {n} images in {DATASETS / 'pbc' / cls}")
            for path in files:
                archive.write(path, f"export/{cls}/{path.name}")
    return buffer.getvalue()


def cbc_csv(accession: str, row: dict[str, str], measured_at: str) -> bytes:
    """A generic CSV holding one real blood count of the Haemorasis study (wbs_cbc)."""
    wbc = float(row["wbc_ul"]) / 1000
    neut = wbc * (float(row["stabs_perc"]) + float(row["segs_perc"])) / 100
    header = "accession,measured_at,WBC(10^9/L),HGB(g/dL),PLT(10^9/L),NEUT#(10^9/L),NEUT%(%)," \
             "LYMPH%(%),MONO%(%),EO%(%),BASO%(%)"
    lymph = float(row["lymphocytes_small_perc"]) + float(row["lymphocytes_large_perc"])
    values = [accession, measured_at, f"{wbc:.2f}", row["hb_g_dl"],
              f"{float(row['plt_ul']) / 1000:.0f}", f"{neut:.2f}",
              f"{float(row['stabs_perc']) + float(row['segs_perc']):.1f}", f"{lymph:.1f}",
              row["monocytes_perc"], row["eosinophil_perc"], row["basophil_perc"]]
    return f"{header}\n{','.join(values)}\n".encode()


def build_case(*, cells: int, previous: int) -> None:
    """The patient, its earlier specimens and the analysed case, through the app's services."""
    from datetime import timedelta

    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Group
    from django.db import connection
    from django.utils import timezone

    from apps.analysis.models import AnalysisRun
    from apps.patients.services import patient_create, specimen_create
    from apps.smears.models import Cell
    from apps.smears.services import smear_read_upload
    from apps.workflow import services as workflow

    users = get_user_model().objects
    technician = users.create_user("tech", password=None)
    technician.groups.add(Group.objects.get_or_create(name="technician")[0])
    biologist = users.create_user("bio", password=None)
    biologist.groups.add(Group.objects.get_or_create(name="biologist")[0])

    with (DATASETS / "wbs_cbc" / "blood_count_data.csv").open(newline="") as fh:
        # Some counts are incomplete ("n.k." for not known): only complete ones are used.
        counts = [row for row in csv.DictReader(fh)
                  if all(v.replace(".", "", 1).isdigit() for k, v in row.items() if k != "id")]
    t0 = time.perf_counter()
    patient = patient_create(actor=technician, external_id="MRN-BENCH", sex="F")
    now = timezone.now()
    for i in range(previous):
        accession = f"PREV-{i:03d}"
        when = now - timedelta(days=30 * (previous - i))
        specimen_create(actor=technician, accession=accession, patient=patient,
                        collected_at=when)
        workflow.cbc_import(actor=technician, data=cbc_csv(accession, counts[i], when.isoformat()))
    specimen = specimen_create(actor=technician, accession=ACCESSION, patient=patient,
                               collected_at=now)
    workflow.cbc_import(actor=technician,
                        data=cbc_csv(specimen.accession, counts[previous], now.isoformat()))
    batch = smear_read_upload(name="export.zip", fileobj=io.BytesIO(export_zip(cells)))
    workflow.smear_import(actor=technician, specimen=specimen, batch=batch)
    run = AnalysisRun.objects.filter(specimen=specimen).latest("pk")
    if run.status != "succeeded":
        sys.exit(f"the analysis did not succeed: {run.status} {run.error}")
    specimen.refresh_from_db()
    cell_ids = list(Cell.objects.filter(specimen=specimen).values_list("pk", flat=True))
    workflow.cells_reclassify(actor=biologist, specimen=specimen, cell_ids=cell_ids[:5],
                              new_class="monocyte")
    models = ", ".join(f"{m['name']} {m['version']}" for m in run.models_used)
    print(f"built a {len(cell_ids)}-cell analysed case with {previous} earlier specimens "
          f"in {time.perf_counter() - t0:.1f} s ({connection.vendor}, model {models})")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--cells", type=int, default=200)
    parser.add_argument("--requests", type=int, default=50)
    parser.add_argument("--previous", type=int, default=5, help="earlier specimens of the patient")
    parser.add_argument("--data-dir", type=Path,
                        help="build the case here, or time the case already built here")
    parser.add_argument("--html", type=Path, help="write the page (biologist, English) here")
    parser.add_argument("--show-queries", action="store_true", help="print the SQL of one render")
    parser.add_argument("--profile", type=Path, help="write a cProfile of the renders here")
    parser.add_argument("--no-freeze", action="store_true",
                        help="leave start-up objects to the collector (hemaclinic/wsgi.py "
                        "freezes them, as a served process does)")
    args = parser.parse_args()

    data_dir = args.data_dir or Path(tempfile.mkdtemp(prefix="hemaclinic-bench-"))
    data_dir.mkdir(parents=True, exist_ok=True)
    database = data_dir / "bench.sqlite3"
    built = database.exists()
    os.environ["DATA_DIR"] = str(data_dir)
    os.environ["DATABASE_URL"] = f"sqlite:///{database}"
    os.environ["DJANGO_SETTINGS_MODULE"] = "hemaclinic.settings"
    os.environ["CELERY_TASK_ALWAYS_EAGER"] = "1"
    os.environ["ALLOWED_HOSTS"] = "testserver"
    # As served: DEBUG would log every query (and cap the capture below at 9,000 of them).
    os.environ["DEBUG"] = "0"
    import django

    django.setup()
    from django.contrib.auth import get_user_model
    from django.core.management import call_command
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    call_command("migrate", verbosity=0)
    if built:
        print(f"timing the case built in {data_dir}")
    else:
        build_case(cells=args.cells, previous=args.previous)

    client = Client()
    client.force_login(get_user_model().objects.get(username="bio"))
    url = f"/review/{ACCESSION}/"
    response = client.get(url)  # warm-up: templates, translations, model cards
    assert response.status_code == 200, response.status_code
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
    size, query_count = len(response.content), len(queries)
    if args.html:
        args.html.write_bytes(response.content)
    if args.show_queries:
        for query in queries:
            print(f"  {query['time']}s  {query['sql'][:300]}")

    profiler = None
    if args.profile:
        import cProfile

        profiler = cProfile.Profile()
        profiler.enable()
    full_collections: list[float] = []  # CPU ms of each generation-2 collection
    started = [0.0]

    def on_gc(phase: str, info: dict[str, int]) -> None:
        if info["generation"] == 2 and phase == "start":
            started[0] = time.process_time()
        elif info["generation"] == 2:
            full_collections.append((time.process_time() - started[0]) * 1000)

    if not args.no_freeze:
        gc.freeze()  # as hemaclinic/wsgi.py does once the app is loaded
    gc.callbacks.append(on_gc)
    timings, cpu = [], []
    for _ in range(args.requests):
        start, start_cpu = time.perf_counter(), time.process_time()
        response = client.get(url)
        timings.append((time.perf_counter() - start) * 1000)
        cpu.append((time.process_time() - start_cpu) * 1000)
        assert response.status_code == 200
    gc.callbacks.remove(on_gc)
    if profiler is not None:
        profiler.disable()
        profiler.dump_stats(args.profile)
    # Wall time is the server time; the CPU time of this process says the same on an idle
    # machine and stays meaningful when other processes share the cores.
    print(f"GET {url}  {args.requests} renders  p50 {statistics.median(timings):.1f} ms  "
          f"p90 {_p90(timings):.1f} ms  (CPU p50 {statistics.median(cpu):.1f} ms, "
          f"p90 {_p90(cpu):.1f} ms)  {query_count} queries  {size / 1024:.0f} KiB of HTML")
    print(f"full garbage collections during the renders: {len(full_collections)}, "
          f"{sum(full_collections):.0f} ms CPU in all")

    # The large-cell pane reads the cell it shows, one request per cell first shown.
    from apps.smears.models import Cell

    cell_ids = list(Cell.objects.filter(specimen__accession=ACCESSION)
                    .order_by("pk").values_list("pk", flat=True))
    cell_timings, cell_cpu = [], []
    for i in range(args.requests):
        start, start_cpu = time.perf_counter(), time.process_time()
        response = client.get(f"{url}cells/{cell_ids[i % len(cell_ids)]}/")
        cell_timings.append((time.perf_counter() - start) * 1000)
        cell_cpu.append((time.process_time() - start_cpu) * 1000)
        assert response.status_code == 200
    print(f"GET {url}cells/<id>/ (the large-cell pane, {args.requests} cells)  "
          f"p50 {statistics.median(cell_timings):.1f} ms  p90 {_p90(cell_timings):.1f} ms  "
          f"(CPU p50 {statistics.median(cell_cpu):.1f} ms)")


def _p90(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[max(0, int(len(ordered) * 0.9) - 1)]


if __name__ == "__main__":
    main()
