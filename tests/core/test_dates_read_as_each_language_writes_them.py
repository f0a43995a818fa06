"""Dates on the pages and in the signed report read as the reader's language writes them: the
first of a month is "1er mars 2026" in French, "1 March 2026" in English; other days and the
year-first short forms are left as they are; a time is the laboratory's local time."""

from __future__ import annotations

from datetime import UTC, date, datetime

from django.template import Context, Template
from django.utils import translation

from apps.core.written_dates import written_date


def test_the_first_of_a_month_is_an_ordinal_in_french_only():
    with translation.override("fr"):
        assert written_date(date(2026, 3, 1)) == "1er mars 2026"
        assert written_date(datetime(2026, 3, 1, 8, 5)) == "1er mars 2026"
        assert written_date(datetime(2026, 3, 1, 8, 5), "DATETIME_FORMAT") == \
            "1er mars 2026 à 08:05"
        assert written_date(date(2026, 3, 11)) == "11 mars 2026"
        assert written_date(date(2026, 3, 21)) == "21 mars 2026"
        assert written_date(date(2026, 3, 1), "SHORT_DATE_FORMAT") == "2026-03-01"
    with translation.override("en"):
        assert written_date(date(2026, 3, 1)) == "1 March 2026"
        assert written_date(datetime(2026, 3, 1, 8, 5), "DATETIME_FORMAT") == \
            "1 March 2026, 08:05"


def test_the_template_filter_takes_the_local_time_and_prints_nothing_for_no_date():
    page = Template('{% load written_dates %}[{{ when|written_date:"DATETIME_FORMAT" }}]'
                    '[{{ none|written_date:"DATE_FORMAT"|default:"-" }}]')
    # 23:30 UTC on 28 February is 00:30 on 1 March in Paris (the project's TIME_ZONE).
    when = datetime(2026, 2, 28, 23, 30, tzinfo=UTC)
    with translation.override("fr"):
        assert page.render(Context({"when": when, "none": None})) == \
            "[1er mars 2026 à 00:30][-]"
    with translation.override("en"):
        assert page.render(Context({"when": when, "none": None})) == \
            "[1 March 2026, 00:30][-]"
