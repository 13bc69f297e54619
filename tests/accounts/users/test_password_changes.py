"""Every way a password is set ends the user's sessions (accounts.users.password_changes): the
admin's form, `manage.py changepassword`, a shell; creating a user and the hash upgrade of
a sign-in do not."""

import sys

import pytest
from asgiref.sync import async_to_sync
from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password
from django.core.management import call_command

from accounts.models import AuthEvent, DeviceSession

NEW_PASSWORD = "a-brand-new-passphrase-42"
ME_URL = "/api/v1/me/"
ACCOUNT_PAGE = "/accounts/"


@pytest.fixture
def signed_in_everywhere(sign_in, signed_in_browser, user):
    """`user` signed in on two devices and in a browser."""
    return {
        "phone": sign_in(device_id="phone").json(),
        "laptop": sign_in(device_id="laptop").json(),
        "browser": signed_in_browser(user),
    }


@pytest.fixture
def assert_signed_out(api_client, bearer, refresh):
    """Everything `signed_in_everywhere` holds is refused, as the user sees it."""

    def check(signed_in):
        for device in ("phone", "laptop"):
            pair = signed_in[device]
            me = api_client.get(ME_URL, **bearer(pair["access"]))
            assert me.status_code == 401, f"{device}: old access token still works"
            assert me.json()["code"] == "session_revoked"
            rotated = refresh(pair["refresh"], device_id=device)
            assert rotated.status_code == 401, f"{device}: old refresh token still rotates"
            assert rotated.json()["code"] == "session_revoked"
        page = signed_in["browser"].get(ACCOUNT_PAGE)
        assert page.status_code == 302
        assert page["Location"].startswith("/accounts/login/")

    return check


@pytest.fixture
def command_line(monkeypatch):
    """command_line("manage.py", "shell"): the process's argv, as that command has it."""

    def _command_line(*argv):
        monkeypatch.setattr(sys, "argv", list(argv))

    return _command_line


def password_events(user):
    return list(
        AuthEvent.objects.filter(
            user=user, kind__in=[AuthEvent.Kind.PASSWORD_CHANGED, AuthEvent.Kind.PASSWORD_RESET]
        ).values_list("kind", "actor")
    )


def revoke_reasons(user):
    return set(DeviceSession.objects.filter(user=user).values_list("revoke_reason", flat=True))


# --- the admin's password form ----------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize(
    "form",
    [
        {"password1": NEW_PASSWORD, "password2": NEW_PASSWORD, "usable_password": "true"},
        {"usable_password": "false", "unset-password": "1"},  # "disable password sign-in"
    ],
    ids=["new-password", "unusable-password"],
)
def test_admin_password_form_ends_every_session_of_the_user(
    client, superuser, user, signed_in_everywhere, assert_signed_out, form
):
    client.force_login(superuser)

    response = client.post(f"/admin/accounts/user/{user.pk}/password/", form)

    assert response.status_code == 302
    assert_signed_out(signed_in_everywhere)
    assert revoke_reasons(user) == {"password_changed"}
    assert password_events(user) == [("password_changed", "root")]
    assert client.get(f"/admin/accounts/user/{user.pk}/change/").status_code == 200


@pytest.mark.django_db
def test_superuser_setting_their_own_password_in_the_admin_keeps_that_browser(
    client, signed_in_browser, superuser
):
    elsewhere = signed_in_browser(superuser)
    client.force_login(superuser)

    response = client.post(
        f"/admin/accounts/user/{superuser.pk}/password/",
        {"password1": NEW_PASSWORD, "password2": NEW_PASSWORD, "usable_password": "true"},
    )

    assert response.status_code == 302
    assert client.get("/admin/").status_code == 200
    assert elsewhere.get(ACCOUNT_PAGE).status_code == 302
    assert password_events(superuser) == [("password_changed", "root")]


# --- outside a request ------------------------------------------------------------------


