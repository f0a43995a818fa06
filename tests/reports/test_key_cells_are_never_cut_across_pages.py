"""A report with a full set of key cells: each cell (image, overlay and caption) lies on one page,
and the "Key cells" heading on the page of the first one. Checked on WeasyPrint's own layout,
the one the PDF is written from, in both languages (French captions are longer)."""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

import pytest

from apps.reports.document import report_html
from apps.reports.pdf import render_document
from apps.reports.services import _static_dir
from apps.review.selectors import KEY_CELLS

# More cells than the report prints, of classes with short and long captions.
CLASSES = {"neutrophil": 6, "eosinophil": 3, "lymphocyte": 3, "monocyte": 2}
# Key cells laid out as plain blocks that may break anywhere: the control that shows the check
# sees a cut cell when there is one.
BREAKABLE = "<style>.cell { display: block; break-inside: auto; }</style></head>"


def _pages(html: str, media: Path) -> tuple[dict[str, set[int]], set[int]]:
    """The pages each key cell (by cell id) and the key-cell heading have a box on. A box cut
    by a page break has a part on each page; an anonymous box shares its element's."""
    static = _static_dir()
    document = render_document(html, base_dir=static, allowed_roots=[static, media])
    cells: dict[str, set[int]] = defaultdict(set)
    heading: set[int] = set()
    for number, page in enumerate(document.pages, start=1):
        for box in page._page_box.descendants():
            element = getattr(box, "element", None)
            if element is None:
                continue
            if element.get("data-cell") is not None:
                cells[element.get("data-cell")].add(number)
            if element.get("id") == "key-cells":
                heading.add(number)
    return cells, heading


@pytest.mark.parametrize("language", ["en", "fr"])
def test_each_key_cell_lies_on_one_page(make_specimen, sign, settings, language):
    media = Path(settings.MEDIA_ROOT).resolve()
    signature = sign(make_specimen(classes=CLASSES))
    ids = {str(c["cell_id"]) for c in signature.content["key_cells"]}
    assert len(ids) == KEY_CELLS
    html = report_html(signature=signature, language=language, media_root=media)

    cells, heading = _pages(html, media)
    assert set(cells) == ids
    cut = {cell: sorted(pages) for cell, pages in cells.items() if len(pages) > 1}
    assert not cut, f"key cells cut across pages: {cut}"
    first = str(signature.content["key_cells"][0]["cell_id"])
    assert heading == cells[first], "the Key cells heading is not on its first cell's page"
    assert len(set().union(*cells.values())) > 1  # the cells fill more than one page

    # Whether a breakable cell is cut depends on where the page ends: shifted down a little at
    # a time, one of these layouts cuts one.
    def cuts(shift_mm: int) -> bool:
        style = BREAKABLE.replace("</style>", f".key-cells {{ padding-top: {shift_mm}mm; }}"
                                  "</style>")
        breakable, _ = _pages(html.replace("</head>", style, 1), media)
        return any(len(pages) > 1 for pages in breakable.values())

    assert any(cuts(shift) for shift in (0, 15, 30, 45)), "the check never sees a cut"
