"""The account page's "Delete account" (accounts.web.views.delete_account over
accounts.users.deletion): the password, and a second-factor code when a factor is
enrolled; every session ends, the account is closed, this browser is signed out and told
when the data goes. A form that posts, with CSRF; wrong answers count for the lockout."""

import re

import pytest
from django.test import Client

from accounts.conf import kit_settings
from accounts.models import AuthEvent, BrowserSession, DeviceSession

pytestmark = pytest.mark.django_db

ACCOUNT = "/accounts/"
DELETE = "/accounts/delete/"
LOGIN = "/accounts/login/"


@pytest.fixture
def browser(user, signed_in_browser):
    return signed_in_browser(user)


def assert_not_deleted(user):
    user.refresh_from_db()
    assert user.is_active
    assert user.deletion_requested_at is None
    assert not AuthEvent.objects.filter(kind=AuthEvent.Kind.ACCOUNT_DELETION_REQUESTED).exists()


def test_the_account_page_offers_the_form(browser):
    page = browser.get(ACCOUNT).content.decode()
    assert f'action="{DELETE}"' in page
    assert 'name="delete-password"' in page
    assert 'name="delete-code"' not in page  # no second factor: no code asked
    assert f"erased after {kit_settings.DELETION_GRACE_DAYS} days" in page


def test_delete_ends_everything_and_says_so(browser, user, password, sign_in, api_client, bearer):
    access = sign_in().json()["access"]
    other_browser = Client()
    other_browser.force_login(user)
    browser_key = browser.session.session_key

    response = browser.post(DELETE, {"delete-password": password})

    assert response.status_code == 200
    page = response.content.decode()
    assert "Your account is deleted" in page
    assert f"erased after {kit_settings.DELETION_GRACE_DAYS} days" in page
    user.refresh_from_db()
    assert not user.is_active
    assert user.deletion_requested_at is not None
    assert set(DeviceSession.objects.filter(user=user).values_list("revoke_reason", flat=True)) == {
        DeviceSession.RevokeReason.USER_DELETED
    }
    assert not DeviceSession.objects.filter(user=user, revoked_at__isnull=True).exists()
    refused = api_client.get("/api/v1/me/", **bearer(access))
    assert (refused.status_code, refused.json()["code"]) == (401, "session_revoked")
    # This browser's session row is gone; the next request is anonymous, as is any other.
    assert not BrowserSession.objects.filter(session_key=browser_key).exists()
    for client in (browser, other_browser):
        again = client.get(ACCOUNT)
        assert (again.status_code, again["Location"]) == (302, f"{LOGIN}?next={ACCOUNT}")
    event = AuthEvent.objects.get(kind=AuthEvent.Kind.ACCOUNT_DELETION_REQUESTED)
    assert (event.user_id, event.username) == (user.pk, user.username)
    # Signing in again is refused as for any wrong credentials.
    login = Client().post(LOGIN, {"username": user.username, "password": password})
    assert login.status_code == 200
    assert "_auth_user_id" not in login.client.session


def test_a_wrong_password_is_the_forms_error_and_changes_nothing(browser, user):
    response = browser.post(DELETE, {"delete-password": "not-my-password"})
    assert response.status_code == 400
    page = response.content.decode()
    assert 'id="id_delete-password_errors"' in page
    assert "Your password was entered incorrectly." in page
    assert_not_deleted(user)
    assert browser.get(ACCOUNT).status_code == 200


def test_an_empty_form_changes_nothing(browser, user):
    response = browser.post(DELETE, {})
    assert response.status_code == 400
    assert 'id="id_delete-password_errors"' in response.content.decode()
    assert_not_deleted(user)


def test_wrong_passwords_count_toward_the_lockout(browser, user, password, settings):
    settings.ACCOUNTS = {**settings.ACCOUNTS, "LOGIN_FAILURE_LIMIT": 2}
    for _ in range(2):
        assert browser.post(DELETE, {"delete-password": "wrong"}).status_code == 400
    locked = browser.post(DELETE, {"delete-password": password})
    assert locked.status_code == 429
    assert locked["Retry-After"]
    assert "Too many failed sign-in attempts" in locked.content.decode()
    assert_not_deleted(user)


def test_with_a_second_factor_a_right_code_is_needed(
    user, password, enrol_totp, mfa_browser, mfa_clock
):
    secret, _ = enrol_totp(user)
    browser = mfa_browser(user)
    page = browser.get(ACCOUNT).content.decode()
    assert 'name="delete-code"' in page

    missing = browser.post(DELETE, {"delete-password": password})
    wrong_code = "000000" if mfa_clock.code(secret) != "000000" else "111111"
    wrong = browser.post(DELETE, {"delete-password": password, "delete-code": wrong_code})
    for response in (missing, wrong):
        assert response.status_code == 400
        assert 'id="id_delete-code_errors"' in response.content.decode()
    assert AuthEvent.objects.filter(kind=AuthEvent.Kind.MFA_FAILED, user=user).count() == 1
    assert_not_deleted(user)

    right = browser.post(
        DELETE, {"delete-password": password, "delete-code": mfa_clock.code(secret)}
    )
    assert right.status_code == 200
    assert "Your account is deleted" in right.content.decode()
    user.refresh_from_db()
    assert not user.is_active


def test_the_form_needs_the_csrf_token(user, password):
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(user)
    assert browser.post(DELETE, {"delete-password": password}).status_code == 403
    assert_not_deleted(user)
    page = browser.get(ACCOUNT).content.decode()
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)
    response = browser.post(DELETE, {"delete-password": password, "csrfmiddlewaretoken": token})
    assert response.status_code == 200
    user.refresh_from_db()
    assert not user.is_active


def test_get_and_anonymous_posts_delete_nothing(client, browser, user, password):
    assert browser.get(DELETE).status_code == 405
    anonymous = client.post(DELETE, {"delete-password": password})
    assert anonymous.status_code == 302
    assert anonymous["Location"].startswith(LOGIN)
    assert_not_deleted(user)
