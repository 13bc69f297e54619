"""E-mail verification and e-mail change, as rules (accounts.users.verification,
accounts.users.email_change): rows, keys, mails, the audit."""

import re
import time
from unittest import mock

import pytest
from allauth.account.models import EmailAddress
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.test import RequestFactory

from accounts.errors import EmailUnverified, LockedOut
from accounts.models import AuthEvent, User
from accounts.users import verification
from accounts.users.email_change import email_change_request
from accounts.users.signup import sign_up
from accounts.users.verification import (
    email_verification_mode,
    email_verified,
    email_verified_check,
    email_verify,
)
from tests.factories import DEFAULT_PASSWORD

pytestmark = pytest.mark.django_db

NEW_PASSWORD = "a-brand-new-passphrase-42"
KEY = re.compile(r"^([\w-]+:[\w-]+:[\w-]+)$", re.MULTILINE)


@pytest.fixture
def request_():
    return RequestFactory().post("/accounts/signup/")


@pytest.fixture
def mandatory(settings):
    settings.ACCOUNTS = {**settings.ACCOUNTS, "EMAIL_VERIFICATION": "mandatory"}


def key_of(mail):
    """The key printed alone on its line in a verification e-mail."""
    (key,) = KEY.findall(mail.body)
    assert f"/accounts/email/verify/{key}/" in mail.body  # the link carries the same key
    return key


def events(kind):
    return AuthEvent.objects.filter(kind=kind).count()


# --- the mode --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("signup_open", "setting", "mode"),
    [
        (True, "", "mandatory"),
        (False, "", "optional"),
        (True, "optional", "optional"),
        (False, "mandatory", "mandatory"),
        (True, "none", "none"),
    ],
)
def test_the_mode_defaults_to_mandatory_when_sign_up_is_on(settings, signup_open, setting, mode):
    settings.ACCOUNTS = {
        **settings.ACCOUNTS,
        "ALLOW_SIGNUP": signup_open,
        "EMAIL_VERIFICATION": setting,
    }
    assert email_verification_mode() == mode


def test_a_mode_outside_the_four_stops_start_up(settings):
    from accounts.checks import check_kit_settings

    settings.ACCOUNTS = {**settings.ACCOUNTS, "EMAIL_VERIFICATION": "required"}
    (error,) = check_kit_settings()
    assert error.id == "accounts.E004"
    assert "EMAIL_VERIFICATION" in error.msg
    assert "mandatory" in error.msg


# --- sign-up ---------------------------------------------------------------------------


def test_a_new_address_gets_an_unverified_row_and_a_verification_mail(
    mandatory, request_, mailoutbox
):
    sign_up(username="grace", email="grace@example.com", password=NEW_PASSWORD, request=request_)
    user = User.objects.get(username="grace")
    assert list(EmailAddress.objects.values_list("user", "email", "verified", "primary")) == [
        (user.pk, "grace@example.com", False, True)
    ]
    assert not email_verified(user=user)
    (mail,) = mailoutbox
    assert mail.to == ["grace@example.com"]
    assert mail.subject == "Confirm your e-mail address for Kit"
    assert "http://testserver/accounts/email/verify/" in mail.body
    key_of(mail)


def test_a_registered_address_gets_the_existing_account_mail_and_no_row(
    mandatory, make_user, request_, mailoutbox
):
    make_user(username="ada", email="grace@example.com")
    sign_up(username="grace", email="Grace@example.com", password=NEW_PASSWORD, request=request_)
    assert not EmailAddress.objects.exists()
    (mail,) = mailoutbox
    assert mail.to == ["grace@example.com"]
    assert "already have" in mail.subject
    assert "/accounts/email/verify/" not in mail.body


def test_with_mode_none_a_sign_up_is_welcomed_and_signs_in_unverified(
    settings, request_, mailoutbox
):
    """Mode "none" lets the address sign in unproven; it does not make it proven (social
    sign-in links only to a proven address: tests/accounts/social)."""
    settings.ACCOUNTS = {**settings.ACCOUNTS, "EMAIL_VERIFICATION": "none"}
    sign_up(username="grace", email="grace@example.com", password=NEW_PASSWORD, request=request_)
    grace = User.objects.get(username="grace")
    assert not EmailAddress.objects.get(user=grace).verified
    assert not email_verified(user=grace)
    email_verified_check(user=grace)  # no EmailUnverified: it signs in
    assert "Welcome" in mailoutbox[0].subject
    assert "/accounts/email/verify/" not in mailoutbox[0].body


