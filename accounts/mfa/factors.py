"""A user's second factors, kept in allauth.mfa's `Authenticator` rows (allauth's format,
so its pages and the kit's API read the same store), under the kit's rules:

- a TOTP code is accepted once: its time step is recorded in TotpCodeUse (unique per user
  and step, across workers and instances), and allauth's own used-code mark is set too;
- a recovery code is used once (allauth's RecoveryCodes, which locks its row);
- a wrong code is audited (MFA_FAILED) and counted as a failed sign-in by the account
  lockout (accounts.security.lockout.register_failure); a locked account is refused
  before any code is checked;
- every change is audited and mailed (accounts.mfa.notices.mfa_change_record);
- step-up: once the account has a factor, its factors change only from a session whose
  sign-in used one (amr "mfa"; mfa_step_up_check), so a password alone (or a session
  opened before the first factor) can neither add nor remove one; and enrolling the first
  factor ends every other session of the user (mfa_first_factor_sessions_end), since a
  password-only session elsewhere may be an attacker's.

TOTP enrolment has two steps: `totp_enrol` hands out a secret (kept, encrypted, in a
TOTP_SETUP MfaChallenge until confirmed), `totp_confirm` activates it with a first code.
The first factor also gives the recovery codes, returned once.
"""

import hmac
from dataclasses import dataclass

from allauth.mfa.adapter import get_adapter
from allauth.mfa.models import Authenticator
from allauth.mfa.recovery_codes.internal.auth import RecoveryCodes
from allauth.mfa.totp.internal.auth import (
    TOTP,
    format_hotp_value,
    generate_totp_secret,
    hotp_value,
    yield_hotp_counters_from_time,
)
from allauth.mfa.utils import decrypt, encrypt
from django.contrib.auth import SESSION_KEY, get_user_model, update_session_auth_hash
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.auth import request_amr
from accounts.devices import sessions
from accounts.errors import MfaInvalid, MfaStepUpRequired
from accounts.mfa.challenges import challenge_issue
from accounts.mfa.notices import mfa_change_record
from accounts.models import AuthEvent, DeviceSession, MfaChallenge, TotpCodeUse, User
from accounts.security.lockout import (
    Attempt,
    attempt_locked_check,
    register_failure,
    user_attempt,
)

Type = Authenticator.Type
Kind = AuthEvent.Kind

# The `methods` of an mfa_required answer (the contract's names).
TOTP_METHOD = "totp"
RECOVERY_CODE_METHOD = "recovery_code"
WEBAUTHN_METHOD = "webauthn"
# The factors proper: recovery codes only stand in for them.
FACTOR_TYPES = (Type.TOTP, Type.WEBAUTHN)
# How long a TOTP secret handed out waits for its first code (time to scan and type it).
TOTP_SETUP_SECONDS = 900
WRONG_CODE = _("The code is wrong or was already used.")


@dataclass(frozen=True)
class TotpSetup:
    """A TOTP secret waiting for its first code: the base32 secret and the otpauth:// URI
    (for a QR code) that authenticator apps read."""

    secret: str
    otpauth_uri: str


def mfa_enabled(*, user: User) -> bool:
    """True when `user` has a second factor (TOTP or a passkey)."""
    return Authenticator.objects.filter(user=user, type__in=FACTOR_TYPES).exists()


def _recovery_codes(user: User) -> RecoveryCodes | None:
    row = Authenticator.objects.filter(user=user, type=Type.RECOVERY_CODES).first()
    return RecoveryCodes(row) if row is not None else None


def mfa_methods(user: User) -> list[str]:
    """How `user` can pass the second step, among "totp", "recovery_code" and "webauthn"
    ([] for a user without a second factor). Recovery codes count only with unused ones
    and a factor they stand in for."""
    types = set(Authenticator.objects.filter(user=user).values_list("type", flat=True))
    if not types.intersection(FACTOR_TYPES):
        return []
    methods = [TOTP_METHOD] if Type.TOTP in types else []
    codes = _recovery_codes(user) if Type.RECOVERY_CODES in types else None
    if codes is not None and codes.get_unused_codes():
        methods.append(RECOVERY_CODE_METHOD)
    if Type.WEBAUTHN in types:
        methods.append(WEBAUTHN_METHOD)
    return methods


def mfa_summary(*, user: User) -> dict[str, object]:
    """What GET /api/v1/mfa/ tells of TOTP and recovery codes (never a secret)."""
    codes = _recovery_codes(user)
    return {
        "totp": Authenticator.objects.filter(user=user, type=Type.TOTP).exists(),
        "recovery_codes_left": len(codes.get_unused_codes()) if codes is not None else 0,
    }


def mfa_step_up_check(*, user: User, request: HttpRequest | None) -> None:
    """Before any change of `user`'s second factors: MfaStepUpRequired when the account
    has a factor and the caller's sign-in did not use one (its amr lacks "mfa"; no
    request counts as none). The first factor needs no step-up: there is none to use."""
    if "mfa" not in request_amr(request) and mfa_enabled(user=user):
        raise MfaStepUpRequired(
            "Changing your second factors needs a sign-in with one: sign out, then sign in "
            "again with your password and a second factor."
        )


