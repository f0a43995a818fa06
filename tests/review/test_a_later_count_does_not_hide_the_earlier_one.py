"""A specimen with two blood counts (a rerun, a count attached after an amendment): the table
shows the latest and the other one is listed under it with its time and key values, on the
case page, the specimen page, in the signed content and in the report."""

from __future__ import annotations

from apps.hemograms.selectors import cbc_earlier, cbc_latest
from apps.review.selectors import report_content
from apps.workflow.services import cbc_import

CSV = ("Sample No.,Date,Time,WBC(10^9/L),HGB(g/dL),MCV(fL),PLT(10^9/L)\r\n"
       "S-0001,2026/11/20,08:00:00,3.0,9.4,106.0,98\r\n"
       "S-0001,2026/11/20,15:40:00,3.1,9.1,105.0,91\r\n")


def test_the_earlier_count_is_listed_under_the_latest(client, biologist, technician, analysed):
    assert cbc_import(actor=technician, data=CSV.encode(), specimen=analysed).results_created \
        == 2
    latest = cbc_latest(analysed)
    assert {v.code: v.value for v in latest.values.all()}["HGB"] == 9.1
    earlier = cbc_earlier(analysed, latest)
    assert [(v["code"], v["value"]) for v in earlier[0]["values"]] == [
        ("WBC", 3.0), ("HGB", 9.4), ("MCV", 106.0), ("PLT", 98.0)]
    client.force_login(biologist)
    for url in (f"/review/{analysed.accession}/", f"/specimens/{analysed.accession}/"):
        page = " ".join(client.get(url).content.decode().split())
        assert "Other blood counts of this specimen (the table shows the latest):" in page
        # Short names, and the decimals the analyser gave (WBC 3.0, MCV 106.0).
        assert "Hb 9.4&nbsp;g/dL" in page and "Platelets 98&nbsp;×10⁹/L" in page
        assert "WBC 3.0&nbsp;×10⁹/L" in page and "MCV 106.0&nbsp;fL" in page
    content = report_content(analysed)
    assert [v["value"] for v in content["cbc"]["earlier"][0]["values"]] == [3.0, 9.4, 106.0,
                                                                           98.0]
    assert content["cbc"]["earlier"][0]["measured_at"].startswith("2026-11-20")


def test_a_single_count_lists_nothing(client, biologist, technician, analysed):
    cbc_import(actor=technician, data=CSV.encode().rsplit(b"\r\n", 2)[0] + b"\r\n",
               specimen=analysed)
    assert cbc_earlier(analysed, cbc_latest(analysed)) == []
    client.force_login(biologist)
    assert 'id="cbc-earlier"' not in client.get(f"/review/{analysed.accession}/").content.decode()


def test_an_alarm_of_the_earlier_count_stays_a_finding(client, biologist, technician, analysed):
    """A "Blasts?" on the first count stays on the worklist, the case page, the signed content
    and the result message when a later count without it is attached."""
    from apps.hemograms.models import CBCResult
    from apps.hemograms.services import specimen_flags_update
    from apps.reports.hl7_result import limits

    cbc_import(actor=technician, data=CSV.encode(), specimen=analysed)
    first = CBCResult.objects.get(specimen=analysed, measured_at__hour=8)
    first.analyser_messages = [{"kind": "ip", "text": "Blasts/Abn Lympho?"}]
    first.save()
    specimen_flags_update(specimen=analysed)
    assert analysed.flags.filter(name="analyser_message").exists()
    client.force_login(biologist)
    page = " ".join(client.get(f"/review/{analysed.accession}/").content.decode().split())
    assert "Analyser flag (IP message):</strong> Blasts/Abn Lympho?" in page
    content = report_content(analysed)
    assert content["cbc"]["earlier"][0]["ip_messages"] == ["Blasts/Abn Lympho?"]
    assert "Analyser flag (IP message) on the blood count: Blasts/Abn Lympho?" in limits(content)