def test_users_made_by_createsuperuser_or_staff_count_as_verified(
    mandatory, make_user, monkeypatch
):
    monkeypatch.setenv("DJANGO_SUPERUSER_PASSWORD", DEFAULT_PASSWORD)
    call_command(
        "createsuperuser", "--noinput", "--username", "root", "--email", "root@example.com"
    )
    made_by_staff = make_user(username="made", email="made@example.com")
    for user in (User.objects.get(username="root"), made_by_staff):
        assert email_verified(user=user)
        email_verified_check(user=user)  # no EmailUnverified
    assert not EmailAddress.objects.exists()


def test_the_check_refuses_only_in_mandatory_mode(settings, make_user):
    user = make_user(email="u@example.com")
    EmailAddress.objects.create(user=user, email=user.email, primary=True, verified=False)
    settings.ACCOUNTS = {**settings.ACCOUNTS, "EMAIL_VERIFICATION": "optional"}
    email_verified_check(user=user)
    settings.ACCOUNTS = {**settings.ACCOUNTS, "EMAIL_VERIFICATION": "mandatory"}
    with pytest.raises(EmailUnverified):
        email_verified_check(user=user)


# --- the key ---------------------------------------------------------------------------


@pytest.fixture
def signed_up(mandatory, request_, mailoutbox):
    """A sign-up's user and the key of its verification e-mail."""
    sign_up(username="grace", email="grace@example.com", password=NEW_PASSWORD, request=request_)
    return User.objects.get(username="grace"), key_of(mailoutbox[-1])


def test_the_key_verifies_the_address_once(signed_up):
    user, key = signed_up
    assert email_verify(key=key, request=None) == user
    assert email_verified(user=user)
    assert EmailAddress.objects.get(user=user).verified
    assert events(AuthEvent.Kind.EMAIL_VERIFIED) == 1
    with pytest.raises(ValidationError) as used:
        email_verify(key=key, request=None)
    assert list(used.value.message_dict) == ["key"]
    assert events(AuthEvent.Kind.EMAIL_VERIFIED) == 1


def test_of_two_uses_at_once_one_verifies(signed_up):
    """Both read the row unverified (neither had committed); the conditional UPDATE lets
    only one of them through."""
    _user, key = signed_up
    stale = verification.email_verification_read(key=key)
    email_verify(key=key, request=None)
    with (
        mock.patch.object(verification, "email_verification_read", return_value=stale),
        pytest.raises(ValidationError),
    ):
        email_verify(key=key, request=None)
    assert events(AuthEvent.Kind.EMAIL_VERIFIED) == 1


def test_an_expired_key_is_refused(signed_up):
    user, key = signed_up
    four_days_on = time.time() + 4 * 24 * 3600  # ACCOUNT_EMAIL_CONFIRMATION_EXPIRE_DAYS = 3
    with mock.patch("time.time", return_value=four_days_on), pytest.raises(ValidationError):
        email_verify(key=key, request=None)
    assert not email_verified(user=user)


@pytest.mark.parametrize(
    "forge",
    [
        lambda key: key[:-2] + ("AA" if not key.endswith("AA") else "BB"),
        lambda key: key.replace(key.split(":")[0], "Mg", 1),  # another row id, same signature
        lambda key: "",
        lambda key: "not-a-key",
        lambda key: key + ":" * 300,
    ],
)
def test_a_forged_key_is_refused(signed_up, forge):
    user, key = signed_up
    with pytest.raises(ValidationError):
        email_verify(key=forge(key), request=None)
    assert not email_verified(user=user)


def test_the_key_of_a_deactivated_account_is_refused(signed_up):
    user, key = signed_up
    user.is_active = False
    user.save()
    with pytest.raises(ValidationError):
        email_verify(key=key, request=None)


# --- e-mail change ---------------------------------------------------------------------


@pytest.fixture
def change_request():
    return RequestFactory().post("/api/v1/me/email/")


def test_a_change_waits_for_the_new_address_and_tells_the_old_one(user, change_request, mailoutbox):
    old = user.email
    email_change_request(
        user=user, email="new.me@example.org", password=DEFAULT_PASSWORD, request=change_request
    )
    user.refresh_from_db()
    assert user.email == old  # not before the verification
    pending = EmailAddress.objects.get(user=user)
    assert (pending.email, pending.verified, pending.primary) == (
        "new.me@example.org",
        False,
        False,
    )
    to_new, to_old = mailoutbox
    assert to_new.to == ["new.me@example.org"]
    assert to_old.to == [old]
    assert "n***@example.org" in to_old.body
    assert "new.me@example.org" not in to_old.body
    assert events(AuthEvent.Kind.EMAIL_CHANGE_REQUESTED) == 1

    email_verify(key=key_of(to_new), request=None)
    user.refresh_from_db()
    assert user.email == "new.me@example.org"
    assert list(EmailAddress.objects.values_list("email", "verified", "primary")) == [
        ("new.me@example.org", True, True)
    ]
    assert events(AuthEvent.Kind.EMAIL_CHANGED) == 1
    with pytest.raises(ValidationError):
        email_verify(key=key_of(to_new), request=None)


