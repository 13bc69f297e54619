"""ACCOUNTS_MFA_REQUIRED_FOR_STAFF: staff reach /admin/ only with a second factor; the
admin's own sign-in form (password only) refuses an account that has one."""

import pytest
from django.contrib.messages import get_messages

from accounts.web.staff_gate import MESSAGE

pytestmark = pytest.mark.django_db

ENROLMENT = "/accounts/#second-factors"


@pytest.fixture
def gate_on(settings):
    settings.ACCOUNTS = {**settings.ACCOUNTS, "MFA_REQUIRED_FOR_STAFF": True}


@pytest.fixture
def staff(make_user):
    return make_user(username="chief", is_staff=True, is_superuser=True)


@pytest.fixture
def staff_browser(client, staff):
    client.force_login(staff)
    return client


@pytest.mark.parametrize("path", ["/admin/", "/admin/accounts/user/", "/admin/login/"])
def test_staff_without_a_factor_are_sent_to_the_enrolment(gate_on, staff_browser, path):
    response = staff_browser.get(path)
    assert response.status_code == 302
    assert response["Location"] == ENROLMENT
    page = staff_browser.get(response["Location"])
    assert str(MESSAGE) in page.content.decode()
    assert 'id="second-factors"' in page.content.decode()


def test_a_post_to_the_admin_is_refused_too(gate_on, staff_browser, user):
    response = staff_browser.post(
        f"/admin/accounts/user/{user.pk}/change/", {"username": "renamed"}
    )
    assert response.status_code == 302
    assert response["Location"] == ENROLMENT
    user.refresh_from_db()
    assert user.username != "renamed"


def test_once_enrolled_the_admin_opens(gate_on, staff, enrol_totp, mfa_browser):
    enrol_totp(staff)  # the first factor ends the other sessions: sign in again
    assert mfa_browser(staff).get("/admin/").status_code == 200


def test_with_the_knob_off_the_admin_opens(staff_browser):
    assert staff_browser.get("/admin/").status_code == 200


def test_the_admin_sign_out_stays_open(gate_on, staff_browser):
    response = staff_browser.post("/admin/logout/")
    assert response.get("Location") != ENROLMENT
    assert staff_browser.get("/accounts/").status_code == 302  # signed out


def test_non_staff_and_anonymous_visitors_meet_the_admin_as_before(gate_on, client, user):
    assert client.get("/admin/")["Location"].startswith("/admin/login/")
    client.force_login(user)
    response = client.get("/admin/")
    assert response["Location"].startswith("/admin/login/")
    assert not list(get_messages(response.wsgi_request))


def test_the_admin_sign_in_form_refuses_an_account_with_a_factor(
    client, staff, password, enrol_totp
):
    enrol_totp(staff)
    response = client.post("/admin/login/", {"username": staff.username, "password": password})
    assert response.status_code == 200
    assert "sign in on the sign-in page" in response.content.decode()
    assert client.get("/admin/")["Location"].startswith("/admin/login/")  # not signed in


def test_the_admin_sign_in_form_still_signs_in_staff_without_a_factor(client, staff, password):
    response = client.post("/admin/login/", {"username": staff.username, "password": password})
    assert response.status_code == 302
    assert client.get("/admin/").status_code == 200
