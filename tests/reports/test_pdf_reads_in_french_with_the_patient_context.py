"""The PDF report carries the patient context the case page shows (age and sex at collection,
earlier specimens with their validated differential and conclusion, the CBC trend drawn by the
same renderer from the same points) and reads in the reader's language: in French no English
word from the known list, no backquote or module path, no decimal point and no date that reads
two ways; in English no date that reads two ways either."""

from __future__ import annotations

import re
from dataclasses import asdict
from datetime import UTC, datetime

import pytest

from apps.analysis.scores import scores_compute
from apps.analysis.selectors import score_entry, scores_for_display
from apps.ml.scores import vexas
from apps.patients.services import specimen_create
from apps.reports.document import report_html
from apps.review.models import Signature
from apps.review.selectors import patient_context
from apps.workflow.services import cbc_import
from tests.french import date_problems, number_and_date_problems, problems
from tests.reports.conftest import ACCESSION, content_sha256
from tests.reports.pdfs import pdf_bytes, pdf_text

EARLIER = "H25-0777"
EARLIER_CBC = (
    "Nickname,Analyzer ID,Date,Time,Rack,Position,Sample No.,Patient ID,"
    "WBC(10^9/L),RBC(10^12/L),HGB(g/L),MCV(fL),PLT(10^3/uL),NEUT#(10^9/L)\r\n"
    f"XN-10^1,XN-10^12345,2026/06/15,08:40:00,000001,01,{EARLIER},MRN-77,"
    "4.80,3.90,121,99.5,162,2.40\r\n").encode()
# What a French report must not print either, beyond the pages' list: the report's own labels,
# units and sexes left in English.
PDF_ENGLISH = ["years", "Male", "Female", "White cells", "Haemoglobin", "Mean cell volume",
               "Earlier specimens", "Patient context", "Age at collection", "Signed",
               "Validated", "missing", "log-odds", "not available", "Key cells", "Models used",
               "Reference range", "Collected at", "Birth date", "Low", "High"]


def _read(report, tmp_path) -> str:  # type: ignore[no-untyped-def]
    """The PDF's text with every run of white space as one space (labels wrap in the tables)."""
    return " ".join(pdf_text(pdf_bytes(report), tmp_path).split())


def _english(text: str) -> list[str]:
    return problems(text) + [w for w in PDF_ENGLISH
                             if re.search(rf"(?<![\w-]){re.escape(w)}(?![\w-])", text)]


@pytest.fixture
def case(make_specimen, sign, technician):  # type: ignore[no-untyped-def]
    """H25-0001 (2026-11-20) signed with its scores, after H25-0777 of the same patient
    (2026-06-15), signed with a French conclusion."""
    specimen = make_specimen()
    earlier = specimen_create(actor=technician, accession=EARLIER, patient=specimen.patient,
                              collected_at=datetime(2026, 6, 15, 8, 0, tzinfo=UTC))
    cbc_import(actor=technician, data=EARLIER_CBC, specimen=earlier)
    sign(earlier, comment="Macrocytose isolée, à contrôler.")
    scores_compute(specimen_id=specimen.pk, trigger="test")
    scores = [score_entry(s) for s in scores_for_display(specimen)]
    # A scored VEXAS rule too, so its evidence table (every finding, figures) is printed.
    result = vexas.vexas_score(vexas.VexasInputs(
        n_neutrophils=25, vacuole_probs=[0.9] * 6 + [0.1] * 19, mcv_fl=104.5, hgb_g_dl=9.8,
        plt_10_9_l=90.0, sex="F", age_years=75.0))
    scores = [s for s in scores if s["name"] != "vexas"] + [{
        "name": "vexas", "definition": "vexas-suspicion", "version": result.version,
        "sha256": "", "state": result.state, "value": result.score, "level": result.level,
        "thresholds": result.thresholds, "reasons": [],
        "evidence": {"contributions": [asdict(c) for c in result.contributions]},
        "text": result.disclaimer}]
    return specimen, sign(specimen, comment="Anémie macrocytaire : contrôle du frottis.",
                          scores=scores)


def test_the_french_pdf_has_the_patient_context_and_no_english(case, rendered, tmp_path):
    _specimen, signature = case
    assert signature.content["patient_context"]["previous"][0]["accession"] == EARLIER
    text = _read(rendered(signature, "fr"), tmp_path)
    assert "Contexte du patient" in text and "Prélèvements antérieurs" in text
    assert "Âge au prélèvement" in text and "75 ans" in text and "Féminin" in text
    assert EARLIER in text and "Macrocytose isolée, à contrôler." in text
    assert "15 juin 2026" in text and "20 novembre 2026" in text
    for caption in ("Hb (g/dL)", "VGM (fL)", "Plaquettes (×10⁹/L)", "PNN (×10⁹/L)",
                    "GB (×10⁹/L)"):
        assert caption in text, caption
    assert "Hémoglobine" in text and "Leucocytes" in text  # the CBC table's names
    # The earlier specimens' values carry their units, as on the case page.
    earlier = " ".join(text.split("Prélèvements antérieurs", 1)[1].split())
    assert re.search(r"\d+,\d g/dL", earlier) and "fL" in earlier, earlier[:300]
    found = _english(text)
    contexts = [text[max(0, m.start() - 60):m.end() + 60] for word in found
                for m in re.finditer(re.escape(word.split(": ")[-1]), text)][:5]
    assert found == [], (found, contexts)
    assert number_and_date_problems(text) == []


