"""The worklist names its flags in words with their reason (translated, local decimal mark),
never as codes, and finds a case by accession, patient id or name, flagged or not."""

from __future__ import annotations

import re

from apps.patients.models import Patient, Specimen
from apps.review.selectors import worklist
from apps.workflow.services import cbc_import

CBC = (
    b"Sample No.,Date,Time,WBC(10^9/L),HGB(g/dL),MCV(fL),PLT(10^9/L),NEUT#(10^9/L)\r\n"
    b"W-1,2026/11/20,08:00:00,6.0,14.0,90.0,250,3.5\r\n"      # normal: not flagged
    b"W-2,2026/11/20,08:01:00,3.1,9.5,106.5,90,1.1\r\n"       # several flags
)


def _page(client, user, language, query=""):  # type: ignore[no-untyped-def]
    client.force_login(user)
    client.post("/i18n/setlang/", {"language": language, "next": "/"})
    return client.get(f"/worklist/{query}").content.decode()


def _tags(page: str) -> list[str]:
    return re.findall(r'<span class="tag">([^<]*)</span>', page)


def test_flag_names_and_reasons_in_english_and_french(client, biologist, technician):
    cbc_import(actor=technician, data=CBC)
    page = _page(client, biologist, "en")
    assert set(_tags(page)) >= {"Anaemia", "Macrocytosis", "Neutropenia", "Thrombocytopenia"}
    assert "MCV 106.5 fL &gt; 100" in page
    assert ">macrocytosis<" not in page and ">anaemia<" not in page
    assert '<option value="macrocytosis">Macrocytosis</option>' in page
    page = _page(client, biologist, "fr")
    assert set(_tags(page)) >= {"Anémie", "Macrocytose", "Neutropénie", "Thrombopénie"}
    assert "VGM 106,5 fL &gt; 100" in page and "Hb 9,5 g/dL" in page  # French short names
    assert "in_review" not in page.split("<table", 1)[0].split("<h1>", 1)[1].split("</p>")[0]


def test_search_by_accession_patient_id_or_name(client, biologist, technician):
    cbc_import(actor=technician, data=CBC)
    patient = Patient.objects.create(external_id="MRN-77", family_name="Durand",
                                     given_name="Alice")
    Specimen.objects.filter(accession="W-1").update(patient=patient)
    # W-1 is not flagged: the worklist hides it, a search finds it.
    assert [s.accession for s in worklist()] == ["W-2"]
    assert [s.accession for s in worklist(query="w-1")] == ["W-1"]
    assert [s.accession for s in worklist(query="durand")] == ["W-1"]
    assert [s.accession for s in worklist(query="MRN-77")] == ["W-1"]
    assert [s.accession for s in worklist(query=patient.pseudo_id)] == ["W-1"]
    assert [s.accession for s in worklist(query="nobody")] == []
    page = _page(client, biologist, "en", "?q=Durand")
    assert ">W-1</a>" in page and ">W-2</a>" not in page
    assert 'value="Durand"' in page
