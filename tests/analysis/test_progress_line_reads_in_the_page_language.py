"""The specimen page's analysis progress, polled while the run works, reads in the page's
language: the poll returns the line the page shows, worded by the server ("En cours — 3 sur 60
cellules"), not the run's status code ("running — 3 / 60")."""

from __future__ import annotations

from apps.analysis.models import AnalysisRun, RunStatus


def test_the_polled_line_is_worded_in_french(client, technician, specimen):
    AnalysisRun.objects.create(specimen=specimen, status=RunStatus.RUNNING, progress_done=3,
                               progress_total=60)
    client.force_login(technician)
    client.post("/i18n/setlang/", {"language": "fr", "next": "/"})
    data = client.get(f"/specimens/{specimen.accession}/progress/").json()
    assert data["status"] == "running" and data["done"] == 3
    assert data["text"].startswith("En cours — 3 ") and "60" in data["text"]
    client.post("/i18n/setlang/", {"language": "en", "next": "/"})
    data = client.get(f"/specimens/{specimen.accession}/progress/").json()
    assert data["text"] == "Running — 3 of 60 cells"
