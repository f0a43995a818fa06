"""Logging filters for request logs."""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping

_QUERY = re.compile(r"\?[^\s\"]*")


def _strip(value: object) -> object:
    return _QUERY.sub("", value) if isinstance(value, str) else value


class DropQueryString(logging.Filter):
    """Remove query strings from request lines and referrers before they are written.

    Patient search terms travel as ?q=...; an access log is kept longer and read by more
    people than the database. Handles gunicorn's access records (a dict of atoms: r is the
    request line, q the query, f the referrer) and runserver's ("%s" %s %s with the line first).
    """

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        if isinstance(args, Mapping):
            cleaned = {key: _strip(value) for key, value in args.items()}
            if "q" in cleaned:
                cleaned["q"] = ""
            record.args = cleaned
        elif isinstance(args, tuple):
            record.args = tuple(_strip(a) for a in args)
        return True


class RefusalWithoutTraceback(logging.Filter):
    """A refused request (403: a role that does not allow it) is logged as one line, not with
    the traceback of the PermissionDenied that refused it: a log where every refusal spans
    twenty lines hides the errors someone scans it for. Other records pass unchanged."""

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "status_code", None) == 403 and record.exc_info:
            record.exc_info = None
            record.exc_text = None
        return True
