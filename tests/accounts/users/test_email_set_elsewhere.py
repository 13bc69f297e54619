"""An account's address set by any other path (the admin's form, a staff script: any ORM
save of `User.email`) voids the verification links still out for other addresses of it
(accounts.users.signals), as a new password voids a pending change: a stale link must
not put back an address staff took away. Else a sign-up's typo address (someone else's
mailbox), corrected by support, returned when that mailbox's owner followed the old link
(then a password reset to it took the account over); and an attacker's pending change,
undone by staff, came back the same way."""

import re

import pytest
from django.contrib.auth.models import AnonymousUser
from django.core.exceptions import ValidationError
from django.test import RequestFactory

from accounts.models import User
from accounts.users.email_change import email_change_request
from accounts.users.signup import sign_up
from accounts.users.verification import email_verified, email_verify
from tests.factories import DEFAULT_PASSWORD

pytestmark = pytest.mark.django_db


def _key(mail):
    return re.search(r"/accounts/email/verify/([^/\s]+)/", mail.body).group(1)


@pytest.fixture
def request_():
    request = RequestFactory().post("/")
    request.user = AnonymousUser()
    return request


def test_a_sign_up_link_for_an_address_staff_corrected_is_refused(settings, request_, mailoutbox):
    settings.ACCOUNTS = {**settings.ACCOUNTS, "ALLOW_SIGNUP": True}
    sign_up(
        username="bob", email="bob@gmial.example", password="Zx9!long-pass-ok", request=request_
    )
    stale = _key(mailoutbox[-1])
    bob = User.objects.get(username="bob")
    bob.email = "bob@gmail.example"  # support corrects the typo in the admin
    bob.save()

    with pytest.raises(ValidationError):
        email_verify(key=stale, request=None)

    bob.refresh_from_db()
    assert bob.email == "bob@gmail.example"
    assert email_verified(user=bob)  # set by staff: counts as verified, as a staff-made user


def test_a_pending_change_undone_by_staff_does_not_come_back(user, request_, mailoutbox):
    request_.user = user
    email_change_request(
        user=user, email="attacker@example.org", password=DEFAULT_PASSWORD, request=request_
    )
    stale = _key(next(m for m in mailoutbox if m.to == ["attacker@example.org"]))
    user.refresh_from_db()
    user.email = "owner.new@example.com"  # staff set the owner's new address
    user.save()

    with pytest.raises(ValidationError):
        email_verify(key=stale, request=None)

    user.refresh_from_db()
    assert user.email == "owner.new@example.com"
