"""A signature row cannot be changed or removed, whatever the path: the database refuses."""

from __future__ import annotations

import pytest
from django.db import DatabaseError, connection, transaction

from apps.review.models import Signature


@pytest.fixture
def signature(specimen, biologist):  # type: ignore[no-untyped-def]
    return Signature.objects.create(specimen=specimen, version=1, meaning="validated",
                                    signed_by=biologist, content={"cells": 100},
                                    content_sha256="0" * 64)


def _refused(action) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(DatabaseError), transaction.atomic():
        action()


def test_the_database_refuses_update_and_delete_of_signatures(signature):
    _refused(lambda: Signature.objects.filter(pk=signature.pk).update(meaning="rejected"))
    signature.comment = "edited"
    _refused(lambda: Signature.objects.bulk_update([signature], ["comment"]))
    _refused(lambda: Signature.objects.all()._raw_delete(Signature.objects.db))
    with connection.cursor() as cursor:
        _refused(lambda: cursor.execute("UPDATE review_signature SET meaning = 'rejected'"))
        _refused(lambda: cursor.execute("DELETE FROM review_signature"))
    stored = Signature.objects.get(pk=signature.pk)
    assert (stored.meaning, stored.comment) == ("validated", "")


@pytest.mark.skipif(connection.vendor != "postgresql", reason="SQLite has no TRUNCATE")
def test_postgresql_refuses_truncate_of_the_signature_table(signature):
    with connection.cursor() as cursor:
        _refused(lambda: cursor.execute("TRUNCATE review_signature CASCADE"))
    assert Signature.objects.filter(pk=signature.pk).exists()


def test_an_amendment_is_a_new_row(signature, biologist):
    Signature.objects.create(specimen=signature.specimen, version=2, meaning="validated",
                             signed_by=biologist, content={"cells": 101},
                             content_sha256="1" * 64, amendment_reason="recount")
    assert Signature.objects.filter(specimen=signature.specimen).count() == 2
