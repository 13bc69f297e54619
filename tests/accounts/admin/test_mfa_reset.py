"""The admin's "Reset second factors": the way back in for a user who lost every factor.
Factors deleted, every session of the user ended, audited and mailed; permission-checked."""

import pytest
from allauth.mfa.models import Authenticator
from django.contrib.messages import get_messages
from django.core import mail
from django.db import connection
from django.test import Client

from accounts.conf import kit_settings
from accounts.models import AuthEvent, DeviceSession, MfaChallenge, User

pytestmark = pytest.mark.django_db

CHANGELIST = "/admin/accounts/user/"


def reset_url(user):
    return f"/admin/accounts/user/{user.pk}/mfa-reset/"


@pytest.fixture
def root(client, superuser):
    client.force_login(superuser)
    return client


@pytest.fixture
def post(django_capture_on_commit_callbacks):
    """POST with the on-commit work (the e-mail, the cache write-through) run."""

    def _post(client, url, data=None):
        with django_capture_on_commit_callbacks(execute=True):
            return client.post(url, data or {})

    return _post


@pytest.fixture
def victim(make_user, give_factors, make_session, signed_in_browser):
    """A user with every kind of factor, an app signed in, a browser signed in and a
    sign-in waiting for its second factor."""
    ada = make_user(username="ada", email="ada@example.com")
    give_factors(ada)
    make_session(ada, device_id="ada-phone")
    ada.browser = signed_in_browser(ada)
    MfaChallenge.objects.create(
        kind=MfaChallenge.Kind.SIGN_IN,
        user=ada,
        token_hash="0" * 64,
        expires_at="2999-01-01T00:00:00Z",
    )
    return ada


def assert_reset(user, actor="root"):
    assert not Authenticator.objects.filter(user=user).exists()
    assert not MfaChallenge.objects.filter(user=user).exists()
    assert not DeviceSession.objects.filter(user=user, revoked_at__isnull=True).exists()
    assert set(DeviceSession.objects.filter(user=user).values_list("revoke_reason", flat=True)) == {
        "mfa_reset"
    }
    event = AuthEvent.objects.get(user=user, kind=AuthEvent.Kind.MFA_RESET)
    assert event.actor == actor
    # The user's browser is signed out: the account page sends it to the sign-in page.
    assert user.browser.get("/accounts/").status_code == 302
    told = [m.subject for m in mail.outbox if m.to == [user.email]]
    assert told == [f"{kit_settings.SITE_NAME}: Second factors reset by an administrator"]


def test_the_change_page_offers_the_reset(root, victim):
    page = root.get(f"/admin/accounts/user/{victim.pk}/change/")
    assert reset_url(victim) in page.content.decode()


def test_the_confirmation_page_lists_the_factors_and_changes_nothing(root, victim):
    page = root.get(reset_url(victim))
    assert page.status_code == 200
    body = page.content.decode()
    assert "TOTP Authenticator" in body
    assert "Recovery codes" in body
    assert "WebAuthn “Ada&#x27;s key”" in body
    assert Authenticator.objects.filter(user=victim).count() == 3
    assert victim.browser.get("/accounts/").status_code == 200


def test_the_button_resets_the_factors_and_ends_every_session(root, victim, post):
    response = post(root, reset_url(victim))
    assert response.status_code == 302
    assert response["Location"] == f"/admin/accounts/user/{victim.pk}/change/"
    assert_reset(victim)
    # The administrator stays signed in.
    assert root.get(CHANGELIST).status_code == 200


def test_the_button_needs_a_csrf_token(superuser, victim):
    client = Client(enforce_csrf_checks=True)
    client.force_login(superuser)
    assert client.post(reset_url(victim)).status_code == 403
    assert Authenticator.objects.filter(user=victim).count() == 3


def test_the_button_needs_the_change_permission(client, make_user, victim, post):
    from django.contrib.auth.models import Permission

    viewer = make_user(username="helpdesk", is_staff=True)
    viewer.user_permissions.add(Permission.objects.get(codename="view_user"))
    client.force_login(viewer)
    assert client.get(reset_url(victim)).status_code == 403
    assert post(client, reset_url(victim)).status_code == 403
    assert (
        f"{victim.pk}/mfa-reset/"
        not in client.get(f"/admin/accounts/user/{victim.pk}/change/").content.decode()
    )
    assert Authenticator.objects.filter(user=victim).count() == 3


def test_only_a_superuser_resets_a_superuser(client, make_user, give_factors, post):
    from django.contrib.auth.models import Permission

    boss = make_user(username="boss", is_staff=True, is_superuser=True)
    give_factors(boss)
    staff = make_user(username="helpdesk", is_staff=True)
    staff.user_permissions.add(
        *Permission.objects.filter(codename__in=["view_user", "change_user"])
    )
    client.force_login(staff)
    assert post(client, reset_url(boss)).status_code == 403
    response = post(
        client, CHANGELIST, {"action": "reset_second_factors", "_selected_action": [boss.pk]}
    )
    assert ("error", True) in [
        (m.level_tag, "superuser" in m.message) for m in get_messages(response.wsgi_request)
    ]
    assert Authenticator.objects.filter(user=boss).count() == 3


def test_an_unknown_user_is_a_404(root):
    assert root.get("/admin/accounts/user/999999/mfa-reset/").status_code == 404


def test_the_bulk_action_resets_every_selected_user_one_statement_a_step(
    root, make_user, give_factors, make_session, signed_in_browser, victim, post
):
    others = []
    for name in ("bob", "cy"):
        other = make_user(username=name, email=f"{name}@example.com")
        give_factors(other)
        make_session(other)
        other.browser = signed_in_browser(other)
        others.append(other)
    bystander = make_user(username="dee")
    give_factors(bystander)

    statements = []

    def record(execute, sql, params, many, context):
        statements.append(sql)
        return execute(sql, params, many, context)

    # execute_wrapper, not CaptureQueriesContext: a request's start clears the query log.
    with connection.execute_wrapper(record):
        response = post(
            root,
            CHANGELIST,
            {
                "action": "reset_second_factors",
                "_selected_action": [u.pk for u in [victim, *others]],
            },
        )

    assert response.status_code == 302
    for user in (victim, *others):
        assert_reset(user)
    assert Authenticator.objects.filter(user=bystander).count() == 3
    deletes = [sql for sql in statements if sql.startswith("DELETE")]
    assert len([sql for sql in deletes if "mfa_authenticator" in sql]) == 1
    assert len([sql for sql in deletes if "mfachallenge" in sql]) == 1
    revokes = [sql for sql in statements if sql.startswith('UPDATE "accounts_devicesession"')]
    assert len(revokes) == 1
    audits = [sql for sql in statements if sql.startswith('INSERT INTO "accounts_authevent"')]
    assert len(audits) == 2  # the revoked sessions' rows, the resets' rows


def test_the_bulk_action_keeps_the_admin_signed_in_when_selected(
    root, superuser, give_factors, post
):
    give_factors(superuser)
    post(root, CHANGELIST, {"action": "reset_second_factors", "_selected_action": [superuser.pk]})
    assert not Authenticator.objects.filter(user=superuser).exists()
    assert root.get(CHANGELIST).status_code == 200
    assert User.objects.get(pk=superuser.pk).is_active
