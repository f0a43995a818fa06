"""A count the CBC file left out (a generic CSV with the white cells' shares and the WBC only)
is a row of the CBC table, right after its share, marked as computed and read against the
count's reference interval, on the case page, the specimen page, the signed report and the API;
the stored values stay what the file said."""

from __future__ import annotations

from django.utils import translation

from apps.hemograms.models import CBCResult, CBCValue
from apps.hemograms.selectors import ComputedCount, cbc_computed, cbc_rows
from apps.workflow.services import cbc_import
from tests.helpers import case_page_html

SHARES_ONLY = (b"accession,measured_at,sex,birth_date,WBC(10^9/L),HGB(g/dL),PLT(10^9/L),"
               b"NEUT%(%),LYMPH%(%),MONO%(%)\r\n"
               b"S-0001,2026-11-20 08:00,M,1950-03-01,1.60,10.1,120,25.0,60.0,15.0\r\n")
WITH_ANC = (b"accession,measured_at,sex,birth_date,WBC(10^9/L),NEUT%(%),NEUT#(10^9/L)\r\n"
            b"S-0001,2026-11-20 08:00,M,1950-03-01,1.60,25.0,0.41\r\n")


def _imported(technician, specimen, monkeypatch, data: bytes) -> CBCResult:  # type: ignore[no-untyped-def]
    monkeypatch.setattr("apps.analysis.tasks.scores_compute_task.delay", lambda *_: None)
    outcome = cbc_import(actor=technician, data=data, specimen=specimen)
    assert outcome.results_created == 1, outcome.errors
    return CBCResult.objects.get(specimen=specimen)


def test_each_count_left_out_follows_its_share(technician, specimen, monkeypatch):
    result = _imported(technician, specimen, monkeypatch, SHARES_ONLY)
    rows = cbc_rows(result)
    codes = [r.code for r in rows]
    assert codes == ["WBC", "HGB", "PLT", "NEUT%", "NEUT#", "LYMPH%", "LYMPH#", "MONO%", "MONO#"]
    computed = {r.code: r for r in rows if isinstance(r, ComputedCount)}
    neut, lymph, mono = computed["NEUT#"], computed["LYMPH#"], computed["MONO#"]
    # Share x WBC to the hundredth; against the adult intervals the count's set holds.
    assert (neut.value, neut.share_code, neut.ref_low, neut.ref_high) == (0.4, "NEUT%", 1.8, 7.5)
    assert neut.flag == "L" and neut.critical  # 0.40 < 0.5: a value to call through
    assert (lymph.value, lymph.flag, lymph.critical) == (0.96, "L", False)
    assert (mono.value, mono.flag) == (0.24, "")
    # Nothing computed is stored: the values are the file's.
    assert not CBCValue.objects.filter(result=result, code__endswith="#").exists()


def test_a_count_the_file_gives_is_never_computed(technician, specimen, monkeypatch):
    result = _imported(technician, specimen, monkeypatch, WITH_ANC)
    assert cbc_computed(result) == []
    assert [r.code for r in cbc_rows(result)] == ["WBC", "NEUT%", "NEUT#"]


def test_the_pages_mark_the_computed_rows(client, technician, biologist, specimen, monkeypatch):
    _imported(technician, specimen, monkeypatch, SHARES_ONLY)
    english = case_page_html(client, biologist, specimen, "en")
    assert english.count('data-computed-from="') == 3
    assert 'data-computed-from="NEUT%"' in english
    assert "computed: NEUT% × WBC (the file gave no count)" in english
    assert '<td class="num">0.40</td>' in english
    french = case_page_html(client, biologist, specimen, "fr")
    assert "calculé\u00a0: NEUT% × leucocytes (le fichier ne donnait pas le nombre)" in french
    client.force_login(technician)
    page = client.get(f"/specimens/{specimen.accession}/").content.decode()
    assert page.count('data-computed-from="') == 3


def test_the_signed_content_and_the_api_keep_them_apart(technician, biologist, specimen,
                                                       monkeypatch, settings):
    from apps.analysis.selectors import specimen_document
    from apps.review.selectors import report_content

    _imported(technician, specimen, monkeypatch, SHARES_ONLY)
    content = report_content(specimen)
    assert "NEUT#" not in {v["code"] for v in content["cbc"]["values"]}
    signed = {c["code"]: c for c in content["cbc"]["computed"]}
    assert signed["NEUT#"]["value"] == 0.4 and signed["NEUT#"]["share_code"] == "NEUT%"
    assert signed["NEUT#"]["critical"] is True
    document = specimen_document(specimen)
    (cbc,) = document["cbc"]
    assert [c["code"] for c in cbc["computed"]] == ["NEUT#", "LYMPH#", "MONO#"]
    assert "NEUT#" not in {v["code"] for v in cbc["values"]}
    with translation.override("en"):
        from apps.reports.document import _cbc
        rows = _cbc(content["cbc"])["rows"]  # type: ignore[index]
    assert [r["code"] for r in rows][3:5] == ["NEUT%", "NEUT#"]
    assert rows[4]["computed_from"] == "NEUT%" and rows[4]["value"] == "0.40"
    assert rows[4]["range"] == "1.8 – 7.5" and rows[4]["critical"]


def test_count_intervals_fill_a_missing_count_beside_ig(monkeypatch):
    """IG# given with its interval beside four of the five counts: the fifth, left out, still
    gets the computed count's interval (the check once counted IG# among the five)."""
    from types import SimpleNamespace

    from apps.hemograms import selectors

    values = [SimpleNamespace(code=c, value=1.0, ref_low=0.1, ref_high=5.0)
              for c in ("NEUT#", "LYMPH#", "MONO#", "EO#", "IG#")]
    result = SimpleNamespace(values=SimpleNamespace(all=lambda: values))
    computed = SimpleNamespace(code="BASO#", ref_low=0.0, ref_high=0.1)
    monkeypatch.setattr(selectors, "cbc_computed", lambda r, s=None: [computed])
    intervals = selectors.count_intervals(result)  # type: ignore[arg-type]
    assert intervals["BASO#"] == (0.0, 0.1) and intervals["IG#"] == (0.1, 5.0)
