"""Fixtures of the HTML pages' suites: users with second factors, made through the kit's
own rules (accounts.mfa.factors), so the pages read what the API would have written."""

import pytest


@pytest.fixture
def enrol_totp(mfa_clock):
    """enrol_totp(user) -> (secret, recovery codes): TOTP on for `user`, the clock moved to
    the next time step (the confirming code's step is used up). As the first factor, it
    ends the user's sessions: sign a browser in after (mfa_browser)."""
    from accounts.mfa import factors

    def _enrol(user):
        secret = factors.totp_enrol(user=user, request=None).secret
        codes = factors.totp_confirm(user=user, code=mfa_clock.code(secret), request=None)
        mfa_clock.advance(30)
        return secret, codes

    return _enrol


@pytest.fixture
def mfa_browser(signed_in_browser):
    """mfa_browser(user) -> a test client whose browser session signed in with a second
    factor (amr pwd, otp, mfa: as after the code page), which changing the factors of an
    account that has one needs (step-up)."""
    from accounts.auth import SESSION_AMR_KEY

    def _browser(user):
        user.refresh_from_db()  # the session hash of the user's current sessions_version
        client = signed_in_browser(user)
        session = client.session
        session[SESSION_AMR_KEY] = ["pwd", "otp", "mfa"]
        session.save()
        return client

    return _browser
