"""Passkeys (WebAuthn discoverable credentials): registration for the signed-in user and a
passwordless sign-in, for the API and the HTML pages alike (no transport here).

fido2's Fido2Server checks the ceremonies; the kit adds what it leaves to the relying party:
- The relying party is ACCOUNTS["WEBAUTHN_RP_ID"] (default: the request's host) and only
  the origins of ACCOUNTS["WEBAUTHN_ORIGINS"] are accepted (default: https:// + rp id;
  exact matches, so an app's origin such as `android:apk-key-hash:...` can be listed).
- A ceremony's state is an MfaChallenge row (accounts.mfa.challenges: single-use, dies after
  MFA_TOKEN_SECONDS). Its token is also the WebAuthn challenge, so the client data the
  authenticator signs names the row: a client may send the token back or not.
- Discoverable credentials and user verification are required, at registration and at
  sign-in (a passkey sign-in then stands for two factors: amr ["hwk", "user", "mfa"]).
- Credentials are stored by allauth (WebAuthn.add: `{"name", "credential"}` in an
  Authenticator row), so allauth's passkey pages would read the same rows; the kit adds
  `sign_count`, the last sign counter seen (allauth keeps none). A counter that does not
  grow (when either is non-zero) means a cloned authenticator: refused and audited.
- A credential id belongs to one account: registering one that is already stored (to
  anyone) is refused, also when two accounts register it at the same instant (a lock per
  credential id), and a sign-in finds the account by the credential id alone.
Every change is audited and mailed (accounts.mfa.notices), every refusal of a known
credential audited (MFA_FAILED).
"""

import hashlib
import struct
from collections.abc import Callable
from typing import Any

from allauth.mfa.adapter import get_adapter
from allauth.mfa.models import Authenticator
from allauth.mfa.webauthn.internal.auth import WebAuthn
from django.db import connection, transaction
from django.http import HttpRequest
from django.http.request import split_domain_port
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from fido2.server import Fido2Server
from fido2.utils import websafe_encode
from fido2.webauthn import (
    AuthenticationResponse,
    PublicKeyCredentialRpEntity,
    PublicKeyCredentialUserEntity,
    RegistrationResponse,
    ResidentKeyRequirement,
    UserVerificationRequirement,
)

from accounts.conf import kit_settings
from accounts.errors import MfaTokenInvalid, NotFound, PasskeyInvalid, Throttled
from accounts.mfa.challenges import challenge_issue, challenge_take, token_hash
from accounts.mfa.factors import (
    mfa_enabled,
    mfa_first_factor_sessions_end,
    mfa_step_up_check,
    recovery_codes_ensure,
)
from accounts.mfa.notices import mfa_change_record
from accounts.models import AuthEvent, MfaChallenge, User
from accounts.security import ratelimit

FACTOR = "webauthn"
# How a passkey sign-in proves the user (RFC 8176): a hardware-bound key, with user
# verification (biometric or PIN) on the device: two factors.
AMR = ("hwk", "user", "mfa")
DEFAULT_NAME = "Passkey"
NAME_MAX_LENGTH = 64
# What fido2 raises on a malformed credential (bad base64url, CBOR, JSON, lengths, types).
MALFORMED = (ValueError, TypeError, LookupError, AttributeError, struct.error)
REQUIRED = UserVerificationRequirement.REQUIRED


def relying_party(request: HttpRequest) -> tuple[str, list[str]]:
    """The rp id and the accepted origins for this request."""
    rp_id = kit_settings.WEBAUTHN_RP_ID or split_domain_port(request.get_host())[0]
    origins = [o.strip() for o in kit_settings.WEBAUTHN_ORIGINS.split(",") if o.strip()]
    return rp_id, origins or [f"https://{rp_id}"]


def _server(request: HttpRequest) -> Fido2Server:
    rp_id, origins = relying_party(request)
    return Fido2Server(
        PublicKeyCredentialRpEntity(id=rp_id, name=kit_settings.SITE_NAME),
        verify_origin=origins.__contains__,
    )


def _user_entity(user: User) -> PublicKeyCredentialUserEntity:
    """The WebAuthn user of `user` as allauth names it (its user handle is allauth's)."""
    return PublicKeyCredentialUserEntity(
        **get_adapter().get_public_key_credential_user_entity(user)
    )


def _issue(
    *, kind: MfaChallenge.Kind, user: User | None, begin: Callable[[bytes], tuple[Any, Any]]
) -> tuple[str, dict]:
    """Open a ceremony whose WebAuthn challenge is its token: `begin(challenge)` -> fido2's
    (options, state); the state is kept in the row. -> (token, the options' JSON). The
    token is random and single-use, so the challenge a registered credential's client data
    keeps (allauth stores the whole credential) is a dead one."""
    token = challenge_issue(kind=kind, user=user, data={})
    options, state = begin(token.encode())
    MfaChallenge.objects.filter(token_hash=token_hash(token)).update(data={"state": state})
    return token, dict(options)["publicKey"]


