"""Which account a verified ID token signs in: the linking rules of social sign-in.

In order (docs/social-sign-in.md):
1. A known link (allauth's SocialAccount: this provider's id and the token's `sub`) signs
   in its user.
2. Otherwise a provider e-mail the provider says is verified (`email_verified` true),
   equal to the address of an existing account (any case), links the token to that
   account, but only when that account's own address is verified
   (accounts.users.verification.email_verified). When it is not, nobody is signed in and
   nothing is linked (EmailUnverified): whoever made that account may not have owned the
   address, and linking would hand them the sign-ins of the person who does.
3. Otherwise, when sign-up is open (ACCOUNTS_ALLOW_SIGNUP), a new account: with the
   provider's verified address (and a verified EmailAddress row, so it passes
   email_verified_check), or with no address at all when the provider's is unverified or
   absent (an unverified address is never stored, never used to link). A unique username
   is made from the token. With sign-up closed: SocialTokenInvalid, nothing created.
An inactive account is refused (SocialTokenInvalid) at any step.
"""

import re
import secrets
from typing import Any

from allauth.account.models import EmailAddress
from allauth.socialaccount.models import SocialAccount
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.http import HttpRequest
from django.utils.translation import gettext

from accounts.conf import kit_settings
from accounts.errors import EmailUnverified, SocialTokenInvalid
from accounts.models import AuthEvent, User
from accounts.security.audit import record_event
from accounts.social.providers import Provider
from accounts.users.verification import email_verified

# What a username may hold (Django's UnicodeUsernameValidator), and how long the part
# taken from the token may be before a suffix.
_USERNAME_DROPPED = re.compile(r"[^\w.@+-]")
_BASE_LENGTH = 30
_ATTEMPTS = 5


def provider_email(claims: dict[str, Any]) -> tuple[str, bool]:
    """(the token's e-mail address, whether the provider says it is verified); ("", False)
    for none or a malformed one. `email_verified` counts when it is true or "true" (some
    providers send a string)."""
    email = claims.get("email")
    if not isinstance(email, str) or not email or len(email) > 254:
        return "", False
    try:
        validate_email(email)
    except ValidationError:
        return "", False
    verified = claims.get("email_verified")
    verified = verified is True or (isinstance(verified, str) and verified.lower() == "true")
    # The domain's ASCII letters in lower case, nothing else: Django's normalize_email lowers
    # it with Unicode rules (the Kelvin sign K becomes k), making a lookalike of an address.
    local, _, domain = email.rpartition("@")
    return f"{local}@{domain.translate(_ASCII_LOWER)}", verified


def _active(user: User) -> User:
    if not user.is_active:
        raise SocialTokenInvalid(reason="inactive_user")
    return user


def _linked_user(provider: Provider, sub: str) -> User | None:
    link = (
        SocialAccount.objects.select_related("user").filter(provider=provider.id, uid=sub).first()
    )
    if link is None:
        return None
    link.save(update_fields=["last_login"])  # auto_now: when this link last signed in
    return link.user


def _link(provider: Provider, sub: str, user: User) -> None:
    SocialAccount.objects.create(
        user=user, provider=provider.id, uid=sub, extra_data={"iss": provider.issuer}
    )


def _username_base(claims: dict[str, Any], email: str) -> str:
    for candidate in (claims.get("preferred_username"), email.split("@")[0], claims.get("name")):
        if isinstance(candidate, str):
            cleaned = _USERNAME_DROPPED.sub("", candidate.replace(" ", "."))[:_BASE_LENGTH]
            if cleaned.strip(".@+-_"):
                return cleaned
    return "user"


def _free_username(base: str) -> str:
    users = get_user_model().objects
    if not users.filter(username__iexact=base).exists():
        return base
    for _ in range(_ATTEMPTS):
        candidate = f"{base}-{secrets.token_hex(3)}"
        if not users.filter(username__iexact=candidate).exists():
            return candidate
    return f"{base}-{secrets.token_hex(8)}"