def test_the_english_pdf_reads_in_english_with_unambiguous_dates(case, rendered, tmp_path):
    _specimen, signature = case
    text = _read(rendered(signature, "en"), tmp_path)
    assert "Patient context" in text and "Earlier specimens" in text
    assert "Age at collection" in text and "75 years" in text and "Female" in text
    assert "15 June 2026" in text and "20 November 2026" in text
    assert date_problems(text) == []
    # The check finds English where it is expected: it reads the PDF's text.
    assert {"Neutrophil", "Haemoglobin", "Earlier specimens"} <= set(_english(text))


def test_the_report_draws_the_case_pages_trend_from_the_signed_points(case, settings):
    specimen, signature = case
    html = report_html(signature=signature, language="fr", media_root=settings.MEDIA_ROOT)
    drawn = re.findall(r'<figure class="trend" data-code="([^"]+)">.*?<polyline points="([^"]+)"',
                       html, re.S)
    page = patient_context(specimen)
    assert page is not None
    assert drawn == [(t["code"], t["panel"].points) for t in page["trends"]]
    assert [code for code, _points in drawn] == ["HGB", "MCV", "PLT", "NEUT#", "WBC"]


def test_a_report_signed_before_the_patient_context_prints_without_it(case, rendered, tmp_path,
                                                                      signer):
    specimen, signature = case
    content = {k: v for k, v in signature.content.items() if k != "patient_context"}
    content["signature"] = {**content["signature"], "version": 2}
    older = Signature.objects.create(
        specimen=specimen, version=2, meaning="validated", signed_by=signer,
        comment=signature.comment, content=content, content_sha256=content_sha256(content))
    text = _read(rendered(older, "fr"), tmp_path)
    assert "Contexte du patient" not in text and "Âge au prélèvement" not in text
    assert ACCESSION in text and "Féminin" in text


def test_an_earlier_critical_value_reads_critical_in_the_report(make_specimen, sign, technician,
                                                                 settings):
    """Platelets 6 on an earlier specimen: "Critical low" in the report's patient context, as
    its own CBC table says ("Critique (bas)" in French), not "Low"."""

    specimen = make_specimen()
    earlier = specimen_create(actor=technician, accession=EARLIER, patient=specimen.patient,
                              collected_at=datetime(2026, 6, 15, 8, 0, tzinfo=UTC))
    cbc_import(actor=technician, data=EARLIER_CBC.replace(b",162,", b",6,"), specimen=earlier)
    signature = sign(specimen)
    html = report_html(signature=signature, language="en", media_root=settings.MEDIA_ROOT)
    row = html[html.index(f'data-accession="{EARLIER}"'):]
    row = row[:row.index("</tr>")]
    assert '6 <span class="unit">×10⁹/L</span> <span class="flag">Critical low</span>' in row
    french = report_html(signature=signature, language="fr", media_root=settings.MEDIA_ROOT)
    row = french[french.index(f'data-accession="{EARLIER}"'):]
    assert "Critique (bas)" in row[:row.index("</tr>")]


def test_the_trend_headings_keep_the_analysers_decimals(case, settings, client, biologist):
    """WBC 3.10 now and 4.80 before: the plot's heading reads "values 3.10–4.80", as the CBC
    table prints them, on the page and in the report; each dot's title too. "values": the
    patient's own lowest and highest, not read as the reference interval the band draws."""
    specimen, signature = case
    for language, word, low, high in (("en", "values", "3.10", "4.80"),
                                      ("fr", "valeurs", "3,10", "4,80")):
        html = report_html(signature=signature, language=language,
                           media_root=settings.MEDIA_ROOT)
        figure = html[html.index('data-code="WBC"'):]
        assert f"· {word} {low}–{high}</figcaption>" in figure[:figure.index("</svg>")]
    client.force_login(biologist)
    page = client.get(f"/review/{specimen.accession}/").content.decode()
    figure = page[page.index('data-code="NEUT#"'):]
    figure = figure[:figure.index("</svg>")]
    assert "· values 1.20–2.40 · " in figure and ": 1.20</title>" in figure
