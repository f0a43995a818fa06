"""A change of roles (groups), permissions or superuser flag is audited, with who did it."""

from __future__ import annotations

from django.contrib.auth.models import Group, Permission

from apps.core.models import AuditEvent


def _events(user):  # type: ignore[no-untyped-def]
    return AuditEvent.objects.filter(object_type="auth.user", object_id=str(user.pk)).order_by("id")


def test_adding_and_removing_a_role_is_audited(make_user):
    user = make_user("promoted", "technician")
    biologist, _ = Group.objects.get_or_create(name="biologist")
    user.groups.add(biologist)
    user.groups.remove(Group.objects.get(name="technician"))
    user.groups.clear()
    changes = [(e.action, e.before, e.after) for e in _events(user)]
    assert changes == [
        ("user.groups.change", {"groups": []}, {"groups": ["technician"]}),
        ("user.groups.change", {"groups": ["technician"]},
         {"groups": ["biologist", "technician"]}),
        ("user.groups.change", {"groups": ["biologist", "technician"]},
         {"groups": ["biologist"]}),
        ("user.groups.change", {"groups": ["biologist"]}, {"groups": []}),
    ]


def test_a_role_given_from_the_group_side_is_audited_on_the_user(make_user):
    user = make_user("other")
    Group.objects.get_or_create(name="admin")[0].user_set.add(user)
    (event,) = _events(user)
    assert event.after == {"groups": ["admin"]}


def test_permissions_and_superuser_flag_are_audited(make_user):
    user = make_user("perm")
    permission = Permission.objects.get(codename="view_auditevent")
    user.user_permissions.add(permission)
    user.is_superuser = True
    user.save()
    actions = [(e.action, e.after) for e in _events(user)]
    assert actions == [("user.user_permissions.change",
                        {"user_permissions": ["core.view_auditevent"]}),
                       ("user.flags.change", {"is_superuser": True})]
    group = Group.objects.create(name="readers")
    group.permissions.add(permission)
    assert AuditEvent.objects.get(object_type="auth.group").after == {
        "permissions": ["core.view_auditevent"]}


def test_a_role_change_in_the_admin_names_the_administrator(client, make_user):
    from django.contrib.auth import get_user_model

    boss = get_user_model().objects.create_superuser("root", password="a-long-password-1")
    user = make_user("tech2", "technician")
    client.force_login(boss)
    biologist, _ = Group.objects.get_or_create(name="biologist")
    response = client.post(f"/admin/auth/user/{user.pk}/change/", {
        "username": "tech2", "is_active": "on", "groups": [biologist.pk],
        "date_joined_0": "2026-01-01", "date_joined_1": "10:00:00",
        "initial-date_joined_0": "2026-01-01", "initial-date_joined_1": "10:00:00",
    })
    assert response.status_code == 302, response.content.decode()[:2000]
    # The admin sets the groups: Django removes the old ones, then adds the new ones.
    *_, removed, added = _events(user).filter(action="user.groups.change")
    assert (removed.before, removed.after) == ({"groups": ["technician"]}, {"groups": []})
    assert (added.before, added.after) == ({"groups": []}, {"groups": ["biologist"]})
    assert removed.actor == added.actor == boss


def test_logging_in_writes_no_role_event(client, make_user):
    user = make_user("plain", "technician")
    before = _events(user).count()
    client.post("/accounts/login/", {"username": "plain", "password": "correct-horse-battery"})
    assert _events(user).count() == before
