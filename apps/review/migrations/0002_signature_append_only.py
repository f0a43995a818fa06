"""A signature is never changed or removed at the database level, on both engines.

Signature.save() refuses an update, but a queryset update() or raw SQL did not. An amendment is
a new row. The trigger names end in "_append_only": core's flush command lifts exactly those for
its duration, nothing else does.
"""

from django.db import migrations

SQLITE = [
    """CREATE TRIGGER review_signature_update_append_only BEFORE UPDATE ON review_signature
       BEGIN SELECT RAISE(ABORT, 'review_signature is append-only (UPDATE refused)'); END""",
    """CREATE TRIGGER review_signature_delete_append_only BEFORE DELETE ON review_signature
       BEGIN SELECT RAISE(ABORT, 'review_signature is append-only (DELETE refused)'); END""",
]
SQLITE_REVERSE = [
    "DROP TRIGGER IF EXISTS review_signature_update_append_only",
    "DROP TRIGGER IF EXISTS review_signature_delete_append_only",
]
POSTGRESQL = [
    """CREATE OR REPLACE FUNCTION review_signature_append_only() RETURNS trigger AS $$
       BEGIN
           RAISE EXCEPTION 'review_signature is append-only (% refused)', TG_OP;
       END;
       $$ LANGUAGE plpgsql""",
    """CREATE TRIGGER review_signature_row_append_only
       BEFORE UPDATE OR DELETE ON review_signature
       FOR EACH ROW EXECUTE FUNCTION review_signature_append_only()""",
    """CREATE TRIGGER review_signature_truncate_append_only
       BEFORE TRUNCATE ON review_signature
       FOR EACH STATEMENT EXECUTE FUNCTION review_signature_append_only()""",
]
POSTGRESQL_REVERSE = [
    "DROP TRIGGER IF EXISTS review_signature_truncate_append_only ON review_signature",
    "DROP TRIGGER IF EXISTS review_signature_row_append_only ON review_signature",
    "DROP FUNCTION IF EXISTS review_signature_append_only()",
]


def _run(statements):  # type: ignore[no-untyped-def]
    def run(apps, schema_editor):  # type: ignore[no-untyped-def]
        for sql in statements.get(schema_editor.connection.vendor, []):
            schema_editor.execute(sql, params=None)
    return run


class Migration(migrations.Migration):
    dependencies = [("review", "0001_initial")]
    operations = [
        migrations.RunPython(
            _run({"sqlite": SQLITE, "postgresql": POSTGRESQL}),
            _run({"sqlite": SQLITE_REVERSE, "postgresql": POSTGRESQL_REVERSE}),
        ),
    ]