@pytest.mark.django_db
def test_changepassword_command_ends_every_session(
    monkeypatch, command_line, user, signed_in_everywhere, assert_signed_out
):
    command_line("manage.py", "changepassword", user.username)
    monkeypatch.setattr("getpass.getpass", lambda prompt="": NEW_PASSWORD)

    call_command("changepassword", user.username, stdout=None)

    assert_signed_out(signed_in_everywhere)
    assert revoke_reasons(user) == {"password_changed"}
    assert password_events(user) == [("password_changed", "manage.py changepassword")]


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("argv", "set_it", "actor"),
    [
        (["manage.py", "shell"], lambda u: u.set_password(NEW_PASSWORD), "manage.py shell"),
        (["worker.py"], lambda u: u.set_password(NEW_PASSWORD), "system"),
        (["manage.py", "shell"], lambda u: u.set_unusable_password(), "manage.py shell"),
        (
            ["manage.py", "shell"],
            lambda u: setattr(u, "password", make_password("x")),
            "manage.py shell",
        ),
    ],
    ids=["set_password", "outside-a-command", "set_unusable_password", "hash-assigned"],
)
def test_setting_a_password_in_code_ends_every_session(
    command_line, user, signed_in_everywhere, assert_signed_out, argv, set_it, actor
):
    command_line(*argv)
    shell_user = get_user_model().objects.get(pk=user.pk)

    set_it(shell_user)
    shell_user.save()

    assert_signed_out(signed_in_everywhere)
    assert revoke_reasons(user) == {"password_changed"}
    assert password_events(user) == [("password_changed", actor)]


@pytest.mark.django_db
def test_a_new_password_and_the_end_of_sessions_commit_together(
    monkeypatch, user, password, signed_in_everywhere, api_client, bearer
):
    def broken(*args, **kwargs):
        raise RuntimeError("the database went away")

    monkeypatch.setattr("accounts.devices.sessions.revoke_all_sessions", broken)
    user.set_password(NEW_PASSWORD)
    with pytest.raises(RuntimeError):
        user.save()

    assert get_user_model().objects.get(pk=user.pk).check_password(password)
    access = signed_in_everywhere["phone"]["access"]
    assert api_client.get(ME_URL, **bearer(access)).status_code == 200


# --- not a change of password -----------------------------------------------------------


@pytest.mark.django_db
def test_saving_a_user_without_a_new_password_keeps_every_session(
    user, signed_in_everywhere, api_client, bearer
):
    same = get_user_model().objects.get(pk=user.pk)
    same.first_name = "Ada"
    same.save()
    same.refresh_from_db()
    same.save(update_fields=["password"])

    access = signed_in_everywhere["laptop"]["access"]
    assert api_client.get(ME_URL, **bearer(access)).status_code == 200
    assert signed_in_everywhere["browser"].get(ACCOUNT_PAGE).status_code == 200
    assert password_events(user) == []


@pytest.mark.django_db
def test_creating_users_is_not_a_change_of_password(monkeypatch, make_user):
    monkeypatch.setenv("DJANGO_SUPERUSER_PASSWORD", NEW_PASSWORD)
    call_command("createsuperuser", interactive=False, username="boss", email="boss@example.com")
    get_user_model().objects.create_user("ada", "ada@example.com", NEW_PASSWORD)
    make_user(username="grace")  # created, then its first password saved

    assert not AuthEvent.objects.filter(kind=AuthEvent.Kind.PASSWORD_CHANGED).exists()
    assert set(get_user_model().objects.values_list("sessions_version", flat=True)) == {0}


@pytest.mark.django_db
@pytest.mark.parametrize("how", ["sign-in", "acheck_password"])
def test_the_hash_upgrade_of_a_sign_in_keeps_every_session(
    settings, user, password, sign_in, signed_in_everywhere, api_client, bearer, refresh, how
):
    assert user.password.startswith("md5$")
    # A newer hasher is preferred now: the next successful check re-hashes the password.
    settings.PASSWORD_HASHERS = [
        "django.contrib.auth.hashers.Argon2PasswordHasher",
        "django.contrib.auth.hashers.MD5PasswordHasher",
    ]

    if how == "sign-in":
        sign_in(device_id="tablet")
    else:
        fresh = get_user_model().objects.get(pk=user.pk)
        assert async_to_sync(fresh.acheck_password)(password)

    assert get_user_model().objects.get(pk=user.pk).password.startswith("argon2")
    phone = signed_in_everywhere["phone"]
    assert api_client.get(ME_URL, **bearer(phone["access"])).status_code == 200
    assert refresh(phone["refresh"], device_id="phone").status_code == 200
    assert not DeviceSession.objects.filter(user=user, revoked_at__isnull=False).exists()
    assert password_events(user) == []
