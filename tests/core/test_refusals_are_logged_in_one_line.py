"""A refused request is one line of the log, not the traceback of the exception that refused
it; a server error keeps its traceback."""

from __future__ import annotations

import io
import logging
import sys

import pytest
from django.urls import reverse


@pytest.fixture
def request_log():  # type: ignore[no-untyped-def]
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logging.Formatter("%(levelname)s %(message)s"))
    logger = logging.getLogger("django.request")
    logger.addHandler(handler)
    yield stream
    logger.removeHandler(handler)


def test_a_refusal_is_one_line(client, make_user, specimen, request_log):
    client.force_login(make_user("norole"))
    assert client.get(reverse("specimen_list")).status_code == 403
    written = request_log.getvalue()
    assert "Forbidden" in written and "/specimens/" in written
    assert "Traceback" not in written and "PermissionDenied" not in written
    assert len(written.strip().splitlines()) == 1


def test_other_records_keep_their_traceback():
    from hemaclinic.logfilters import RefusalWithoutTraceback

    try:
        raise ValueError("boom")
    except ValueError:
        exc_info = sys.exc_info()
    record = logging.LogRecord("django.request", logging.ERROR, __file__, 1,
                               "Internal Server Error: %s", ("/x/",), exc_info)
    record.status_code = 500
    assert RefusalWithoutTraceback().filter(record) and record.exc_info is exc_info
