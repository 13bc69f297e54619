"""accounts.mfa.factors: which methods a user has, and codes accepted once, whichever
path (the kit's or allauth's own) saw them first."""

import contextlib
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from allauth.mfa.models import Authenticator
from allauth.mfa.recovery_codes.internal.auth import RecoveryCodes
from allauth.mfa.totp.internal.auth import TOTP
from django.test import RequestFactory

from accounts.errors import LockedOut, MfaInvalid
from accounts.mfa.factors import mfa_code_verify, mfa_methods
from accounts.models import TotpCodeUse
from accounts.security.lockout import ACCOUNT, clear_lockout, normalise_name

pytestmark = pytest.mark.django_db


@pytest.fixture
def request_():
    return RequestFactory().post("/")


def test_methods_follow_the_enrolled_factors(user, totp_enrol):
    assert mfa_methods(user) == []
    _, codes = totp_enrol(user)
    assert mfa_methods(user) == ["totp", "recovery_code"]
    Authenticator.objects.create(user=user, type=Authenticator.Type.WEBAUTHN, data={})
    assert mfa_methods(user) == ["totp", "recovery_code", "webauthn"]
    row = Authenticator.objects.get(user=user, type=Authenticator.Type.RECOVERY_CODES)
    for code in codes:
        assert RecoveryCodes(row).validate_code(code)
    assert mfa_methods(user) == ["totp", "webauthn"]


def test_recovery_codes_alone_are_no_second_factor(user, totp_enrol):
    totp_enrol(user)
    Authenticator.objects.filter(user=user, type=Authenticator.Type.TOTP).delete()
    assert mfa_methods(user) == []


def test_a_code_the_kit_accepted_is_refused_by_allauths_own_check(
    user, totp_enrol, mfa_clock, request_
):
    secret, _ = totp_enrol(user)
    code = mfa_clock.code(secret)
    assert mfa_code_verify(user=user, code=code, request=request_) == "totp"
    assert TotpCodeUse.objects.filter(user=user, step=mfa_clock.step()).exists()
    row = Authenticator.objects.get(user=user, type=Authenticator.Type.TOTP)
    assert TOTP(row).validate_code(code) is False


def test_a_code_allauth_accepted_is_refused_by_the_kit(user, totp_enrol, mfa_clock, request_):
    secret, _ = totp_enrol(user)
    code = mfa_clock.code(secret)
    row = Authenticator.objects.get(user=user, type=Authenticator.Type.TOTP)
    assert TOTP(row).validate_code(code) is True
    with pytest.raises(MfaInvalid):
        mfa_code_verify(user=user, code=code, request=request_)


def test_codes_typed_with_spaces_or_dashes_are_read(user, totp_enrol, mfa_clock, request_):
    secret, codes = totp_enrol(user)
    code = mfa_clock.code(secret)
    assert mfa_code_verify(user=user, code=f"{code[:3]} {code[3:]}", request=request_) == "totp"
    dashed = f"{codes[0][:4]}-{codes[0][4:]}"
    assert mfa_code_verify(user=user, code=dashed, request=request_) == "recovery_code"


@pytest.mark.parametrize("code", ["", "abcdef", "\uff11\uff12\uff13\uff14\uff15\uff16", "1" * 64])
def test_malformed_codes_are_wrong_codes(user, totp_enrol, request_, code):
    totp_enrol(user)
    with pytest.raises(MfaInvalid):
        mfa_code_verify(user=user, code=code, request=request_)


def test_a_locked_account_is_refused_before_the_code_is_checked(
    user, totp_enrol, mfa_clock, request_, settings
):
    settings.ACCOUNTS = {**settings.ACCOUNTS, "LOGIN_FAILURE_LIMIT": 2}
    secret, _ = totp_enrol(user)
    for _ in range(2):
        with pytest.raises(MfaInvalid):
            mfa_code_verify(user=user, code=mfa_clock.code(secret, steps=9), request=request_)
    with pytest.raises(LockedOut):
        mfa_code_verify(user=user, code=mfa_clock.code(secret), request=request_)
    # Refused before the check: the right code was not used up.
    assert not TotpCodeUse.objects.exists()
    clear_lockout(ACCOUNT, normalise_name(user.get_username()))
    assert mfa_code_verify(user=user, code=mfa_clock.code(secret), request=request_) == "totp"


@pytest.mark.postgres  # row locks: SQLite takes one writer at a time anyway
@pytest.mark.django_db(transaction=True)
def test_one_recovery_code_used_by_two_requests_at_once_passes_once(user, totp_enrol, monkeypatch):
    """Four requests read the codes at the same moment: a barrier holds each one that got
    as far as reading them until all four have (or 0.5 s passed: a request that waits for
    the row lock never gets there), so an unlocked read-then-write lets all four through."""
    _, codes = totp_enrol(user)
    barrier = threading.Barrier(4)
    generate = RecoveryCodes.generate_codes

    def generate_together(self):
        with contextlib.suppress(threading.BrokenBarrierError):
            barrier.wait(timeout=0.5)
        return generate(self)

    monkeypatch.setattr(RecoveryCodes, "generate_codes", generate_together)

    def use(_):
        from django.db import connection

        try:
            mfa_code_verify(user=user, code=codes[0], request=RequestFactory().post("/"))
            return True
        except MfaInvalid:
            return False
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=4) as pool:
        results = sorted(pool.map(use, range(4)))
    assert results == [False, False, False, True]