def test_an_address_of_another_account_changes_nothing_and_gets_nothing(
    user, make_user, change_request, mailoutbox
):
    other = make_user(username="other", email="taken@example.com")
    own = user.email
    email_change_request(
        user=user, email="TAKEN@example.com", password=DEFAULT_PASSWORD, request=change_request
    )
    assert not EmailAddress.objects.exists()
    (notice,) = mailoutbox  # only the account's own address is told
    assert notice.to == [user.email]
    user.refresh_from_db()
    other.refresh_from_db()
    assert (user.email, other.email) == (own, "taken@example.com")


def test_an_address_taken_before_the_link_is_followed_is_refused_whole(
    user, make_user, change_request, mailoutbox
):
    old = user.email
    email_change_request(
        user=user, email="race@example.com", password=DEFAULT_PASSWORD, request=change_request
    )
    key = key_of(mailoutbox[0])
    make_user(username="quicker", email="Race@example.com")
    with pytest.raises(ValidationError):
        email_verify(key=key, request=None)
    user.refresh_from_db()
    assert user.email == old
    assert not EmailAddress.objects.get(user=user).verified
    assert events(AuthEvent.Kind.EMAIL_CHANGED) == 0


def test_a_database_race_on_the_swap_writes_nothing(user, make_user, change_request, mailoutbox):
    """The other account takes the address after the check: the unique constraint refuses
    the swap, and the whole transaction (the row's verification included) is undone."""
    email_change_request(
        user=user, email="race@example.com", password=DEFAULT_PASSWORD, request=change_request
    )
    key = key_of(mailoutbox[0])
    make_user(username="quicker", email="race@example.com")
    with (
        mock.patch.object(verification, "email_taken_by_another", return_value=False),
        pytest.raises(ValidationError),
    ):
        email_verify(key=key, request=None)
    user.refresh_from_db()
    assert user.email != "race@example.com"
    assert not EmailAddress.objects.get(user=user).verified


def test_a_wrong_password_changes_nothing_and_counts_for_the_lockout(
    user, change_request, mailoutbox, settings
):
    settings.ACCOUNTS = {**settings.ACCOUNTS, "LOGIN_FAILURE_LIMIT": 2}
    for _ in range(2):
        with pytest.raises(ValidationError) as wrong:
            email_change_request(
                user=user, email="new@example.com", password="wrong", request=change_request
            )
        assert list(wrong.value.message_dict) == ["password"]
    with pytest.raises(LockedOut):
        email_change_request(
            user=user, email="new@example.com", password=DEFAULT_PASSWORD, request=change_request
        )
    assert not EmailAddress.objects.exists()
    assert mailoutbox == []


@pytest.mark.parametrize("email", ["", "not-an-address", "USER0@example.com"])
def test_a_bad_or_own_address_is_a_field_error(user, change_request, email):
    user.email = "user0@example.com"
    user.save()
    with pytest.raises(ValidationError) as refused:
        email_change_request(
            user=user, email=email, password=DEFAULT_PASSWORD, request=change_request
        )
    assert list(refused.value.message_dict) == ["email"]


def test_a_newer_request_voids_the_older_link(user, change_request, mailoutbox):
    for email in ("first@example.com", "second@example.com"):
        email_change_request(
            user=user, email=email, password=DEFAULT_PASSWORD, request=change_request
        )
    first_key = key_of(mailoutbox[0])
    with pytest.raises(ValidationError):
        email_verify(key=first_key, request=None)
    email_verify(key=key_of(mailoutbox[2]), request=None)
    user.refresh_from_db()
    assert user.email == "second@example.com"


def test_a_new_password_voids_a_pending_change(user, change_request, mailoutbox):
    """Whoever asked for it with the old password (and holds the new address) cannot
    complete it after the owner, told by e-mail, set a new one."""
    email_change_request(
        user=user, email="thief@example.com", password=DEFAULT_PASSWORD, request=change_request
    )
    user.set_password(NEW_PASSWORD)
    user.save()
    with pytest.raises(ValidationError):
        email_verify(key=key_of(mailoutbox[0]), request=None)
    user.refresh_from_db()
    assert user.email != "thief@example.com"


def test_the_mails_are_rendered_in_the_request_language(user, mailoutbox):
    from django.utils import translation

    from accounts.users import tasks

    with mock.patch.object(translation, "override", wraps=translation.override) as override:
        tasks.send_email_change_mail.call(
            user_id=user.pk,
            email="x@example.com",
            domain="testserver",
            use_https=True,
            language="fr",
        )
    override.assert_called_with("fr")
    assert mailoutbox[0].to == [user.email]
