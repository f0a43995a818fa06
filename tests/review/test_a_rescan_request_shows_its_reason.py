"""The reason a biologist gives for a rescan ("only 15 cells scanned") reached only the audit
trail: the technician who scans the slide again saw the status alone. While the specimen waits
for its rescan, the specimen page and the case page say who asked, when and why."""

from __future__ import annotations


def test_the_reason_is_shown_where_the_rescan_is_done(client, biologist, technician, analysed):
    client.force_login(biologist)
    client.post(f"/review/{analysed.accession}/rescan/",
                {"reason": "Only 15 cells scanned: scan 100 cells of the monolayer."})
    client.force_login(technician)
    for url in (f"/specimens/{analysed.accession}/", f"/review/{analysed.accession}/"):
        page = " ".join(client.get(url).content.decode().split())
        note = page.split('id="rescan-request">', 1)[1].split("</p>", 1)[0]
        assert note.startswith(f"Rescan requested by {biologist.get_full_name() or 'bio'} on ")
        assert "<strong>Only 15 cells scanned: scan 100 cells of the monolayer.</strong>" in note
    client.post("/i18n/setlang/", {"language": "fr", "next": "/"})
    page = client.get(f"/specimens/{analysed.accession}/").content.decode()
    assert "Nouvelle numérisation demandée par" in page


def test_nothing_is_said_before_a_rescan_is_asked(client, technician, analysed):
    client.force_login(technician)
    assert 'id="rescan-request"' not in client.get(
        f"/specimens/{analysed.accession}/").content.decode()


def test_the_worklist_lists_every_specimen_of_a_status_chosen(client, biologist, analysed):
    """Filtered on "Rescan requested", the worklist answered "Nothing waiting" for an
    unflagged specimen waiting for its rescan: a status chosen lists every specimen in it."""
    from apps.patients.models import Specimen

    client.force_login(biologist)
    client.post(f"/review/{analysed.accession}/rescan/", {"reason": "smear too thick"})
    Specimen.objects.filter(pk=analysed.pk).update(priority=0)
    page = client.get("/worklist/?status=rescan").content.decode()
    assert analysed.accession in page
    # The date filter says which date it reads: the registration's, as the last column.
    assert "Registered from" in page
    assert analysed.accession not in client.get("/worklist/").content.decode()
