"""Every user can change their password from the user menu; weak passwords are refused."""

from __future__ import annotations

from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError

OLD = "correct-horse-battery"  # the make_user fixture's


def test_the_user_menu_links_to_the_password_change_page(client, technician):
    client.force_login(technician)
    assert 'href="/accounts/password/"' in client.get("/specimens/").content.decode()
    assert client.get("/accounts/password/").status_code == 200


def test_a_technician_changes_their_password(client, technician):
    client.force_login(technician)
    new = "violet-anchor-meadow-42"
    response = client.post("/accounts/password/", {
        "old_password": OLD, "new_password1": new, "new_password2": new}, follow=True)
    assert response.redirect_chain[-1][0] == "/accounts/password/done/"
    assert "Password changed" in response.content.decode()
    technician.refresh_from_db()
    assert technician.check_password(new)


def test_short_and_common_passwords_are_refused(client, technician):
    client.force_login(technician)
    response = client.post("/accounts/password/", {
        "old_password": OLD, "new_password1": "Summer2024!", "new_password2": "Summer2024!"})
    assert response.status_code == 200
    assert "at least 12 characters" in response.content.decode()
    technician.refresh_from_db()
    assert technician.check_password(OLD)


def test_validators_need_twelve_characters_and_refuse_common_passwords(db):
    for weak in ["Summer2024!", "password1234", "123456789012"]:
        try:
            validate_password(weak)
        except ValidationError:
            continue
        raise AssertionError(f"{weak!r} accepted")
    validate_password("violet-anchor-meadow-42")


def test_the_anonymous_visitor_is_sent_to_login(client, db):
    response = client.get("/accounts/password/")
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")
