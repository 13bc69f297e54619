"""flush_expired_sessions also deletes the spent rows of the second-factor flows."""

from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.utils import timezone

from accounts.mfa.challenges import challenge_issue, token_hash
from accounts.models import MfaChallenge, TotpCodeUse

pytestmark = pytest.mark.django_db


def test_expired_steps_and_old_totp_steps_are_deleted_recent_ones_kept(user):
    now = timezone.now()
    live = challenge_issue(kind=MfaChallenge.Kind.SIGN_IN, user=user, data={})
    stale = challenge_issue(kind=MfaChallenge.Kind.SIGN_IN, user=user, data={})
    MfaChallenge.objects.filter(token_hash=token_hash(stale)).update(
        expires_at=now - timedelta(days=1, seconds=1)
    )
    TotpCodeUse.objects.create(user=user, step=1, created_at=now - timedelta(days=2))
    TotpCodeUse.objects.create(user=user, step=2)
    output = StringIO()
    call_command("flush_expired_sessions", stdout=output)
    assert "Deleted 1 expired second-factor step(s) and 1 used TOTP step(s)." in output.getvalue()
    assert list(MfaChallenge.objects.values_list("token_hash", flat=True)) == [token_hash(live)]
    assert list(TotpCodeUse.objects.values_list("step", flat=True)) == [2]
