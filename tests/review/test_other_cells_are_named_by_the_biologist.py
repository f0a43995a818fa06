"""A cell classed "other" is a white cell of no listed class: the biologist says what it is
(the page asks when key O is pressed), and the report and the HL7 result name it ("Other:
plasma cell 2, not named 1") instead of printing "Other 1" that no hematologist can read. The
name is audited with the class; any other class clears it."""

from __future__ import annotations

from django.utils import translation

from apps.core.models import AuditEvent
from apps.review.display import differential_table
from apps.review.selectors import differential
from apps.review.services import cells_reclassify
from apps.smears.models import Cell
from tests.reports.hl7_messages import result_message


def test_named_counted_audited_and_cleared(biologist, analysed):
    a, b, c = Cell.objects.filter(specimen=analysed)[:3]
    cells_reclassify(actor=biologist, specimen=analysed, cell_ids=[a.pk, b.pk],
                     new_class="other", name="  plasma   cell ")
    cells_reclassify(actor=biologist, specimen=analysed, cell_ids=[c.pk], new_class="other")
    assert Cell.objects.get(pk=a.pk).reviewed_name == "plasma cell"
    diff = differential(analysed)
    assert diff["other_names"] == {"plasma cell": 2, "": 1}
    with translation.override("en"):
        assert differential_table(diff)["other_note"] == "Other: plasma cell 2, not named 1."
    with translation.override("fr"):
        assert differential_table(diff)["other_note"] == ("Autres\u00a0: plasma cell 2, "
                                                          "non nommée 1.")
    event = AuditEvent.objects.filter(action="cell.reclassify", object_id=str(a.pk)).latest("id")
    assert event.after["name"] == "plasma cell"
    # Another class clears the name; the note then counts what is left.
    cells_reclassify(actor=biologist, specimen=analysed, cell_ids=[a.pk], new_class="lymphocyte")
    assert Cell.objects.get(pk=a.pk).reviewed_name == ""
    assert differential(analysed)["other_names"] == {"plasma cell": 1, "": 1}
    # Undoing that move (Ctrl-Z) gives the cell back its class and the name it had.
    cells_reclassify(actor=biologist, specimen=analysed, cell_ids=[a.pk], new_class="other",
                     undo=True)
    assert Cell.objects.get(pk=a.pk).reviewed_name == "plasma cell"


def test_the_hl7_result_names_them():
    msg = result_message({"per_100_wbc": {"neutrophil": 97.0, "other": 3.0}, "wbc_counted": 100,
                          "other_names": {"plasma cell": 2, "": 1}})
    notes = [msg.unescape(str(n[3])) for n in msg.segments("NTE")]
    assert "Other leukocytes, as the biologist named them: plasma cell (2); not named (1)." in notes
    # Without an "other" share there is nothing to name.
    plain = result_message({"per_100_wbc": {"neutrophil": 100.0}, "wbc_counted": 100,
                            "other_names": {}})
    assert not any("Other leukocytes" in msg.unescape(str(n[3])) for n in plain.segments("NTE"))


def test_a_key_cell_classed_other_shows_its_name(biologist, analysed, settings):
    from apps.reports.document import report_context
    from apps.review.models import Signature
    from apps.review.selectors import report_content

    cell = Cell.objects.filter(specimen=analysed).first()
    cells_reclassify(actor=biologist, specimen=analysed, cell_ids=[cell.pk], new_class="other",
                     name="plasma cell")
    content = report_content(analysed, comment="")
    (key,) = [c for c in content["key_cells"] if c["cell_id"] == cell.pk]
    assert key["name"] == "plasma cell"
    signature = Signature(specimen=analysed, version=1, meaning="validated",
                          signed_by=biologist, content=content, content_sha256="ab" * 32)
    with translation.override("en"):
        cards = report_context(signature=signature, media_root=settings.MEDIA_ROOT)["key_cells"]
    assert [c["label"] for c in cards if c["cell_id"] == cell.pk] == ["Other (plasma cell)"]


def test_names_counted_alike_are_listed_by_name_whatever_the_cells_order(biologist, analysed):
    """Two names of one cell each: listed by name, so that the page, the signed report and the
    result message say them in one order on every database."""
    from apps.review.selectors import differential

    first, second = Cell.objects.filter(specimen=analysed).order_by("pk")[:2]
    # The cell read first carries the name that sorts last.
    cells_reclassify(actor=biologist, specimen=analysed, cell_ids=[first.pk],
                     new_class="other", name="plasmocyte")
    cells_reclassify(actor=biologist, specimen=analysed, cell_ids=[second.pk],
                     new_class="other", name="lymphocyte réactif")
    assert list(differential(analysed)["other_names"]) == ["lymphocyte réactif", "plasmocyte"]


def test_the_names_print_in_that_order_whatever_order_the_json_keeps():
    """A jsonb column keeps an object's keys shortest first: the signed names come back
    "plasmocyte" before "lymphocyte réactif", and still print by count, then by name."""
    from apps.review.display import other_note

    with translation.override("fr"):
        assert other_note({"plasmocyte": 1, "lymphocyte réactif": 1, "tricholeucocyte": 2}) == \
            "Autres\u00a0: tricholeucocyte 2, lymphocyte réactif 1, plasmocyte 1."
