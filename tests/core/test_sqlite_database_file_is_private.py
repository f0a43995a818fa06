"""The SQLite database file (the default install) is readable by the service user only."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest
from django.db import connection


@pytest.mark.skipif(connection.vendor != "sqlite", reason="a file only on SQLite")
def test_the_database_file_is_0600(db):
    connection.ensure_connection()
    path = Path(connection.settings_dict["NAME"])
    for file in [path, *(Path(f"{path}{s}") for s in ("-wal", "-shm"))]:
        if file.exists():
            assert stat.S_IMODE(file.stat().st_mode) == 0o600, file