def _take(*, kind: MfaChallenge.Kind, token: str | None, client_challenge: bytes) -> MfaChallenge:
    """Use up the ceremony named by `token`, or else by the challenge the authenticator
    signed. PasskeyInvalid when unknown, expired, used or without its state."""
    try:
        challenge = challenge_take(kind=kind, token=token or client_challenge.decode("ascii"))
    except (MfaTokenInvalid, UnicodeDecodeError):
        raise PasskeyInvalid() from None
    if not challenge.data.get("state"):
        raise PasskeyInvalid()
    return challenge


def _stored(credential_id: bytes) -> Authenticator | None:
    """The passkey (of any user) with this credential id."""
    return (
        Authenticator.objects.select_related("user")
        .filter(
            type=Authenticator.Type.WEBAUTHN,
            data__credential__id=websafe_encode(credential_id),
        )
        .first()
    )


def _lock(user: User) -> None:
    """Lock the user's row for this transaction: one factor change of a user at a time."""
    User.objects.select_for_update().filter(pk=user.pk).first()


def _credential_lock(credential_id: bytes) -> None:
    """Serialise, until this transaction ends, the registrations of one credential id
    whoever registers it: the user row locks of two accounts do not stop the same
    credential being stored for both at once, this does (the second one then finds it).
    PostgreSQL: a transaction-level advisory lock on 64 bits of the id's SHA-256; SQLite
    runs one write transaction at a time anyway."""
    if connection.vendor != "postgresql":
        return
    digest = hashlib.sha256(b"kit.passkey.credential\0" + credential_id).digest()
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_advisory_xact_lock(%s)", [int.from_bytes(digest[:8], "big", signed=True)]
        )


def _refused(*, user: User, request: HttpRequest, reason: str) -> PasskeyInvalid:
    """Audit a refused passkey of `user` (not mailed) and return the error to raise."""
    mfa_change_record(
        user=user, kind=AuthEvent.Kind.MFA_FAILED, request=request, factor=FACTOR, reason=reason
    )
    return PasskeyInvalid()


# --- sign-in ----------------------------------------------------------------------------


def passkey_sign_in_begin(*, request: HttpRequest) -> tuple[str, dict]:
    """Start a passwordless sign-in: -> (challenge_token, request options). No user yet:
    the authenticator offers its discoverable credentials for this relying party. Anyone
    may call it and each call writes a row, so it is limited per client address
    (ACCOUNTS_PASSKEY_SIGN_IN_RATE): Throttled past it."""
    retry_after = ratelimit.request_limit_hit(request, flow=ratelimit.PASSKEY_SIGN_IN)
    if retry_after is not None:
        raise Throttled(retry_after, _("Too many passkey sign-ins from your network; try later."))
    server = _server(request)
    return _issue(
        kind=MfaChallenge.Kind.PASSKEY_SIGN_IN,
        user=None,
        begin=lambda challenge: server.authenticate_begin(
            user_verification=REQUIRED, challenge=challenge
        ),
    )


def passkey_sign_in_complete(
    *, request: HttpRequest, challenge_token: str | None, credential: dict
) -> User:
    """The user whose passkey signed this challenge (with user verification), or
    PasskeyInvalid. The sign counter must grow (when either is non-zero); it and the
    passkey's last use are saved. The caller opens the session (amr hwk, user, mfa)."""
    try:
        response = AuthenticationResponse.from_dict(credential)
        client_challenge = response.response.client_data.challenge
    except MALFORMED:
        raise PasskeyInvalid() from None
    challenge = _take(
        kind=MfaChallenge.Kind.PASSKEY_SIGN_IN,
        token=challenge_token,
        client_challenge=client_challenge,
    )
    authenticator = _stored(response.raw_id)
    if authenticator is None or not authenticator.user.is_active:
        raise PasskeyInvalid()
    user = authenticator.user
    stored = WebAuthn(authenticator).authenticator_data
    if response.response.user_handle != _user_entity(user).id:
        raise _refused(user=user, request=request, reason="user_handle")
    try:
        _server(request).authenticate_complete(
            challenge.data["state"], [stored.credential_data], response
        )
    except MALFORMED as error:
        raise _refused(user=user, request=request, reason=str(error)) from None

    counter = response.response.authenticator_data.counter
    with transaction.atomic():
        authenticator = (
            Authenticator.objects.select_for_update().filter(pk=authenticator.pk).first()
        )
        if authenticator is None:  # removed meanwhile
            raise PasskeyInvalid()
        last = authenticator.data.get("sign_count", stored.counter)
        cloned = (counter > 0 or last > 0) and counter <= last
        if not cloned:
            authenticator.data["sign_count"] = counter
            authenticator.last_used_at = timezone.now()
            authenticator.save(update_fields=["data", "last_used_at"])
    if cloned:
        raise _refused(user=user, request=request, reason="sign_count")
    return user


# --- registration -----------------------------------------------------------------------