def mfa_first_factor_sessions_end(*, user: User, request: HttpRequest | None) -> int:
    """The first factor was just enrolled: end every other session of `user` (device
    sessions revoked, browser sessions ended), so one opened elsewhere with the password
    alone (maybe an attacker's, who had the password) does not outlive the factor meant to
    stop it. The caller's own session stays: its device session, or its browser session
    (with the new session hash). -> how many device sessions were revoked."""
    keep = sessions.current_session_id(request) if request is not None else None
    revoked = sessions.revoke_all_sessions(
        user,
        reason=DeviceSession.RevokeReason.MFA_ENROLLED,
        actor=user.get_username(),
        keep_session_id=keep,
        request=request,
    )
    session = getattr(request, "session", None)
    if request is not None and session is not None and session.get(SESSION_KEY) == str(user.pk):
        update_session_auth_hash(request, user)
    return revoked


# --- checking a code --------------------------------------------------------------------


def _totp_step(secret: str, code: str) -> int | None:
    """The time step (within the tolerance) whose code `code` is, compared in constant
    time; None when it is none of them."""
    for step in yield_hotp_counters_from_time():
        if hmac.compare_digest(format_hotp_value(hotp_value(secret, step)), code):
            return step
    return None


def _totp_accept(user: User, code: str) -> bool:
    """Accept `code` as the user's current TOTP code, once: the step is recorded in
    TotpCodeUse (the unique row refuses a replay, on any worker), and allauth's check
    marks the code used in its own cache too, so its pages refuse it as well."""
    row = Authenticator.objects.filter(user=user, type=Type.TOTP).first()
    if row is None or not code.isascii() or not code.isdigit():
        return False
    step = _totp_step(decrypt(row.data["secret"]), code)
    if step is None:
        return False
    try:
        with transaction.atomic():
            TotpCodeUse.objects.create(user=user, step=step)
    except IntegrityError:
        return False  # this step's code was already accepted
    if not TOTP(row).validate_code(code):
        return False
    row.record_usage()
    return True


def _recovery_code_accept(user: User, code: str) -> bool:
    """Use up one recovery code. allauth's validate_code reads the row under
    select_for_update inside its transaction, so two concurrent uses of one code cannot
    both pass."""
    codes = _recovery_codes(user)
    if codes is None or not code:
        return False
    if not codes.validate_code(code):
        return False
    codes.instance.record_usage()
    return True


def _normalised(code: object) -> str:
    return "".join(code.split()).replace("-", "") if isinstance(code, str) else ""


def mfa_code_verify(
    *, user: User, code: str, request: HttpRequest | None, attempt: Attempt | None = None
) -> str:
    """Check a second-factor `code` of `user` (a TOTP code or a recovery code); -> the
    method it passed ("totp" or "recovery_code").

    Behind the lockout, as a password is: LockedOut while the account (or the trusted
    device of `attempt`) is locked, before any code is looked at; a wrong, replayed or
    used code is audited (MFA_FAILED), counted by register_failure, and MfaInvalid.
    `attempt` is the sign-in's lockout attempt (its first step's); by default the
    account and the client address of `request`.
    """
    if attempt is None:
        attempt = user_attempt(request, user)
    attempt_locked_check(request, attempt)
    value = _normalised(code)
    if _totp_accept(user, value):
        return TOTP_METHOD
    if _recovery_code_accept(user, value):
        mfa_change_record(
            user=user, kind=Kind.MFA_RECOVERY_CODE_USED, request=request, factor="recovery_codes"
        )
        return RECOVERY_CODE_METHOD
    register_failure(request, attempt)
    mfa_change_record(user=user, kind=Kind.MFA_FAILED, request=request)
    raise MfaInvalid(WRONG_CODE)


def mfa_code_check(*, user: User, code: str, request: HttpRequest | None) -> None:
    """mfa_code_verify for a signed-in user's own changes (and account deletion): a wrong
    code is a field error of `code` (400 `invalid`), still audited and counted by the
    lockout."""
    try:
        mfa_code_verify(user=user, code=code, request=request)
    except MfaInvalid as error:
        raise ValidationError({"code": [error.detail]}) from None


# --- TOTP -------------------------------------------------------------------------------


def _locked_user(user: User) -> User:
    """The user's row, locked for this transaction: one factor change at a time."""
    return get_user_model()._default_manager.select_for_update().get(pk=user.pk)


