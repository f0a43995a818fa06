"""The worklist reads the most serious finding first: a critical value (or a possible mix-up,
or blasts suspected) comes before a case with more, milder flags whose weights add up to more;
the column shows that weight, so that the list reads down in the order it is sorted."""

from __future__ import annotations

import re

from apps.patients.models import Specimen
from apps.review.selectors import worklist
from apps.workflow.services import cbc_import

CBC = (
    b"Sample No.,Date,Time,WBC(10^9/L),HGB(g/dL),MCV(fL),PLT(10^9/L),NEUT#(10^9/L)\r\n"
    b"U-1,2026/11/20,08:00:00,3.1,9.5,106.0,90,1.1\r\n"   # five milder findings
    b"U-2,2026/11/20,08:01:00,6.0,6.5,90.0,250,3.5\r\n"   # a critical haemoglobin alone
    b"U-3,2026/11/20,08:02:00,6.0,11.0,90.0,250,3.5\r\n"  # anaemia only
)


def test_a_critical_value_comes_before_more_milder_flags(client, biologist, technician):
    cbc_import(actor=technician, data=CBC)
    mild, critical, anaemia = (Specimen.objects.get(accession=a) for a in ("U-1", "U-2", "U-3"))
    assert mild.priority > critical.priority  # more weight in all...
    assert critical.urgency > mild.urgency >= anaemia.urgency > 0  # ...a less serious worst
    assert [s.accession for s in worklist()] == ["U-2", "U-1", "U-3"]
    client.force_login(biologist)
    page = client.get("/worklist/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    shown = re.findall(r'<td class="num">(\d+)</td><td><a href="[^"]+">(U-\d)</a>', page)
    assert shown == [(str(critical.urgency), "U-2"), (str(mild.urgency), "U-1"),
                     (str(anaemia.urgency), "U-3")]
    assert [int(n) for n, _ in shown] == sorted((int(n) for n, _ in shown), reverse=True)


def test_urgency_follows_the_flags_it_waits_for(technician):
    from apps.patients.models import SpecimenFlag
    from apps.patients.services import FlagRaised, specimen_flags_replace

    cbc_import(actor=technician, data=CBC)
    critical = Specimen.objects.get(accession="U-2")
    assert critical.urgency == critical.priority == 4  # one critical flag: its weight
    (source,) = set(SpecimenFlag.objects.filter(specimen=critical)
                    .values_list("source", flat=True))
    specimen_flags_replace(specimen=critical, source="score", rules_version="t", flags=[
        FlagRaised("vexas", "r", 1), FlagRaised("mds", "r", 3)])
    critical.refresh_from_db()
    assert (critical.priority, critical.urgency) == (8, 4)
    specimen_flags_replace(specimen=critical, source=source, rules_version="t", flags=[])
    critical.refresh_from_db()
    assert (critical.priority, critical.urgency) == (4, 3)
    specimen_flags_replace(specimen=critical, source="score", rules_version="t", flags=[])
    critical.refresh_from_db()
    assert (critical.priority, critical.urgency) == (0, 0)
