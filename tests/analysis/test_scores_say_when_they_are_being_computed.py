"""Right after a CBC import the specimen page showed the new count above the scores of the one
before ("Indeterminate — MCV missing" under an MCV of 89.8) with nothing to say that the worker
was computing them again. While a computation asked for has not begun, the scores panel says
the scores shown are the previous ones, and the page's poll says when to reload."""

from __future__ import annotations

import html

from apps.analysis.scores import scores_compute
from apps.workflow.services import cbc_import

HEADER = (b"Sample No.,Date,Time,WBC(10^9/L),HGB(g/dL),MCV(fL),PLT(10^9/L),NEUT#(10^9/L),"
          b"MONO#(10^9/L),[NE-WX]\r\n")
PENDING_EN = ("The scores are being computed again: what changed since (a blood count, the "
              "cells or their review) is not in those shown below yet.")
PENDING_FR = ("Les scores sont en cours de recalcul\u00a0: ce qui a changé depuis (une NFS, les "
              "cellules ou leur relecture) n'est pas encore pris en compte dans ceux affichés "
              "ci-dessous.")


def _page(client, specimen, language: str) -> str:  # type: ignore[no-untyped-def]
    return html.unescape(client.get(f"/specimens/{specimen.accession}/",
                                    HTTP_ACCEPT_LANGUAGE=language).content.decode())


def test_the_scores_panel_says_while_the_worker_computes_them_again(client, technician,
                                                                      specimen):
    client.force_login(technician)
    progress = f"/specimens/{specimen.accession}/progress/"
    cbc_import(actor=technician, data=HEADER + b"S-0001,2026/11/20,08:00:00,3.0,9.5,106.0,90,"
                                                b"1.4,0.3,460\r\n")
    # Asked for, not begun (the worker runs it once the import commits): no score yet, nothing
    # to call previous.
    assert client.get(progress).json()["scores_pending"] is True
    assert PENDING_EN not in _page(client, specimen, "en")
    scores_compute(specimen_id=specimen.pk, trigger="test")
    assert client.get(progress).json()["scores_pending"] is False
    assert PENDING_EN not in _page(client, specimen, "en")

    cbc_import(actor=technician, data=HEADER + b"S-0001,2026/11/20,09:00:00,3.1,9.4,105.0,92,"
                                                b"1.5,0.3,455\r\n")
    assert client.get(progress).json()["scores_pending"] is True
    page = _page(client, specimen, "en")
    assert PENDING_EN in page and 'id="scores" data-pending="1"' in page
    assert PENDING_FR in _page(client, specimen, "fr")
    scores_compute(specimen_id=specimen.pk, trigger="test")
    assert client.get(progress).json()["scores_pending"] is False
    page = _page(client, specimen, "en")
    assert PENDING_EN not in page and "data-pending" not in page
