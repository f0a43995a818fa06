from __future__ import annotations

import io

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management import call_command


def test_bootstrap_prints_the_first_admin_password_once(db):
    out = io.StringIO()
    call_command("bootstrap", stdout=out)
    text = out.getvalue()
    password = text.split("password:")[1].split()[0]
    user = get_user_model().objects.get(username="admin")
    assert user.check_password(password)
    assert set(Group.objects.values_list("name", flat=True)) == {"technician", "biologist", "admin"}

    again = io.StringIO()
    call_command("bootstrap", stdout=again)
    assert "password" not in again.getvalue()
    assert get_user_model().objects.count() == 1
