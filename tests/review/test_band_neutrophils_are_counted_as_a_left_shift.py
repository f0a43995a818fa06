"""A band neutrophil is a class the biologist gives (key S, for stab): it stays a neutrophil (in
the neutrophils' share, its anomaly outputs read, counted by the VEXAS rule) and is reported
beside that share as "of which band forms" on the page, in the signed report and in the HL7
result (LOINC 764-1, a part of the neutrophils' 23761-0). Before, the scanner's "Band
neutrophils" folder was merged into the neutrophils and an analyser's "Left Shift?" could not
be confirmed or ruled out."""

from __future__ import annotations

from django.utils import translation

from apps.analysis.selectors import cell_anomalies
from apps.review.display import differential_table
from apps.review.selectors import differential
from apps.review.services import cells_reclassify
from apps.smears.differential import differential_count
from apps.smears.models import Cell
from tests.helpers import case_page_html
from tests.reports.hl7_messages import result_message


def test_the_rule():
    d = differential_count(["neutrophil"] * 5 + ["band_neutrophil"] * 3 + ["lymphocyte"] * 2,
                           target=100)
    assert d.counts["neutrophil"] == 8 and "band_neutrophil" not in d.counts
    assert d.per_100_wbc["neutrophil"] == 80.0 and d.wbc_counted == 10
    assert (d.bands, d.bands_per_100_wbc) == (3, 30.0)
    # Their anomaly outputs are read as a neutrophil's.
    assert cell_anomalies(final_class="band_neutrophil", anomalies={"vacuole": 0.7}) == {
        "vacuole": 0.7}


def test_reclassified_as_band_on_the_page_and_in_the_table(client, biologist, analysed):
    neutrophils = list(Cell.objects.filter(specimen=analysed, analyser_class="neutrophil"))
    cells_reclassify(actor=biologist, specimen=analysed, cell_ids=[neutrophils[0].pk],
                     new_class="band_neutrophil")
    diff = differential(analysed)
    assert diff["bands"] == 1 and diff["counts"]["neutrophil"] == len(neutrophils)
    with translation.override("fr"):
        rows = differential_table(diff)["rows"]
    labels = [r["label"] for r in rows]
    band = rows[labels.index("dont non segmentés (bâtonnets)")]
    assert labels.index("dont non segmentés (bâtonnets)") == labels.index(
        "Polynucléaires neutrophiles") + 1
    assert band["sub"] and band["count"] == 1
    page = case_page_html(client, biologist, analysed, "en")
    assert '<tr data-class="band_neutrophil" class="sub"><td>of which band forms</td>' in page
    assert "<kbd>S</kbd> Band neutrophil" in page


def test_the_hl7_result_sends_the_bands_as_a_part_of_the_neutrophils():
    from apps.reports.hl7_result import BANDS

    counted = differential_count(["neutrophil"] * 50 + ["band_neutrophil"] * 10
                                 + ["lymphocyte"] * 40, target=100).as_dict()
    msg = result_message(counted)
    values = {str(o[3][0][0]): float(str(o[5])) for o in msg.segments("OBX")}
    assert values[BANDS[0]] == 10.0 and values["23761-0"] == 60.0
    # The classes of the panel alone sum to 100; the bands are a part of the neutrophils.
    assert values["23761-0"] + values["737-7"] == 100.0


def test_the_hl7_result_sends_the_bands_absolute_count_beside_the_wbc():
    """10 band forms of 100 white cells beside a WBC of 8.90: 0.89 x10^9/L, as the page and
    the report print it, under LOINC's manual-differential member, with no interval or flag."""
    from apps.reports.hl7_result import BANDS_ABSOLUTE

    counted = differential_count(["neutrophil"] * 50 + ["band_neutrophil"] * 10
                                 + ["lymphocyte"] * 40, target=100).as_dict()
    with_wbc = result_message({**counted, "analyser_wbc": 8.9})
    (band,) = [o for o in with_wbc.segments("OBX") if str(o[3][0][0]) == BANDS_ABSOLUTE[0]]
    assert (str(band[5]), str(band[6]), str(band[7]), str(band[8])) == ("0.89", "10*9/L", "", "")
    # Without the analyser's WBC there is no absolute count to send.
    codes = [str(o[3][0][0]) for o in result_message(counted).segments("OBX")]
    assert BANDS_ABSOLUTE[0] not in codes
