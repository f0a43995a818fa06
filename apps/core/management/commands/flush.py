"""Django's flush, which empties every table, with the append-only triggers lifted meanwhile.

The audit and signature tables refuse DELETE and TRUNCATE at the database level (migrations
core 0006 and review 0002), and so would Django's flush, which the test runner also uses after
each transactional test. Lifting a trigger needs the rights of the tables' owner, which the
application's role does not have in the deploy layout: emptying the database remains an
operator's act. The triggers are lifted and put back in one transaction with the flush itself,
so a failed flush leaves them in place.
"""

from __future__ import annotations

from typing import Any

from django.core.management.commands import flush
from django.db import connections, transaction

SUFFIX = "_append_only"


class Command(flush.Command):
    def handle(self, **options: Any) -> None:
        database = options["database"]
        connection = connections[database]
        with transaction.atomic(using=database):
            restore = _lift(connection)
            super().handle(**options)
            with connection.cursor() as cursor:
                for sql in restore:
                    cursor.execute(sql)


def _lift(connection) -> list[str]:  # type: ignore[no-untyped-def]
    """Drop or disable the append-only triggers; return the SQL that puts them back."""
    restore: list[str] = []
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            cursor.execute(
                "SELECT name, sql FROM sqlite_master WHERE type = 'trigger' AND name LIKE %s",
                [f"%{SUFFIX}"],
            )
            for name, sql in cursor.fetchall():
                cursor.execute(f'DROP TRIGGER "{name}"')
                restore.append(sql)
        elif connection.vendor == "postgresql":
            # ALTER TABLE refuses a table with deferred foreign-key checks still pending in
            # this transaction (rows written before the flush in the same transaction).
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
            cursor.execute(
                "SELECT t.tgname, c.relname FROM pg_trigger t JOIN pg_class c "
                "ON c.oid = t.tgrelid WHERE NOT t.tgisinternal AND t.tgname LIKE %s "
                "AND pg_catalog.pg_table_is_visible(c.oid)",
                [f"%{SUFFIX}"],
            )
            for name, table in cursor.fetchall():
                cursor.execute(f'ALTER TABLE "{table}" DISABLE TRIGGER "{name}"')
                restore.append(f'ALTER TABLE "{table}" ENABLE TRIGGER "{name}"')
    return restore
