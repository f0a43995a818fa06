"""The specimen page links to its case page, where the review, the signature and the reports
are: a specimen no rule flags is not on the default worklist, and before, its case page could
be reached only by typing its address."""

from __future__ import annotations

import re


def test_the_specimen_page_links_to_the_case_page(client, technician, specimen):
    client.force_login(technician)
    page = client.get(f"/specimens/{specimen.accession}/", HTTP_ACCEPT_LANGUAGE="en")
    link = re.search(r'<a href="([^"]+)" id="case-link">([^<]+)</a>', page.content.decode())
    assert link is not None
    assert link.groups() == (f"/review/{specimen.accession}/",
                             "Case page: review, validation and reports")
    assert client.get(link.group(1)).status_code == 200  # every clinical role reads it
    french = client.get(f"/specimens/{specimen.accession}/", HTTP_ACCEPT_LANGUAGE="fr")
    assert "Page du dossier\u00a0: revue, validation et comptes rendus" in french.content.decode()
