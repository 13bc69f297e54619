"""Social sign-in for apps: a provider's ID token for a device session.

`social_sign_in` verifies the token (accounts.social.oidc), finds or makes the account
(accounts.social.linking), refuses an unverified address (sign_in_verified_check) and an
account with a second factor (MfaRequired with an `mfa_token`, finished at
/auth/token/mfa/ as after a password), then opens a device session like every sign-in
(device limit, replacement of the same device_id, new-device notice), its `amr` "fed"
plus the provider's own factors when its token names them.
"""

from typing import Any

from django.http import HttpRequest

from accounts import auth
from accounts.errors import SocialTokenInvalid
from accounts.mfa import signin as mfa_signin
from accounts.models import AuthEvent, User
from accounts.security.audit import record_event
from accounts.social.linking import social_user_resolve
from accounts.social.oidc import id_token_verify
from accounts.social.providers import Provider, provider_get
from accounts.users.verification import sign_in_verified_check

AMR_FEDERATED = "fed"
# RFC 8176's registered method references: the provider's `amr` values the kit passes on.
_REGISTERED_AMR = frozenset(
    {
        "face", "fpt", "geo", "hwk", "iris", "kba", "mca", "mfa", "otp", "pin", "pwd",
        "rba", "retina", "sc", "sms", "swk", "tel", "user", "vbm", "wia",
    }
)  # fmt: skip


def social_amr(claims: dict[str, Any]) -> tuple[str, ...]:
    """["fed"], then the registered methods the provider's `amr` names (once each)."""
    named = claims.get("amr")
    extra = [m for m in named if m in _REGISTERED_AMR] if isinstance(named, list) else []
    return tuple(dict.fromkeys([AMR_FEDERATED, *extra]))


def social_claims_verify(
    *, request: HttpRequest | None, provider_id: object, id_token: object, nonce: str | None
) -> tuple[Provider, dict[str, Any]]:
    """(the provider, the verified claims) of `id_token`; SocialTokenInvalid for an unknown
    provider or a refused token (audited with its reason), SocialProviderUnavailable when
    the provider cannot be reached."""
    try:
        provider = provider_get(provider_id)
        return provider, id_token_verify(provider=provider, id_token=id_token, nonce=nonce)
    except SocialTokenInvalid as refused:
        record_event(
            AuthEvent.Kind.SOCIAL_SIGN_IN_REFUSED,
            request=request,
            provider=str(provider_id)[:30],
            reason=refused.reason,
        )
        raise


def social_account_for(
    *, request: HttpRequest | None, provider: Provider, claims: dict[str, Any]
) -> User:
    """The account verified `claims` sign in, ready for a session: linked or made
    (accounts.social.linking), its address verified when that is mandatory
    (sign_in_verified_check: EmailUnverified, and a new verification link is mailed)."""
    try:
        user = social_user_resolve(request=request, provider=provider, claims=claims)
    except SocialTokenInvalid as refused:
        record_event(
            AuthEvent.Kind.SOCIAL_SIGN_IN_REFUSED,
            request=request,
            provider=provider.id,
            reason=refused.reason,
        )
        raise
    # As every sign-in path: refused before any session, audited, a new link mailed.
    sign_in_verified_check(user=user, request=request)
    return user


def social_sign_in(
    *,
    request: HttpRequest,
    provider_id: str,
    id_token: str,
    nonce: str | None = None,
    device_id: str | None = None,
    device_name: str = "",
    revoke_device_id: object = None,
    device_trust_token: str | None = None,
) -> tuple[User, auth.DeviceLogin]:
    """An app's sign-in with a provider's ID token: -> (user, DeviceLogin).

    SocialTokenInvalid (unknown provider, refused token, inactive user, no account and
    sign-up closed), SocialProviderUnavailable, EmailUnverified, MfaRequired (no session
    yet: /auth/token/mfa/ finishes it), DeviceLimitReached, as the module docstring says.
    """
    provider, claims = social_claims_verify(
        request=request, provider_id=provider_id, id_token=id_token, nonce=nonce
    )
    user = social_account_for(request=request, provider=provider, claims=claims)
    amr = social_amr(claims)
    mfa_signin.mfa_sign_in_begin(
        request=request,
        user=user,
        transport="token",
        device_id=device_id,
        device_name=device_name,
        revoke_device_id=revoke_device_id,
        device_trust_token=device_trust_token,
        amr=amr,
    )
    login = auth.login(
        request,
        user,
        backend=auth.JWT,
        device_id=device_id,
        device_name=device_name,
        revoke_device_id=str(revoke_device_id) if revoke_device_id else None,
        amr=amr,
        device_trust_token=device_trust_token,
    )
    return user, login