def passkey_register_begin(*, request: HttpRequest, user: User) -> tuple[str, dict]:
    """Start registering a passkey for `user`: -> (challenge_token, creation options).
    Asks for a discoverable credential with user verification; the user's passkeys are
    excluded (an authenticator that holds one says so instead of making another).
    MfaStepUpRequired (accounts.mfa.factors.mfa_step_up_check)."""
    mfa_step_up_check(user=user, request=request)
    server = _server(request)
    existing = [
        WebAuthn(a).authenticator_data.credential_data
        for a in Authenticator.objects.filter(user=user, type=Authenticator.Type.WEBAUTHN)
    ]
    return _issue(
        kind=MfaChallenge.Kind.PASSKEY_REGISTRATION,
        user=user,
        begin=lambda challenge: server.register_begin(
            user=_user_entity(user),
            credentials=existing,
            resident_key_requirement=ResidentKeyRequirement.REQUIRED,
            user_verification=REQUIRED,
            challenge=challenge,
            extensions={"credProps": True},
        ),
    )


def passkey_register_complete(
    *,
    request: HttpRequest,
    user: User,
    credential: dict,
    name: str = "",
    challenge_token: str | None = None,
) -> tuple[Authenticator, list[str]]:
    """Store the passkey of this registration for `user`: -> (its row, the recovery codes
    made with this first factor, [] when the user has a set already; shown once).
    PasskeyInvalid for a bad, unverified, non-discoverable or already registered
    credential, or a challenge not begun by `user`; MfaStepUpRequired (mfa_step_up_check).
    Audited and mailed; the first factor ends the user's other sessions
    (mfa_first_factor_sessions_end)."""
    try:
        registration = RegistrationResponse.from_dict(credential)
        client_challenge = registration.response.client_data.challenge
        rk = (registration.client_extension_results.get("credProps") or {}).get("rk")
    except MALFORMED:
        raise PasskeyInvalid() from None
    challenge = _take(
        kind=MfaChallenge.Kind.PASSKEY_REGISTRATION,
        token=challenge_token,
        client_challenge=client_challenge,
    )
    if challenge.user_id != user.pk:
        raise PasskeyInvalid()
    try:
        auth_data = _server(request).register_complete(challenge.data["state"], registration)
    except MALFORMED:
        raise PasskeyInvalid() from None
    # credProps.rk is the client's word on whether the key is discoverable: "no" is
    # refused; a client that does not say was asked for one (residentKey "required").
    if rk is False or auth_data.credential_data is None:
        raise PasskeyInvalid()
    stored = dict(registration)  # canonical JSON: `id` is the unpadded base64url of rawId
    stored["clientExtensionResults"] = {
        **stored.get("clientExtensionResults", {}),
        "credProps": {"rk": True},
    }
    credential_id = auth_data.credential_data.credential_id
    with transaction.atomic():
        _lock(user)
        _credential_lock(credential_id)
        mfa_step_up_check(user=user, request=request)
        first = not mfa_enabled(user=user)
        if _stored(credential_id) is not None:
            raise PasskeyInvalid(_("This passkey is already registered."))
        name = " ".join(name.split())[:NAME_MAX_LENGTH] or DEFAULT_NAME
        authenticator = WebAuthn.add(user, name, stored).instance
        recovery_codes = recovery_codes_ensure(user=user)
        mfa_change_record(
            user=user,
            kind=AuthEvent.Kind.MFA_FACTOR_ADDED,
            request=request,
            factor=FACTOR,
            passkey_id=authenticator.pk,
        )
        if first:
            mfa_first_factor_sessions_end(user=user, request=request)
    return authenticator, recovery_codes


# --- the user's passkeys ----------------------------------------------------------------


def passkey_describe(authenticator: Authenticator) -> dict[str, Any]:
    """A passkey as the user sees it: id, name, created_at, last_used_at."""
    return {
        "id": authenticator.pk,
        "name": WebAuthn(authenticator).name,
        "created_at": authenticator.created_at,
        "last_used_at": authenticator.last_used_at,
    }


def passkeys_list(*, user: User) -> list[dict[str, Any]]:
    """The user's passkeys, oldest first (passkey_describe)."""
    return [
        passkey_describe(a)
        for a in Authenticator.objects.filter(user=user, type=Authenticator.Type.WEBAUTHN).order_by(
            "created_at", "pk"
        )
    ]


def passkey_remove(*, request: HttpRequest, user: User, passkey_id: int) -> None:
    """Remove one of `user`'s passkeys (NotFound for another user's or an unknown id); the
    recovery codes go too when no factor is left (as for TOTP). MfaStepUpRequired
    (mfa_step_up_check). Audited and mailed."""
    with transaction.atomic():
        _lock(user)
        mfa_step_up_check(user=user, request=request)
        deleted, _ = Authenticator.objects.filter(
            pk=passkey_id, user=user, type=Authenticator.Type.WEBAUTHN
        ).delete()
        if not deleted:
            raise NotFound()
        if not mfa_enabled(user=user):
            Authenticator.objects.filter(user=user, type=Authenticator.Type.RECOVERY_CODES).delete()
        mfa_change_record(
            user=user,
            kind=AuthEvent.Kind.MFA_FACTOR_REMOVED,
            request=request,
            factor=FACTOR,
            passkey_id=passkey_id,
        )
