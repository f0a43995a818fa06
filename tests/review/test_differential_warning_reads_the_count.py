"""The warning under the differential reads the count it is about: with no white cell yet there
is no differential to qualify ("Only 0 white cells classified" read as a count)."""

from __future__ import annotations

from django.utils import translation

from apps.review.display import differential_table


def _diff(wbc: int) -> dict:
    return {"per_100_wbc": {}, "counts": {}, "wbc_counted": wbc, "target": 100,
            "short_of_target": wbc < 100}


def test_no_white_cell_reads_as_no_differential_yet():
    with translation.override("en"):
        assert differential_table(_diff(0))["warning"] == \
            "No white cell classified: there is no differential yet."
        assert differential_table(_diff(38))["warning"].startswith(
            "Only 38 white cells classified, fewer than the 100 the laboratory counts")
        assert differential_table(_diff(100))["warning"] == ""
        # Signed (a rejection), nothing is to come: no "yet".
        assert differential_table({**_diff(0), "signature_version": 1})["warning"] == \
            "No white cell was counted: there is no differential."
    with translation.override("fr"):
        assert differential_table(_diff(0))["warning"] == \
            "Aucun leucocyte classé\u00a0: il n'y a pas encore de formule."


def test_short_of_the_target_each_share_carries_its_95_interval():
    """2 of 38 white cells is 5.3 per 100, anywhere from 1.5 to 17.3 (Wilson): printed as 5.3
    alone it reads as a measure it is not. Counted to the target, no interval is added."""
    diff = {"counts": {"neutrophil": 36, "eosinophil": 2}, "wbc_counted": 38, "target": 100,
            "short_of_target": True, "per_100_wbc": {"neutrophil": 94.7, "eosinophil": 5.3},
            "nrbc": 1, "nrbc_per_100_wbc": 2.6}
    with translation.override("en"):
        table = differential_table(diff)
    rows = {r["class"]: r for r in table["rows"]}
    assert rows["eosinophil"]["percent"] == "5.3"
    assert rows["eosinophil"]["interval"] == "1.5–17.3"
    assert rows["neutrophil"]["interval"] == "82.7–98.5"
    assert "interval" not in rows["erythroblast"]  # NRBC per 100 WBC is not a share of them
    assert table["interval_note"].startswith("In brackets: the 95% interval of each share on "
                                             "the 38 white cells counted (Wilson)")
    assert table["interval_summary"] == (
        "95% interval of each share on the 38 white cells counted (Wilson), per 100 WBC: "
        '<span class="nobreak">Neutrophils 82.7–98.5</span> · '
        '<span class="nobreak">Eosinophils 1.5–17.3</span>. It narrows as more are counted.')
    with translation.override("fr"):
        table = differential_table(diff)
    assert {r["class"]: r for r in table["rows"]}["eosinophil"]["interval"] == "1,5–17,3"
    assert "95\u00a0%" in table["interval_note"]
    full = {**diff, "wbc_counted": 100, "short_of_target": False,
            "counts": {"neutrophil": 98, "eosinophil": 2}}
    assert all(r.get("interval", "") == "" for r in differential_table(full)["rows"])
    assert differential_table(full)["interval_note"] == ""
    assert differential_table(full)["interval_summary"] == ""


def test_the_rows_keep_the_differentials_order_whatever_the_stored_order():
    """A signed differential comes back from a JSON column that may sort its keys (PostgreSQL
    puts 'ig' first): the report's table and its interval sentence keep the differential's
    order."""
    diff = {"counts": {"ig": 0, "basophil": 1, "neutrophil": 30, "lymphocyte": 7},
            "per_100_wbc": {"ig": 0.0, "basophil": 2.6, "neutrophil": 78.9, "lymphocyte": 18.4},
            "wbc_counted": 38, "target": 100, "short_of_target": True}
    with translation.override("en"):
        table = differential_table(diff)
    assert [r["class"] for r in table["rows"]][:4] == ["neutrophil", "lymphocyte", "basophil",
                                                       "ig"]
    assert table["interval_summary"].index("Neutrophil") < table["interval_summary"].index(
        "Immature granulocyte")
