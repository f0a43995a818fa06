"""The PDF shows what was signed: identifiers, CBC, differential, statement, signature block,
content hash, models, key cells with their overlays, unavailable outputs as words."""

from __future__ import annotations

import re

from apps.reports.document import report_html
from tests.reports.pdfs import pdf_bytes, pdf_text, squeezed


def test_pdf_text_has_identifiers_values_statement_and_hash(signed, rendered, tmp_path):
    report = rendered(signed, "en")
    text = pdf_text(pdf_bytes(report), tmp_path)
    flat = " ".join(text.split())
    assert "H25-0001" in text
    assert "DUPONT Jeanne" in flat and "MRN-77" in text
    assert signed.content["patient"]["pseudo_id"] in text
    assert "4 March 1951" in flat and "Female" in text
    # WBC, HGB (98 g/L imported as g/dL), MCV, PLT, NEUT#, with the analyser's decimals
    for value in ("3.10", "9.8", "104.5", "90", "1.20"):
        assert value in text.split(), value
    assert "g/dL" in text and "80 – 100" in text and "High" in text and "Low" in text
    assert "reviewed and validated by the biologist Claire Martin" in flat
    assert "Claire Martin (cmartin)" in flat
    assert "Compatible with a reactive neutrophilia." in flat
    assert signed.content_sha256 in squeezed(text)
    assert "hemaclinic-cells" in text and "ab" * 32 in squeezed(text)
    assert "No score was computed for this specimen." in flat
    assert "23 November 2026, 10:30 (CET)" in flat      # signed at 09:30 UTC, shown in Paris time
    assert "Reason for amendment" not in flat               # version 1 is not an amendment


def test_differential_counts_and_percentages(signed, rendered, tmp_path):
    flat = " ".join(pdf_text(pdf_bytes(rendered(signed, "en")), tmp_path).split())
    # 2 neutrophils, 1 monocyte (model), 1 lymphocyte (reviewed) of 4 white cells; beside them
    # the scanner's pre-classification (its folders: 2 neutrophils, 1 eosinophil, 1 lymphocyte).
    # Beside each share its absolute count from the blood count's WBC (3.1 x10^9/L).
    # Short of the target (4 cells): each absolute count with its 95% interval.
    # 1.55 below the interval of the blood count's own NEUT# (1.8-7.5), but its 95% interval
    # on 4 cells reaches into it: not read Low, as the result message does not.
    # The analyser's NEUT% computed from the NEUT# the file gave (1.20 of 3.10), then the
    # scanner's 50.0.
    assert "Neutrophils 2 50.0 1.55 (0.47–2.63) 38.7 50.0" in flat
    assert "only when its whole 95% interval lies past the limit" in flat
    assert "Lymphocytes 1 25.0 0.78 (0.14–2.17) 25.0" in flat
    assert "Monocytes 1 25.0 0.78 (0.14–2.17) 0.0" in flat
    assert "Eosinophils 0 0.0 0.00 (0.00–1.52) 25.0" in flat
    assert "NRBC (per 100 WBC) 0 0.0 0.00 0.0" in flat
    assert "×10⁹/L: each share times the analyser's white cell count (WBC 3.10 ×10⁹/L)." in flat
    assert "White cells counted 4 target 100" in flat
    assert "Only 4 white cells classified, fewer than the 100 the laboratory counts" in flat
    # On 4 cells a share is anywhere in a wide interval: the report says how wide.
    assert ("95% interval of each share on the 4 white cells counted (Wilson), per 100 WBC: "
            "Neutrophils 15.0–85.0 · Lymphocytes 4.6–69.9") in flat
    assert ("The file gave counts without their shares: NEUT% per 100 WBC computed as the "
            "count ÷ WBC × 100.") in flat
    assert ("1 cell classified one by one by the biologist (reclassified or confirmed); the "
            "others keep the model's class.") in flat


