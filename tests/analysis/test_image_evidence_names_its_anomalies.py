"""The MDS image evidence lists its share per anomaly under each anomaly's name in the reader's
language, never the output's code (vacuole, barr_body)."""

from __future__ import annotations

from apps.analysis.models import Score


def test_per_anomaly_shares_named_in_french(client, technician, specimen):
    Score.objects.create(
        specimen=specimen, name="mds_image", revision=1, definition="mds-image-evidence",
        version="mds-image/1.0.0", state="scored", value=0.12, level="above_who",
        thresholds={"anomaly_prob_cutoff": 0.5},
        evidence={"per_anomaly_fraction": {"vacuole": 0.1, "pseudo_pelger": 0.04,
                                           "barr_body": None},
                  "n_dysplastic": 6, "cells": []},
        reasons=[], text="", trigger="test")
    client.force_login(technician)
    client.post("/i18n/setlang/", {"language": "fr", "next": "/"})
    page = client.get(f"/specimens/{specimen.accession}/").content.decode()
    block = page.split('data-score="mds_image"', 1)[1].split('class="how"', 1)[0]
    text = " ".join(block.replace("\u202f", " ").replace("\xa0", " ").split())
    # French puts a space before ":" (the reader-language rule of apps.analysis.score_text).
    assert "vacuoles cytoplasmiques : 10 %" in text and "orps de Barr : " in text
    assert "vacuole:" not in block and "barr_body" not in block and "barr body" not in block
