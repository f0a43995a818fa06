"""The audit table refuses UPDATE and DELETE on both engines, and TRUNCATE on PostgreSQL.

0002 put a row trigger on PostgreSQL only; SQLite, the default install, relied on the model's
save()/delete(), which a queryset update() or raw SQL walks around. The trigger names end in
"_append_only": core's flush command lifts exactly those for its duration (apps/core/management/
commands/flush.py), nothing else does.
"""

from django.db import migrations

SQLITE = [
    """CREATE TRIGGER core_auditevent_update_append_only BEFORE UPDATE ON core_auditevent
       BEGIN SELECT RAISE(ABORT, 'core_auditevent is append-only (UPDATE refused)'); END""",
    """CREATE TRIGGER core_auditevent_delete_append_only BEFORE DELETE ON core_auditevent
       BEGIN SELECT RAISE(ABORT, 'core_auditevent is append-only (DELETE refused)'); END""",
]
SQLITE_REVERSE = [
    "DROP TRIGGER IF EXISTS core_auditevent_update_append_only",
    "DROP TRIGGER IF EXISTS core_auditevent_delete_append_only",
]
# The function of 0002 raises for any TG_OP, so it serves the statement-level trigger too.
POSTGRESQL = [
    """CREATE TRIGGER core_auditevent_truncate_append_only
       BEFORE TRUNCATE ON core_auditevent
       FOR EACH STATEMENT EXECUTE FUNCTION core_auditevent_append_only()""",
]
POSTGRESQL_REVERSE = [
    "DROP TRIGGER IF EXISTS core_auditevent_truncate_append_only ON core_auditevent",
]


def _run(statements):  # type: ignore[no-untyped-def]
    def run(apps, schema_editor):  # type: ignore[no-untyped-def]
        vendor = schema_editor.connection.vendor
        for sql in statements.get(vendor, []):
            schema_editor.execute(sql, params=None)
    return run


class Migration(migrations.Migration):
    dependencies = [("core", "0005_login_throttle")]
    operations = [
        migrations.RunPython(
            _run({"sqlite": SQLITE, "postgresql": POSTGRESQL}),
            _run({"sqlite": SQLITE_REVERSE, "postgresql": POSTGRESQL_REVERSE}),
        ),
    ]
