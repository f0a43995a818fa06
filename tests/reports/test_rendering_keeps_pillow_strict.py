"""Rendering a report does not leave Pillow's lenient mode on (WeasyPrint turns it on when
imported), so a worker that rendered a report still refuses truncated cell images."""

from __future__ import annotations

from PIL import ImageFile

from apps.smears.importers.images import require_strict_decoding


def test_smear_imports_still_work_after_a_report_was_rendered(signed, rendered):
    import apps.reports.pdf  # noqa: F401

    rendered(signed, "fr")
    assert ImageFile.LOAD_TRUNCATED_IMAGES is False
    require_strict_decoding()
