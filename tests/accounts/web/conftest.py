"""Fixtures of the HTML pages' suites: users with second factors, made through the kit's
own rules (accounts.mfa.factors), so the pages read what the API would have written."""

import pytest


@pytest.fixture
def enrol_totp(mfa_clock):
    """enrol_totp(user) -> (secret, recovery codes): TOTP on for `user`, the clock moved to
    the next time step (the confirming code's step is used up)."""
    from accounts.mfa import factors

    def _enrol(user):
        secret = factors.totp_enrol(user=user).secret
        codes = factors.totp_confirm(user=user, code=mfa_clock.code(secret), request=None)
        mfa_clock.advance(30)
        return secret, codes

    return _enrol
