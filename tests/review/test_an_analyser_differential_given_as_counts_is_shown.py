"""A blood count file with the WBC and the white cells' absolute counts but not their shares (a
generic CSV): the case page said "The CBC has no automated differential" although the file
gave one, as counts. Each share is computed from its count and the WBC, as the analyser computes
it, and the page says which shares were computed; a share the file gave is taken as given."""

from __future__ import annotations

from django.utils import translation

from apps.hemograms.flags import computed_share
from apps.review.display import differential_table
from apps.review.selectors import case_differential
from apps.workflow.services import cbc_import

CSV = (b"Sample No.,Date,Time,WBC(10^9/L),NEUT#(10^9/L),LYMPH#(10^9/L),MONO#(10^9/L),"
       b"EO#(10^9/L),BASO#(10^9/L),EO%(%)\r\n"
       b"S-0001,2026/11/20,08:00:00,6.40,4.10,1.60,0.45,0.20,0.05,3.3\r\n")


def test_the_rule():
    assert computed_share("NEUT%", {"NEUT#": 4.1, "WBC": 6.4}) == 64.1
    assert computed_share("NEUT%", {"NEUT%": 60.0, "NEUT#": 4.1, "WBC": 6.4}) is None
    assert computed_share("IG%", {"IG#": 0.06, "WBC": 6.0}) == 1.0
    # 12.25 rounded half up in decimal (binary floating point gave 12.2).
    assert computed_share("NEUT%", {"NEUT#": 0.49, "WBC": 4.0}) == 12.3
    assert computed_share("NEUT%", {"NEUT#": 4.1, "WBC": 0.0}) is None
    assert computed_share("NEUT%", {"NEUT#": 4.1}) is None
    assert computed_share("HGB", {"HGB": None, "WBC": 6.4}) is None


def test_the_shares_are_computed_from_the_counts(client, biologist, technician, analysed):
    assert cbc_import(actor=technician, data=CSV, specimen=analysed).results_created == 1
    analyser = case_differential(analysed)["analyser"]
    assert analyser["per_100_wbc"] == {"neutrophil": 64.1, "lymphocyte": 25.0,
                                       "monocyte": 7.0, "eosinophil": 3.3, "basophil": 0.8}
    # EO% was in the file: taken as given (0.20 / 6.40 would be 3.1), not computed.
    assert analyser["computed"] == {"neutrophil": "NEUT#", "lymphocyte": "LYMPH#",
                                    "monocyte": "MONO#", "basophil": "BASO#"}
    with translation.override("en"):
        table = differential_table(case_differential(analysed))
    assert table["analyser_codes"] == "NEUT#, LYMPH#, MONO#, EO%, BASO#"
    assert table["analyser_note"] == ("The file gave counts without their shares: NEUT%, "
                                      "LYMPH%, MONO%, BASO% per 100 WBC computed as the count "
                                      "÷ WBC × 100.")

    client.force_login(biologist)
    with translation.override("en"):
        page = " ".join(client.get(f"/review/{analysed.accession}/").content.decode().split())
    assert "The CBC has no automated differential." not in page
    assert '<table id="analyser-differential">' in page
    assert "computed as the count ÷ WBC × 100" in page
    with translation.override("fr"):
        page = " ".join(client.get(f"/review/{analysed.accession}/",
                                   HTTP_ACCEPT_LANGUAGE="fr").content.decode().split())
    assert "Le fichier donnait les nombres sans leurs pourcentages : NEUT%, LYMPH%" in page
