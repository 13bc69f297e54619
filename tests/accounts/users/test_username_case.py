"""Usernames are unique whatever their case: the constraint accounts_user_username_ci_unique
and every way an account is created or renamed (sign-up under a race, the admin,
createsuperuser)."""

import threading
from concurrent.futures import ThreadPoolExecutor
from unittest import mock

import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command
from django.db import connection
from rest_framework.test import APIClient

from accounts.users import signup

User = get_user_model()
NEW_PASSWORD = "a-brand-new-passphrase-42"
SIGNUP = "/api/v1/auth/signup/"
TAKEN = "A user with that username already exists."


@pytest.fixture
def signup_open(settings):
    settings.ACCOUNTS = {**settings.ACCOUNTS, "ALLOW_SIGNUP": True}


@pytest.fixture
def checks_pass_before_the_insert(make_user):
    """ "grace" signs up, then a sign-up for "Grace" whose checks ran before grace's row was
    committed (the race): only the database can refuse it."""
    make_user(username="grace", email="grace@example.com")
    real_checks = signup.signup_errors
    calls = []

    def nothing_found_at_first(**kwargs):
        calls.append(kwargs)
        return {} if len(calls) == 1 else real_checks(**kwargs)

    with mock.patch.object(signup, "signup_errors", side_effect=nothing_found_at_first):
        yield


# --- the race for one name in two cases --------------------------------------------------


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("signup_open")
def test_concurrent_sign_ups_of_one_name_in_two_cases_make_one_account():
    """Both requests pass the checks before either inserts; the constraint decides and the
    loser gets the same 400 as if it had come second."""
    real_checks = signup.signup_errors
    both_checked = threading.Barrier(2)
    first_check = threading.local()

    def checks_then_wait(**kwargs):
        errors = real_checks(**kwargs)
        if not getattr(first_check, "done", False):
            first_check.done = True
            both_checked.wait(timeout=30)
        return errors

    def sign_up_as(username, email):
        try:
            response = APIClient().post(
                SIGNUP,
                {"username": username, "email": email, "password": NEW_PASSWORD},
                format="json",
            )
            return response.status_code, response.json()
        finally:
            connection.close()

    with (
        mock.patch.object(signup, "signup_errors", side_effect=checks_then_wait),
        ThreadPoolExecutor(max_workers=2) as pool,
    ):
        # Two addresses: only the username can clash.
        addresses = ["one@example.com", "two@example.com"]
        results = sorted(pool.map(sign_up_as, ["grace", "GRACE"], addresses), key=lambda r: r[0])

    (won, _), (lost, body) = results
    assert won < 300
    assert lost == 400
    assert body["code"] == "invalid"
    assert body["errors"] == {"username": [TAKEN]}
    assert User.objects.filter(username__iexact="grace").count() == 1


@pytest.mark.django_db
@pytest.mark.usefixtures("signup_open", "checks_pass_before_the_insert")
def test_losing_the_race_on_the_api_is_a_400_and_writes_nothing(api_client):
    response = api_client.post(
        SIGNUP,
        {"username": "Grace", "email": "other@example.com", "password": NEW_PASSWORD},
        format="json",
    )
    assert response.status_code == 400
    assert response.json()["code"] == "invalid"
    assert response.json()["errors"] == {"username": [TAKEN]}
    assert list(User.objects.values_list("username", flat=True)) == ["grace"]


@pytest.mark.django_db
@pytest.mark.usefixtures("signup_open", "checks_pass_before_the_insert")
def test_losing_the_race_on_the_page_is_a_form_error(client):
    response = client.post(
        "/accounts/signup/",
        {
            "username": "GRACE",
            "email": "other@example.com",
            "password": NEW_PASSWORD,
            "password_confirm": NEW_PASSWORD,
        },
    )
    assert response.status_code == 200
    assert response.context["form"].errors == {"username": [TAKEN]}
    assert list(User.objects.values_list("username", flat=True)) == ["grace"]


# --- the admin ----------------------------------------------------------------------------


@pytest.fixture
def admin_client_(client, make_user):
    client.force_login(make_user(username="root", is_staff=True, is_superuser=True))
    return client


@pytest.mark.django_db
def test_the_admin_refuses_to_create_a_case_variant(admin_client_):
    response = admin_client_.post(
        "/admin/accounts/user/add/",
        {
            "username": "ROOT",
            "usable_password": "true",
            "password1": NEW_PASSWORD,
            "password2": NEW_PASSWORD,
        },
    )
    assert response.status_code == 200
    assert TAKEN in " ".join(response.context["adminform"].form.errors["username"])
    assert list(User.objects.values_list("username", flat=True)) == ["root"]


@pytest.mark.django_db
def test_the_admin_refuses_to_rename_a_user_to_a_case_variant(admin_client_, make_user):
    ada = make_user(username="ada")
    response = admin_client_.post(
        f"/admin/accounts/user/{ada.pk}/change/",
        {
            "username": "Root",
            "email": ada.email,
            "is_active": "on",
            "date_joined_0": "2024-01-01",
            "date_joined_1": "00:00:00",
            "device_sessions-TOTAL_FORMS": "0",
            "device_sessions-INITIAL_FORMS": "0",
        },
    )
    assert response.status_code == 200
    assert TAKEN in str(response.context["adminform"].form.errors)
    ada.refresh_from_db()
    assert ada.username == "ada"


# --- createsuperuser ----------------------------------------------------------------------


@pytest.mark.django_db
def test_createsuperuser_refuses_a_case_variant_with_a_clear_error(make_user, monkeypatch):
    make_user(username="root")
    monkeypatch.setenv("DJANGO_SUPERUSER_PASSWORD", NEW_PASSWORD)
    with pytest.raises(CommandError) as excinfo:
        call_command(
            "createsuperuser", username="ROOT", email="boss@example.com", interactive=False
        )
    # Refused at the name check (a case-insensitive natural key) or by the constraint.
    assert str(excinfo.value) in {"Error: That username is already taken.", TAKEN}
    assert list(User.objects.values_list("username", flat=True)) == ["root"]


@pytest.mark.django_db
def test_createsuperuser_refuses_an_address_taken_in_another_case(make_user, monkeypatch):
    make_user(username="root", email="boss@example.com")
    monkeypatch.setenv("DJANGO_SUPERUSER_PASSWORD", NEW_PASSWORD)
    with pytest.raises(CommandError) as excinfo:
        call_command(
            "createsuperuser", username="boss", email="BOSS@example.com", interactive=False
        )
    assert str(excinfo.value) == "A user with that e-mail address already exists."
    assert list(User.objects.values_list("username", flat=True)) == ["root"]
