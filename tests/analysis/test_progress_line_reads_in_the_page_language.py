"""The specimen page's analysis progress, polled while the run works, reads in the page's
language: the poll returns the line the page shows, worded by the server ("En cours —
cellules : 3 sur 60"), not the run's status code ("running — 3 / 60"); with no plural to agree
with 0 or 1 ("0 cellules sur 15" is not French)."""

from __future__ import annotations

from apps.analysis.models import AnalysisRun, RunStatus


def test_the_polled_line_is_worded_in_french(client, technician, specimen):
    AnalysisRun.objects.create(specimen=specimen, status=RunStatus.RUNNING, progress_done=3,
                               progress_total=60)
    client.force_login(technician)
    client.post("/i18n/setlang/", {"language": "fr", "next": "/"})
    data = client.get(f"/specimens/{specimen.accession}/progress/").json()
    assert data["status"] == "running" and data["done"] == 3
    assert data["text"] == "En cours — cellules\u00a0: 3 sur 60"
    AnalysisRun.objects.filter(specimen=specimen).update(progress_done=0)
    assert client.get(f"/specimens/{specimen.accession}/progress/").json()["text"] == (
        "En cours — cellules\u00a0: 0 sur 60")
    client.post("/i18n/setlang/", {"language": "en", "next": "/"})
    data = client.get(f"/specimens/{specimen.accession}/progress/").json()
    assert data["text"] == "Running — cells: 0 of 60"
    page = client.get(f"/specimens/{specimen.accession}/").content.decode()
    assert "cells: 0 of 60" in " ".join(page.split())
