"""Rendering a signed report (in another language) is for biologists, not technicians."""

from __future__ import annotations

from apps.reports.models import Report


def test_a_technician_cannot_request_a_rendering(client, technician, signed):  # type: ignore[no-untyped-def]
    before = Report.objects.count()
    client.force_login(technician)
    page = client.get("/review/H25-0001/").content.decode()
    assert "Render the report in this language" not in page
    response = client.post("/review/H25-0001/reports/1/", {"language": "fr"})
    assert response.status_code == 403
    assert Report.objects.count() == before


def test_a_biologist_can(client, signer, signed, monkeypatch):  # type: ignore[no-untyped-def]
    monkeypatch.setattr("apps.reports.tasks.report_render_task.delay", lambda *a, **k: None,
                        raising=False)
    client.force_login(signer)
    response = client.post("/review/H25-0001/reports/1/", {"language": "fr"})
    assert response.status_code == 302