def totp_enrol(*, user: User, request: HttpRequest | None) -> TotpSetup:
    """A new TOTP secret for `user`, pending until totp_confirm gets its first code (an
    earlier pending one is voided). ValidationError when TOTP is already on;
    MfaStepUpRequired (mfa_step_up_check)."""
    mfa_step_up_check(user=user, request=request)
    if Authenticator.objects.filter(user=user, type=Type.TOTP).exists():
        raise ValidationError(_("An authenticator app is already set up; remove it first."))
    secret = generate_totp_secret()
    with transaction.atomic():
        MfaChallenge.objects.filter(
            user=user, kind=MfaChallenge.Kind.TOTP_SETUP, used_at__isnull=True
        ).update(used_at=timezone.now())
        challenge_issue(
            kind=MfaChallenge.Kind.TOTP_SETUP,
            user=user,
            data={"secret": encrypt(secret)},
            seconds=TOTP_SETUP_SECONDS,
        )
    return TotpSetup(secret=secret, otpauth_uri=get_adapter().build_totp_url(user, secret))


def recovery_codes_ensure(*, user: User) -> list[str]:
    """The recovery codes that come with a user's first factor: the new codes when this
    call made them, [] when the user already has a set (those are not shown again)."""
    if Authenticator.objects.filter(user=user, type=Type.RECOVERY_CODES).exists():
        return []
    return RecoveryCodes.activate(user).generate_codes()


def totp_confirm(*, user: User, code: str, request: HttpRequest | None) -> list[str]:
    """Turn on the pending TOTP secret with its first `code`; -> the recovery codes made
    with this first factor ([] when the user already had some). ValidationError (field
    `code`) for a wrong code or when nothing is pending. The code's step is recorded, so
    it cannot then sign anyone in. MfaStepUpRequired (mfa_step_up_check); the first factor
    ends the user's other sessions (mfa_first_factor_sessions_end)."""
    with transaction.atomic():
        user = _locked_user(user)
        mfa_step_up_check(user=user, request=request)
        first = not mfa_enabled(user=user)
        if Authenticator.objects.filter(user=user, type=Type.TOTP).exists():
            raise ValidationError(_("An authenticator app is already set up; remove it first."))
        pending = (
            MfaChallenge.objects.filter(
                user=user,
                kind=MfaChallenge.Kind.TOTP_SETUP,
                used_at__isnull=True,
                expires_at__gt=timezone.now(),
            )
            .order_by("-created_at")
            .first()
        )
        if pending is None:
            raise ValidationError({"code": [_("No set-up is pending: start it again.")]})
        secret = decrypt(pending.data["secret"])
        value = _normalised(code)
        step = _totp_step(secret, value) if value.isascii() and value.isdigit() else None
        if step is None:
            raise ValidationError({"code": [_("The code is wrong: check the app's clock.")]})
        TotpCodeUse.objects.get_or_create(user=user, step=step)
        pending.used_at = timezone.now()
        pending.save(update_fields=["used_at"])
        TOTP.activate(user, secret)
        codes = recovery_codes_ensure(user=user)
        mfa_change_record(user=user, kind=Kind.MFA_FACTOR_ADDED, request=request, factor="totp")
        if first:
            mfa_first_factor_sessions_end(user=user, request=request)
    return codes


def totp_remove(*, user: User, code: str, request: HttpRequest | None) -> None:
    """Turn TOTP off, with a current TOTP or recovery code (checked as at sign-in). The
    recovery codes go too when no other factor is left. ValidationError when TOTP is off
    or for a wrong code; MfaStepUpRequired (mfa_step_up_check)."""
    mfa_step_up_check(user=user, request=request)
    if not Authenticator.objects.filter(user=user, type=Type.TOTP).exists():
        raise ValidationError(_("No authenticator app is set up."))
    mfa_code_check(user=user, code=code, request=request)
    with transaction.atomic():
        user = _locked_user(user)
        Authenticator.objects.filter(user=user, type=Type.TOTP).delete()
        if not Authenticator.objects.filter(user=user, type__in=FACTOR_TYPES).exists():
            Authenticator.objects.filter(user=user, type=Type.RECOVERY_CODES).delete()
        mfa_change_record(user=user, kind=Kind.MFA_FACTOR_REMOVED, request=request, factor="totp")


def recovery_codes_renew(*, user: User, code: str, request: HttpRequest | None) -> list[str]:
    """A new set of recovery codes (the old ones void), with a current TOTP or recovery
    code; -> the new codes, shown once. ValidationError without a second factor or for a
    wrong code; MfaStepUpRequired (mfa_step_up_check)."""
    if not mfa_enabled(user=user):
        raise ValidationError(_("Set up a second factor first."))
    mfa_step_up_check(user=user, request=request)
    mfa_code_check(user=user, code=code, request=request)
    with transaction.atomic():
        user = _locked_user(user)
        Authenticator.objects.filter(user=user, type=Type.RECOVERY_CODES).delete()
        codes = RecoveryCodes.activate(user).generate_codes()
        mfa_change_record(
            user=user,
            kind=Kind.MFA_RECOVERY_CODES_RENEWED,
            request=request,
            factor="recovery_codes",
        )
    return codes
