"""A case without a collection time: the sign form says the report and the result message will
carry none, and links to the specimen page where it is entered."""

from __future__ import annotations


def test_the_sign_form_says_there_is_none(client, biologist, analysed):
    client.force_login(biologist)
    page = " ".join(client.get(f"/review/{analysed.accession}/",
                               HTTP_ACCEPT_LANGUAGE="en").content.decode().split())
    assert ("The specimen has no collection time: the report and the result message will "
            "carry none.") in page
    assert f'href="/specimens/{analysed.accession}/#collected-at"' in page
    french = client.get(f"/review/{analysed.accession}/",
                        HTTP_ACCEPT_LANGUAGE="fr").content.decode()
    assert "Le prélèvement n'a pas d'heure de prélèvement\u00a0:" in french