def _create(
    *, request: HttpRequest | None, provider: Provider, claims: dict[str, Any], email: str
) -> User:
    """A new account for this token (with `email` when verified, else none), linked."""
    user = get_user_model().objects.create_user(
        username=_free_username(_username_base(claims, email)),
        email=email,
        password=None,  # unusable: this account signs in through its provider
        first_name=str(claims.get("given_name") or "")[:150],
        last_name=str(claims.get("family_name") or "")[:150],
    )
    if email:
        EmailAddress.objects.create(user=user, email=email, verified=True, primary=True)
    _link(provider, claims["sub"], user)
    record_event(
        AuthEvent.Kind.SOCIAL_ACCOUNT_CREATED, request=request, user=user, provider=provider.id
    )
    return user


# ASCII letters only: the one case folding under which two addresses are the same mailbox
# for linking. The database's own (PostgreSQL's UPPER/LOWER behind `iexact`) also folds
# the dotless i (U+0131), the long s (U+017F), the Kelvin sign (U+212A)... to ASCII
# letters: a lookalike address.
_ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")


def _account_of_address(email: str) -> User | None:
    """The account whose address is `email` up to the case of its ASCII letters, or None.
    Never one the database's Unicode case folding only makes look equal
    (`v\u0131ctim@example.com` is not `victim@example.com`: CVE-2019-19844's class)."""
    folded = email.translate(_ASCII_LOWER)
    for candidate in get_user_model().objects.filter(email__iexact=email):
        if candidate.email.translate(_ASCII_LOWER) == folded:
            return candidate
    return None


class _AccountUnverifiedError(Exception):
    """A verified provider address names an account whose own address is unverified."""

    def __init__(self, user: User) -> None:
        super().__init__()
        self.user = user


def _resolve_once(
    *, request: HttpRequest | None, provider: Provider, claims: dict[str, Any]
) -> User:
    sub = claims["sub"]
    user = _linked_user(provider, sub)
    if user is not None:
        return _active(user)
    email, verified = provider_email(claims)
    if email and verified:
        existing = _account_of_address(email)
        if existing is not None:
            _active(existing)
            if not email_verified(user=existing):
                raise _AccountUnverifiedError(existing)
            _link(provider, sub, existing)
            record_event(
                AuthEvent.Kind.SOCIAL_ACCOUNT_LINKED,
                request=request,
                user=existing,
                provider=provider.id,
            )
            return existing
    if not kit_settings.ALLOW_SIGNUP:
        raise SocialTokenInvalid(
            gettext("No account is linked to this sign-in, and sign-up is closed."),
            reason="signup_closed",
        )
    return _create(
        request=request, provider=provider, claims=claims, email=email if verified else ""
    )


def social_user_resolve(
    *, request: HttpRequest | None, provider: Provider, claims: dict[str, Any]
) -> User:
    """The active account the verified `claims` sign in (linking or creating one as the
    module docstring says). EmailUnverified or SocialTokenInvalid when there is none to
    sign in. Concurrent first sign-ins of one `sub` (or one address) end on one account:
    the loser of the race finds the winner's link."""
    for _ in range(_ATTEMPTS):
        try:
            with transaction.atomic():
                return _resolve_once(request=request, provider=provider, claims=claims)
        except IntegrityError:
            continue  # a concurrent sign-in made the link, the address or the username
        except _AccountUnverifiedError as refused:
            record_event(
                AuthEvent.Kind.SOCIAL_SIGN_IN_REFUSED,
                request=request,
                user=refused.user,
                provider=provider.id,
                reason="account_email_unverified",
            )
            raise EmailUnverified(
                gettext(
                    "An account with this e-mail address exists, but its address is not "
                    "verified yet. Verify it first with the link in our e-mail, then sign in "
                    "with this provider again."
                )
            ) from None
    raise SocialTokenInvalid(reason="conflict")
