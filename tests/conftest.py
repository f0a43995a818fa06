"""Shared fixtures: users with roles, media in a temporary folder, real PBC images."""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def _media_in_tmp(settings, tmp_path):  # type: ignore[no-untyped-def]
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.LANGUAGE_CODE = "en"  # assertions read English; French is tested on purpose
    settings.HL7_NOTES_LANGUAGE = "en"
    settings.CELERY_TASK_ALWAYS_EAGER = True
    from hemaclinic.celery import app

    app.conf.task_always_eager = True
    yield
    app.conf.task_always_eager = False


@pytest.fixture
def make_user(db, django_user_model):  # type: ignore[no-untyped-def]
    from django.contrib.auth.models import Group

    from apps.core import roles

    def make(username: str, *role_names: str, password: str = "correct-horse-battery"):  # noqa: S107
        user = django_user_model.objects.create_user(username=username, password=password)
        for name in role_names:
            group, _ = Group.objects.get_or_create(name=name)
            user.groups.add(group)
        assert set(role_names) <= set(roles.ROLES)
        return user

    return make


@pytest.fixture
def technician(make_user):  # type: ignore[no-untyped-def]
    return make_user("tech", "technician")


@pytest.fixture
def biologist(make_user):  # type: ignore[no-untyped-def]
    return make_user("bio", "biologist")


@pytest.fixture
def admin_user(make_user):  # type: ignore[no-untyped-def]
    return make_user("boss", "admin")


@pytest.fixture
def specimen(db, technician):  # type: ignore[no-untyped-def]
    from apps.patients.services import patient_create, specimen_create

    patient = patient_create(actor=technician, external_id="MRN-1", sex="M")
    return specimen_create(actor=technician, accession="S-0001", patient=patient)
