"""The cross-specimen duplicate lookup filters cells by sha256 alone, across every specimen:
the (specimen, sha256) unique constraint cannot serve it, so sha256 has its own index."""

from __future__ import annotations

import pytest
from django.db import connection

from apps.smears.models import Cell


@pytest.mark.django_db
def test_an_index_leads_with_sha256():
    with connection.cursor() as cursor:
        found = connection.introspection.get_constraints(cursor, Cell._meta.db_table)
    leading = {name for name, c in found.items() if c["index"] and c["columns"][:1] == ["sha256"]}
    assert "cell_sha256" in leading


@pytest.mark.django_db
def test_the_lookup_by_sha256_uses_it():
    if connection.vendor != "sqlite":
        pytest.skip("a planner's choice on a nearly empty table is only stable on SQLite")
    plan = Cell.objects.filter(sha256__in=["a" * 64, "b" * 64]).explain()
    assert "cell_sha256" in plan, plan
