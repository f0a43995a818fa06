"""The specimen page carries the same domain verdict as the case page."""

from __future__ import annotations

from apps.analysis.models import AnalysisRun, CellPrediction


def _page(client, user, specimen):  # type: ignore[no-untyped-def]
    client.force_login(user)
    response = client.get(f"/specimens/{specimen.accession}/")
    assert response.status_code == 200
    return " ".join(response.content.decode().split())


def test_outside_images_are_announced_on_the_specimen_page(client, technician, analysed):  # type: ignore[no-untyped-def]
    AnalysisRun.objects.filter(specimen=analysed).update(domain_max_outside=0.25)
    CellPrediction.objects.filter(cell__specimen=analysed).update(
        view="found", in_domain=False, domain_score=4.0)
    page = _page(client, technician, analysed)
    assert 'data-domain="outside"' in page and 'role="alert"' in page
    assert "(6 of 6 cells)" in page


def test_a_model_without_a_domain_check_says_so(client, technician, analysed):  # type: ignore[no-untyped-def]
    page = _page(client, technician, analysed)
    assert 'data-domain="unchecked"' in page
    assert "Domain check not available for this model." in page
