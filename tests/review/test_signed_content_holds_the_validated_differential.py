"""The signed content (hashed by the signature) holds the validated differential per 100 WBC with
the analyser's and the scanner's beside it, and anomaly outputs only for neutrophils."""

from __future__ import annotations

from apps.review.services import content_hash
from apps.smears.models import Cell
from apps.workflow.services import case_sign, cells_reclassify
from tests.review.cbc import cbc_with_differential


def test_signed_content(biologist, technician, analysed, settings):
    settings.DIFFERENTIAL_TARGET_WBC = 200
    cbc_with_differential(actor=technician, specimen=analysed)
    monocyte = Cell.objects.get(specimen=analysed, analyser_class="monocyte")
    cells_reclassify(actor=biologist, specimen=analysed, cell_ids=[monocyte.pk],
                     new_class="erythroblast")
    signature = case_sign(actor=biologist, specimen=analysed,
                          password="correct-horse-battery", meaning="validated",
                          count_acknowledged=True)
    diff = signature.content["differential"]
    assert diff["per_100_wbc"]["neutrophil"] == 60.0 and diff["per_100_wbc"]["monocyte"] == 0.0
    assert (diff["nrbc"], diff["nrbc_per_100_wbc"], diff["wbc_counted"]) == (1, 20.0, 5)
    assert (diff["target"], diff["short_of_target"], diff["reviewed"]) == (200, True, 1)
    assert diff["analyser"]["per_100_wbc"]["lymphocyte"] == 27.9
    assert diff["analyser"]["codes"]["ig"] == "IG%"
    assert diff["scanner"]["per_100_wbc"]["monocyte"] == 16.7
    assert signature.content_sha256 == content_hash(signature.content)
    for cell in signature.content["key_cells"]:
        expected = {"vacuole": 0.1, "barr_body": None} if cell["class"] == "neutrophil" else {}
        assert cell["anomalies"] == expected, cell
