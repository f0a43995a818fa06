from __future__ import annotations


class ImportRefusedError(Exception):
    """The whole upload is refused; the message is shown to the user as is."""
