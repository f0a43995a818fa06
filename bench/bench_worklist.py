"""Server time of the worklist with many specimens in the database.

    .venv/bin/python bench/bench_worklist.py [--specimens 10000] [--requests 30]

Uses a fresh SQLite file in a temporary folder unless DATABASE_URL is set (then that database
must be empty: the script fills it). Prints the median and p95 server time of GET /worklist/
(middleware, query, template) measured with Django's test client: no network in the figure.
Target: under 200 ms with 10,000 specimens.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--specimens", type=int, default=10_000)
    parser.add_argument("--requests", type=int, default=30)
    args = parser.parse_args()

    tmp = tempfile.mkdtemp(prefix="hemaclinic-bench-")
    os.environ.setdefault("DATA_DIR", tmp)
    os.environ.setdefault("DATABASE_URL", f"sqlite:///{tmp}/bench.sqlite3")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "hemaclinic.settings")
    os.environ["ALLOWED_HOSTS"] = "testserver"
    import django

    django.setup()
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Group
    from django.core.management import call_command
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from apps.patients.models import Specimen, SpecimenFlag

    call_command("migrate", verbosity=0)
    t0 = time.perf_counter()
    names = ["anaemia", "macrocytosis", "neutropenia", "thrombocytopenia", "leukocytosis"]
    statuses = ["registered", "analysed", "in_review", "validated"]
    specimens = [Specimen(accession=f"B{i:07d}", status=statuses[i % 4], priority=i % 7)
                 for i in range(args.specimens)]
    Specimen.objects.bulk_create(specimens, batch_size=2000)
    flags = [SpecimenFlag(specimen=s, name=names[(s.pk + k) % 5], source="cbc", rule="bench",
                          rules_version="bench")
             for s in Specimen.objects.filter(priority__gt=0).only("pk") for k in range(2)]
    SpecimenFlag.objects.bulk_create(flags, batch_size=5000)
    print(f"filled {args.specimens} specimens and {len(flags)} flags "
          f"in {time.perf_counter() - t0:.1f} s ({connection.vendor})")

    user = get_user_model().objects.create_user("bench", password=None)
    user.groups.add(Group.objects.get_or_create(name="biologist")[0])
    client = Client()
    client.force_login(user)
    for url in ("/worklist/", "/worklist/?flag=macrocytosis", "/worklist/?status=in_review"):
        client.get(url)  # warm-up: template loading, first connection
        timings = []
        for _ in range(args.requests):
            start = time.perf_counter()
            response = client.get(url)
            timings.append((time.perf_counter() - start) * 1000)
            assert response.status_code == 200
        with CaptureQueriesContext(connection) as queries:
            client.get(url)
        timings.sort()
        p95 = timings[max(0, int(len(timings) * 0.95) - 1)]
        print(f"GET {url:32s} median {statistics.median(timings):6.1f} ms  p95 {p95:6.1f} ms  "
              f"{len(queries)} queries")


if __name__ == "__main__":
    main()
