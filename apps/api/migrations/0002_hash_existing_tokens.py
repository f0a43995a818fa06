"""Existing API tokens move to hashed storage, and their clear text is deleted.

Every row of DRF's `authtoken_token` table becomes an ApiToken holding the SHA-256 of its key and
the key's first 8 characters; the clear-text row is then deleted. A client that presents the
same key keeps working: authentication hashes the presented token and finds the same digest.
A migrated token expires 90 days after this migration, like a new one; its owner sees it on the
tokens page (name "migrated") and can revoke it there.

A token becomes unusable only if its key cannot be hashed: an empty key (no client could present
it) or one that is not text. Such rows are not copied, and are deleted with the others.

Not reversible in effect: going back deletes nothing, but the clear-text keys are gone, so the
old TokenAuthentication would find no token; issue new ones.

The table is read with SQL when it exists, so this runs whether or not rest_framework.authtoken
is still installed, and on a new database (no table: nothing to do).
"""

from __future__ import annotations

import hashlib
from datetime import UTC, timedelta

from django.db import migrations
from django.utils import timezone
from django.utils.dateparse import parse_datetime

LEGACY_TABLE = "authtoken_token"
LIFETIME = timedelta(days=90)


def hash_existing_tokens(apps, schema_editor):  # type: ignore[no-untyped-def]
    connection = schema_editor.connection
    if LEGACY_TABLE not in connection.introspection.table_names():
        return
    ApiToken = apps.get_model("api", "ApiToken")
    quote = schema_editor.quote_name
    now = timezone.now()
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {quote('key')}, {quote('user_id')}, {quote('created')} "
                       f"FROM {quote(LEGACY_TABLE)}")
        rows = cursor.fetchall()
    for key, user_id, created in rows:
        if not isinstance(key, str) or not key:
            continue
        if isinstance(created, str):
            created = parse_datetime(created)
        if created is not None and timezone.is_naive(created):
            created = timezone.make_aware(created, UTC)  # SQLite hands back UTC without a zone
        digest = hashlib.sha256(key.encode("utf-8")).hexdigest()
        ApiToken.objects.get_or_create(digest=digest, defaults={
            "user_id": user_id, "name": "migrated", "prefix": key[:8],
            "created_at": created or now, "expires_at": now + LIFETIME})
    with connection.cursor() as cursor:
        cursor.execute(f"DELETE FROM {quote(LEGACY_TABLE)}")


class Migration(migrations.Migration):

    dependencies = [
        ("api", "0001_api_token"),
    ]

    operations = [
        migrations.RunPython(hash_existing_tokens, migrations.RunPython.noop),
    ]
