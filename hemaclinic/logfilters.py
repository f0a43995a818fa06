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
