from __future__ import annotations

from apps.review.selectors import worklist
from apps.workflow.services import cbc_import

CBC = (
    b"Sample No.,Date,Time,WBC(10^9/L),HGB(g/dL),MCV(fL),PLT(10^9/L),NEUT#(10^9/L)\r\n"
    b"W-1,2026/11/20,08:00:00,6.0,14.0,90.0,250,3.5\r\n"      # normal: not on the worklist
    b"W-2,2026/11/20,08:01:00,3.1,9.5,106.0,90,1.1\r\n"       # anaemia+macro+neutro+thrombo
    b"W-3,2026/11/20,08:02:00,6.0,11.0,90.0,250,3.5\r\n"      # anaemia only (unknown sex: 12)
)


def test_flagged_specimens_by_priority_with_their_reasons(client, biologist, technician):
    cbc_import(actor=technician, data=CBC)
    listed = list(worklist())
    assert [s.accession for s in listed] == ["W-2", "W-3"]
    assert {f.name for f in listed[0].flags.all()} == {
        "anaemia", "macrocytosis", "neutropenia", "thrombocytopenia", "leukopenia"}
    assert [s.accession for s in worklist(flag="macrocytosis")] == ["W-2"]
    assert [s.accession for s in worklist(include_unflagged=True)] == ["W-2", "W-3", "W-1"]
    client.force_login(biologist)
    page = client.get("/worklist/?flag=anaemia").content.decode()
    assert "W-2" in page and "W-3" in page and "W-1" not in page
    assert "MCV 106.0 fL &gt; 100" in page  # as the analyser wrote it
    # The counts above the list are of the flagged specimens waiting, and say so: with the
    # unflagged ones listed too, "Analysed: 2" alone read as if it counted the list.
    page = " ".join(client.get("/worklist/?all=1", HTTP_ACCEPT_LANGUAGE="en")
                    .content.decode().split())
    counts = page.split('id="worklist-counts">', 1)[1].split("</p>", 1)[0]
    assert counts.startswith("Flagged and waiting, by status: ") and " 2</span>" in counts


def test_macrocytosis_rule_boundary(technician):
    data = (b"Sample No.,MCV(fL)\r\nB-1,100.0\r\nB-2,100.1\r\n")
    cbc_import(actor=technician, data=data)
    assert [s.accession for s in worklist(flag="macrocytosis")] == ["B-2"]
