"""Patient searches (?q=...) never reach the access log: gunicorn's and runserver's request
lines and referrers are written without their query string."""

from __future__ import annotations

import io
import logging

import pytest


@pytest.fixture
def captured():  # type: ignore[no-untyped-def]
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    loggers = [logging.getLogger("gunicorn.access"), logging.getLogger("django.server")]
    for logger in loggers:
        logger.addHandler(handler)
    yield stream
    for logger in loggers:
        logger.removeHandler(handler)


def test_gunicorn_access_lines_have_no_query_string(captured):
    # gunicorn's default access_log_format, with the atoms it passes as one dict argument.
    fmt = '%(h)s %(l)s %(u)s %(t)s "%(r)s" %(s)s %(b)s "%(f)s" "%(a)s" %(q)s'
    logging.getLogger("gunicorn.access").info(fmt, {
        "h": "10.0.0.5", "l": "-", "u": "-", "t": "[14/Jan/2026:10:00:00 +0100]",
        "r": "GET /patients/?q=Durand+MRN-42 HTTP/1.1", "s": "200", "b": "512",
        "f": "https://lab.example.org/patients/?q=Durand", "a": "Firefox", "q": "q=Durand",
    })
    line = captured.getvalue()
    assert "GET /patients/ HTTP/1.1" in line
    assert '"https://lab.example.org/patients/"' in line
    assert "Durand" not in line and "MRN" not in line


def test_runserver_request_lines_have_no_query_string(captured):
    logging.getLogger("django.server").info('"%s" %s %s',
                                            "GET /specimens/?q=Dupont HTTP/1.1", "200", "99")
    line = captured.getvalue()
    assert '"GET /specimens/ HTTP/1.1" 200 99' in line
    assert "Dupont" not in line
