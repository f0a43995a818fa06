"""The case page shows the patient around the case: age and sex at collection, the earlier
specimens of the same patient with their date, signed conclusion, validated differential and key
CBC values, and a server-drawn trend of Hb, MCV, PLT, ANC and WBC (no script, no style)."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime

import pytest
from django.urls import reverse

from apps.patients.models import Specimen
from apps.patients.services import patient_create, specimen_create
from apps.review.models import Signature
from apps.review.selectors import patient_context
from apps.review.trend import Point, trend_panel
from tests.review.cbc import COLUMNS


def _cbc(*, actor, specimen, hgb: str, plt: str, patient_id: str = "MRN-1") -> None:
    from apps.hemograms.services import cbc_import

    row = dict(COLUMNS)
    row.update({"Sample No.": specimen.accession, "Patient ID": patient_id,
                "HGB(g/dL)": hgb, "PLT(10^3/uL)": plt})
    data = (",".join(row) + "\r\n" + ",".join(row.values()) + "\r\n").encode()
    assert cbc_import(actor=actor, data=data, specimen=specimen).results_created == 1


def _collected(specimen: Specimen, day: date) -> None:
    Specimen.objects.filter(pk=specimen.pk).update(
        collected_at=datetime(day.year, day.month, day.day, 8, tzinfo=UTC))


@pytest.fixture
def history(technician, biologist, specimen):  # type: ignore[no-untyped-def]
    """S-0001 (the fixture's, 2026-03-01, signed) and S-0002 (2026-06-01, unsigned) before the
    case S-0003 (2026-11-20); S-0004 later, and X-0001 of another patient."""
    patient = specimen.patient
    patient.birth_date = date(1950, 12, 1)
    patient.save()
    _collected(specimen, date(2026, 3, 1))
    _cbc(actor=technician, specimen=specimen, hgb="13.5", plt="251")
    Signature.objects.create(
        specimen=specimen, version=1, meaning="validated", signed_by=biologist,
        comment="Frottis sans anomalie", content_sha256="0" * 64,
        # Stored in another order than the differential's: a JSON column may sort its keys.
        content={"differential": {"per_100_wbc": {"lymphocyte": 30.0, "neutrophil": 61.5,
                                                  "basophil": 0},
                                  "nrbc_per_100_wbc": 2.0}})
    second = specimen_create(actor=technician, accession="S-0002", patient=patient)
    _collected(second, date(2026, 6, 1))
    _cbc(actor=technician, specimen=second, hgb="11.2", plt="140")
    case = specimen_create(actor=technician, accession="S-0003", patient=patient)
    _collected(case, date(2026, 11, 20))
    _cbc(actor=technician, specimen=case, hgb="9.8", plt="95")
    later = specimen_create(actor=technician, accession="S-0004", patient=patient)
    _collected(later, date(2026, 12, 1))
    other = patient_create(actor=technician, external_id="MRN-2", sex="F")
    stranger = specimen_create(actor=technician, accession="X-0001", patient=other)
    _collected(stranger, date(2026, 5, 1))
    return Specimen.objects.select_related("patient").get(pk=case.pk)


def test_earlier_specimens_with_conclusion_values_and_trend(client, biologist, history):
    client.force_login(biologist)
    html = client.get(reverse("review_case", args=["S-0003"])).content.decode()
    part = html[html.index('id="patient-context"'):]
    part = part[:part.index("</section>")]
    assert "75 years old at collection" in part and "Male" in part
    rows = re.findall(r'data-accession="([^"]+)"', part)
    assert rows == ["S-0002", "S-0001"]  # newest first; not the case, a later one or a stranger
    assert "1 March 2026" in part and "1 June 2026" in part
    assert "Validated" in part and "Frottis sans anomalie" in part
    # The signed differential says what it is per, and keeps its erythroblasts (outside it).
    assert ("Per 100 white cells: Neutrophils 61.5 · Lymphocytes 30.0 · NRBC (per 100 WBC) 2.0"
            in part) and "Basophil" not in part
    assert "not signed" in part and "Signed conclusion:" in part
    # Units as the blood count prints them, kept with their value; intervals without padding.
    assert re.search(r'Platelets <span class="nobreak">140 ×10⁹/L</span> '
                     r'<strong class="flag">Low</strong>', part)
    assert "10^9" not in part and "(×10⁹/L) · " in part
    assert not re.search(r"\d\.\d0\b", re.sub(r"<svg.*?</svg>", "", part, flags=re.S))
    assert "13.5" in part and "11.2" in part and "140" in part
    # One plot per value, three points each, the case's point marked; no script, no style.
    for code in ("HGB", "MCV", "PLT", "NEUT#", "WBC"):
        assert f'data-code="{code}"' in part
    hgb = part[part.index('data-code="HGB"'):]
    hgb = hgb[:hgb.index("</svg>")]
    assert hgb.count("<circle") == 3 and 'r="4"' in hgb
    # The time the plot spans, under its values' range.
    caption = part[part.index('data-code="HGB"'):]
    caption = caption[:caption.index("</figcaption>")]
    assert ('<span class="nobreak">1 March 2026</span> – <span class="nobreak">20 November '
            '2026</span>') in caption
    assert "<script" not in part and "style=" not in part


def test_the_context_reads_french_with_decimal_commas(client, biologist, history, settings):
    settings.LANGUAGE_CODE = "fr"
    client.force_login(biologist)
    html = client.get(reverse("review_case", args=["S-0003"]),
                      HTTP_ACCEPT_LANGUAGE="fr").content.decode()
    part = html[html.index('id="patient-context"'):]
    part = part[:part.index("</section>")]
    assert "75 ans au prélèvement" in part and "Contexte du patient" in part
    assert "Conclusion signée\u00a0:" in part and "Plaquettes" in part and "PNN" in part
    # The first of the month as French writes it, an ordinal.
    assert "13,5" in part and "1er mars 2026" in part and "1 mars 2026" not in part
    assert "13.5" not in re.sub(r"<svg.*?</svg>", "", part, flags=re.S)
    # SVG coordinates keep the decimal point whatever the language; the scale reads French.
    assert re.search(r'points="[\d.]+,[\d.]+ ', part)
    assert re.findall(r'<text class="axis-value"[^>]*>([^<]*)</text>', part)[:2] == ["17", "9,8"]


def test_no_patient_or_no_history(client, biologist, technician, specimen):
    assert patient_context(specimen)["previous"] == []
    assert patient_context(specimen)["trends"] == []
    alone = specimen_create(actor=technician, accession="N-0001", patient=None)
    assert patient_context(alone) is None
    client.force_login(biologist)
    html = client.get(reverse("review_case", args=["S-0001"])).content.decode()
    assert "No earlier specimen for this patient." in html


def test_queries_do_not_grow_with_the_history(history, technician, django_assert_max_num_queries):
    for i in range(8):
        more = specimen_create(actor=technician, accession=f"H-{i:04d}",
                               patient=history.patient)
        _collected(more, date(2026, 1, 1 + i))
        _cbc(actor=technician, specimen=more, hgb="12.0", plt="200")
    with django_assert_max_num_queries(8):
        context = patient_context(history)
    assert len(context["previous"]) == 10
    assert len(context["trends"][0]["panel"].marks) == 11


def test_trend_geometry_follows_time_and_the_reference_band():
    points = [Point(at=datetime(2026, 1, 1, tzinfo=UTC), value=10.0),
              Point(at=datetime(2026, 1, 11, tzinfo=UTC), value=14.0, current=True),
              Point(at=datetime(2026, 1, 3, tzinfo=UTC), value=12.0)]
    panel = trend_panel(points, ref_low=12.0, ref_high=16.0)
    xs = [float(m.x) for m in panel.marks]
    assert xs == sorted(xs) and xs[0] == 6.0 and xs[-1] == 234.0
    assert abs(xs[1] - (6 + 228 * 2 / 10)) < 0.1  # proportional to the days between
    ys = [float(m.y) for m in panel.marks]
    assert ys == [56.0, 40.0, 24.0]  # the axis 10..16 (the reference's top) on y 56..8
    assert panel.band == ("8.0", "32.0") and panel.marks[-1].current
    assert trend_panel([]) is None
    assert trend_panel(points[:1]).marks[0].x == "120.0"


def test_two_counts_of_one_day_are_both_seen_and_the_plot_has_its_scale():
    """Two counts six hours apart on a plot spanning five months fell on one dot; the plot had
    no scale, only the values' range in its caption."""
    points = [Point(at=datetime(2026, 1, 1, tzinfo=UTC), value=10.0, decimals=1),
              Point(at=datetime(2026, 6, 1, 8, tzinfo=UTC), value=12.0, decimals=1),
              Point(at=datetime(2026, 6, 1, 14, tzinfo=UTC), value=13.0, current=True,
                    decimals=1)]
    panel = trend_panel(points, ref_low=12.0, ref_high=16.0)
    xs = [float(m.x) for m in panel.marks]
    assert xs[0] == 6.0 and xs[-1] <= 234.0 and xs[2] - xs[1] >= 5.9  # to 0.1 px
    assert (panel.axis_low, panel.axis_high) == (10.0, 16.0)
    same_time = trend_panel([Point(at=datetime(2026, 6, 1, tzinfo=UTC), value=v)
                             for v in (1.0, 2.0, 3.0)])
    assert [float(m.x) for m in same_time.marks] == [120.0, 126.0, 132.0]
    many = trend_panel([Point(at=datetime(2026, 6, 1, tzinfo=UTC), value=float(v))
                        for v in range(60)])
    xs = [float(m.x) for m in many.marks]
    assert xs[0] == 6.0 and abs(xs[-1] - 234.0) < 0.1 and xs == sorted(xs)


def test_the_range_of_values_prints_its_two_ends_with_one_precision():
    """Two files gave platelets as "110.0" and "112": the caption read "110.0–112"."""
    points = [Point(at=datetime(2026, 1, 1, tzinfo=UTC), value=110.0, decimals=1),
              Point(at=datetime(2026, 6, 1, tzinfo=UTC), value=112.0, decimals=0),
              Point(at=datetime(2026, 7, 1, tzinfo=UTC), value=111.0)]
    panel = trend_panel(points)
    assert (panel.low, panel.high, panel.decimals) == (110.0, 112.0, 1)
    assert trend_panel([Point(at=datetime(2026, 1, 1, tzinfo=UTC), value=5.0)]).decimals is None


def test_the_signed_context_keeps_the_earlier_nrbc_for_the_report(history):
    """The report prints the earlier specimen's differential from the signed content: its NRBC
    per 100 WBC is kept there, as the page shows it."""
    from apps.review.selectors import patient_context_entry

    signed = {row["accession"]: row["signature"]
              for row in patient_context_entry(history)["previous"]}
    assert signed["S-0001"]["nrbc_per_100_wbc"] == 2.0
    assert signed["S-0002"] is None


def test_a_same_time_specimen_is_not_earlier_and_a_critical_value_says_so(
        client, biologist, technician, history):
    """A specimen collected at the case's very time is not an earlier one; an earlier count
    past a critical limit reads "Critical low", as its own CBC table says, on the page and in
    the signed content the report prints from."""
    from apps.review.selectors import patient_context_entry

    twin = specimen_create(actor=technician, accession="S-0005", patient=history.patient)
    Specimen.objects.filter(pk=twin.pk).update(collected_at=history.collected_at)
    second = Specimen.objects.get(accession="S-0002")
    second.cbc_results.get().values.filter(code="PLT").update(value=6.0, raw_value="6")
    # A count the analyser gave with two decimals keeps them, as its CBC table prints it.
    second.cbc_results.get().values.filter(code="WBC").update(value=5.2, raw_value="5.20")
    assert [r["accession"] for r in patient_context(history)["previous"]] == ["S-0002",
                                                                             "S-0001"]
    client.force_login(biologist)
    html = client.get(reverse("review_case", args=["S-0003"])).content.decode()
    part = html[html.index('id="patient-context"'):]
    assert re.search(r'Platelets <span class="nobreak">6 ×10⁹/L</span> '
                     r'<strong class="flag critical">Critical low</strong>', part)
    assert '<span class="nobreak">5.20 ×10⁹/L</span>' in part
    values = {r["accession"]: r["values"] for r in patient_context_entry(history)["previous"]}
    assert values["S-0002"]["PLT"]["critical"] is True
    assert values["S-0002"]["WBC"]["decimals"] == 2
    assert values["S-0001"]["PLT"]["critical"] is False


def test_an_earlier_specimen_of_the_same_day_is_dated_to_the_minute(client, biologist,
                                                                    technician, history,
                                                                    settings):
    """Two samples drawn the same morning read which came first; other days keep the date."""
    settings.TIME_ZONE = "UTC"
    morning = specimen_create(actor=technician, accession="S-0005", patient=history.patient)
    Specimen.objects.filter(pk=morning.pk).update(
        collected_at=datetime(2026, 11, 20, 6, 30, tzinfo=UTC))
    client.force_login(biologist)
    html = client.get(reverse("review_case", args=["S-0003"])).content.decode()
    part = html[html.index('id="previous-specimens"'):]
    assert "<strong>20 November 2026, 06:30</strong>" in part
    assert "<strong>1 June 2026</strong>" in part

    from apps.reports.document import _patient_context
    from apps.review.selectors import patient_context_entry

    signed = _patient_context(patient_context_entry(history))
    assert [r["day"] for r in signed["previous"]] == ["20 November 2026, 06:30", "1 June 2026",
                                                      "1 March 2026"]
    # S-0001's signed differential is in the table: the note on it is printed; without a
    # signed earlier differential it is not (it named a column that was not there).
    assert signed["any_differential"]
    unsigned = patient_context_entry(history)
    for row in unsigned["previous"]:
        row["signature"] = None
    assert not _patient_context(unsigned)["any_differential"]


def test_an_amended_earlier_specimen_says_so(client, biologist, history):
    """"Validated (1 March 2026)" read as the first signature when the conclusion shown was an
    amendment's: its version is said, on the page and in the signed context the report
    prints."""
    from apps.reports.document import _patient_context
    from apps.review.selectors import patient_context_entry

    first = Specimen.objects.get(accession="S-0001")
    Signature.objects.create(specimen=first, version=2, meaning="validated",
                             signed_by=biologist, comment="Lymphocytes réactionnels",
                             content_sha256="1" * 64, content={})
    client.force_login(biologist)
    html = client.get(reverse("review_case", args=["S-0003"]),
                      HTTP_ACCEPT_LANGUAGE="en").content.decode()
    row = html[html.index('data-accession="S-0001"'):]
    row = " ".join(row[:row.index("</li>")].split())
    assert "amended: version 2) — Lymphocytes réactionnels" in row
    printed = _patient_context(patient_context_entry(history))
    assert [r["signature"]["version"] for r in printed["previous"] if r["signature"]] == [2]


def test_the_patient_page_shows_the_blood_counts_over_time(client, technician, history):
    """The patient page listed demographics and specimens only, though the patient had three
    counts: it shows the latest specimen's context, its trend and the signed conclusions."""
    client.force_login(technician)
    html = client.get(f"/patients/{history.patient.pseudo_id}/",
                      HTTP_ACCEPT_LANGUAGE="en").content.decode()
    part = html[html.index('id="patient-history"'):]
    part = " ".join(part[:part.index("</section>")].split())
    assert "As on the case page of the latest specimen, S-0004 (the red dot)" in part
    hgb = part[part.index('data-code="HGB"'):]
    assert hgb[:hgb.index("</svg>")].count("<circle") == 3    # S-0001..S-0003; S-0004 no count
    assert re.findall(r'data-accession="([^"]+)"', part) == ["S-0003", "S-0002", "S-0001"]
    assert "Frottis sans anomalie" in part and "X-0001" not in part


def test_a_rejected_earlier_specimen_shows_no_differential(client, biologist, history):
    """A rejection released no count: "Rejected — Per 100 white cells: ..." read as one."""
    from apps.reports.document import _patient_context
    from apps.review.selectors import patient_context_entry

    first = Specimen.objects.get(accession="S-0001")
    Signature.objects.create(specimen=first, version=2, meaning="rejected", signed_by=biologist,
                             comment="Smear unreadable", content_sha256="1" * 64,
                             content={"differential": {"per_100_wbc": {"neutrophil": 50.0,
                                                                       "lymphocyte": 50.0}}})
    client.force_login(biologist)
    html = client.get(reverse("review_case", args=["S-0003"]),
                      HTTP_ACCEPT_LANGUAGE="en").content.decode()
    row = html[html.index('data-accession="S-0001"'):]
    row = " ".join(row[:row.index("</li>")].split())
    assert "Rejected" in row and "Smear unreadable" in row and "Per 100 white cells" not in row
    printed = _patient_context(patient_context_entry(history))
    assert [r["signature"]["differential"] for r in printed["previous"] if r["signature"]] == [[]]


def test_a_patient_with_one_specimen_has_no_history_section(client, technician, specimen):
    client.force_login(technician)
    html = client.get(f"/patients/{specimen.patient.pseudo_id}/").content.decode()
    assert 'id="patient-history"' not in html
