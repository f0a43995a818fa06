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
    assert "(6 of 6 images)" in page


def test_the_warning_is_in_the_analysis_card_before_uploads_and_cbc(client, technician,  # type: ignore[no-untyped-def]
                                                                     analysed):
    """Read with the run's result, where the page is first read, not below the uploads and
    the CBC (1,000 px down on a laptop screen)."""
    AnalysisRun.objects.filter(specimen=analysed).update(domain_max_outside=0.25)
    CellPrediction.objects.filter(cell__specimen=analysed).update(
        view="found", in_domain=False, domain_score=4.0)
    page = _page(client, technician, analysed)
    card = page.split('<section class="card" id="analysis"', 1)[1].split("</section>", 1)[0]
    assert 'id="domain-banner"' in card and "These images are outside the domain" in card
    assert page.count('id="domain-banner"') == 1
    assert page.index('id="domain-banner"') < page.index('id="cbc"')


def test_a_model_without_a_domain_check_says_so(client, technician, analysed):  # type: ignore[no-untyped-def]
    page = _page(client, technician, analysed)
    assert 'data-domain="unchecked"' in page
    assert "Domain check not available for this model." in page


def test_while_a_new_analysis_runs_the_verdict_says_it_is_the_previous_ones(  # type: ignore[no-untyped-def]
        client, technician, analysed):
    """"Queued — cells: 0 of 91" beside "none of 3 outside" read as the new run's verdict."""
    note = "The domain check below is the previous analysis's: the new one reads every cell " \
        "again."
    assert note not in _page(client, technician, analysed)
    AnalysisRun.objects.create(specimen=analysed, pipeline="test", status="queued",
                               progress_total=91)
    assert note in _page(client, technician, analysed)