def test_key_cells_embed_images_and_unavailable_outputs_are_words(signed, rendered, settings,
                                                                   tmp_path):
    html = report_html(signature=signed, language="en", media_root=settings.MEDIA_ROOT)
    # A model's probability as a whole percentage (0.125: "12%"), in French with a no-break
    # space that keeps the sign on its line.
    assert "12%" in html and "12.5" not in html
    french = report_html(signature=signed, language="fr", media_root=settings.MEDIA_ROOT)
    assert "12\u00a0%" in french and "12 %" not in french
    for cell in signed.content["key_cells"]:
        assert cell["cam"] and (settings.MEDIA_ROOT / cell["cam"]).as_uri() in html
        assert (settings.MEDIA_ROOT / cell["image"]).as_uri() in html
    data = pdf_bytes(rendered(signed, "en"))
    assert data.count(b"/Subtype /Image") >= 2 * len(signed.content["key_cells"])
    flat = " ".join(pdf_text(data, tmp_path).split())
    # Anomaly outputs on the 2 neutrophils only, named as the model card does; the two the
    # model lacks are said once for all the cells, not on every neutrophil.
    assert "Hypogranulation not available" not in flat and "Barr body not available" not in flat
    assert flat.count("Outputs this model does not give (for any cell): Barr body, "
                      "hypogranulation.") == 1
    assert flat.count("Vacuole output (probability) 12%") == 2
    assert flat.count("Non-segmented nucleus (lobation proxy, also band forms)") == 2
    assert "Pseudo-Pelger" not in flat
    # The eosinophil folder's cell, signed a monocyte (the model's class): the scanner's other
    # class is kept; the cells whose folder names their signed class say nothing of it.
    # (pdftotext drops the hyphen where the narrow cell breaks the word.)
    assert len(re.findall(r"Scanner's pre-?classification ≠ Eosinophil", flat)) == 1
    assert flat.count("≠ ") == 1


def test_amendment_and_rejection_are_stated(make_specimen, sign, rendered, tmp_path):
    specimen = make_specimen()
    sign(specimen)
    amended = sign(specimen, version=2, meaning="rejected",
                   amendment_reason="Wrong specimen: tubes swapped at reception.")
    flat = " ".join(pdf_text(pdf_bytes(rendered(amended, "en")), tmp_path).split())
    assert "Amended report" in flat
    assert "Reason for amendment Wrong specimen: tubes swapped at reception." in flat
    assert "reviewed and rejected by the biologist Claire Martin" in flat
    assert "Report version 2" in flat
    # A rejection withdraws the result it replaces, and its differential is no result.
    assert "The result of version 1 is withdrawn: this version is not validated." in flat
    assert "The differential is unchanged." not in flat
    assert "Not validated: the biologist rejected this result." in flat


def test_scores_are_printed_with_their_version(make_specimen, sign, rendered, tmp_path):
    score = {"name": "VEXAS suspicion", "version": "vexas-rule/1.0.0", "state": "scored",
             "value": 0.725, "level": "high", "text": "Prompt UBA1 sequencing.",
             "inputs": {"mcv": 104.5}}
    indeterminate = {"name": "MDS image evidence", "version": "mds-image/1.0.0",
                     "state": "indeterminate", "value": None, "level": None,
                     "text": "Fewer than 20 neutrophils.", "inputs": {}}
    signature = sign(make_specimen(), scores=[score, indeterminate])
    flat = " ".join(pdf_text(pdf_bytes(rendered(signature, "fr")), tmp_path).split())
    # Each score's version is printed below its name (read after its row's last cell).
    assert "VEXAS suspicion calculé 0,725 élevé vexas-rule/1.0.0" in flat
    assert "MDS image evidence indéterminé — — mds-image/1.0.0" in flat
    assert "Prompt UBA1 sequencing." in flat and "Fewer than 20 neutrophils." in flat
    assert "Aucun score" not in flat


def test_a_barr_body_is_not_named_in_a_mans_report():
    """A Barr body is the inactive X chromosome of a woman's neutrophil: 'not available' for it
    in a man's signed report is clutter a hematologist strikes out."""
    from django.utils import translation

    from apps.reports.document import _outputs_not_available

    cells = [{"class": "neutrophil", "domain_flag": "",
              "anomalies": {"vacuole": 0.2, "barr_body": None, "hypogranulation": None}}]
    with translation.override("en"):
        assert _outputs_not_available(cells, "M") == \
            "Outputs this model does not give (for any cell): hypogranulation."
        assert "Barr body" in _outputs_not_available(cells, "F")
        assert _outputs_not_available([{**cells[0], "class": "lymphocyte"}], "F") == ""
