"""JWT_BIND_IP: an access token is only good from the client address it was issued to.

Every access token carries `cip`, a keyed hash of the address (an HMAC with SECRET_KEY:
the IPv4 space is small enough to reverse a plain hash, so the token never reveals the
address). With JWT_BIND_IP on, a request from another address, or a token without the
claim, is refused as `token_invalid`; the app refreshes (the refresh token is not bound)
and gets a token for its new address. Off by default: see docs/browser-apps.md.
"""

import ipaddress
from typing import TYPE_CHECKING

from django.conf import settings
from django.utils.crypto import constant_time_compare, salted_hmac

from accounts.security.client_ip import client_ip

if TYPE_CHECKING:
    from django.http import HttpRequest

    from accounts.devices.tokens import DeviceAccessToken

CLIENT_IP_CLAIM = "cip"


def _normalised(address: object) -> str | None:
    try:
        return ipaddress.ip_address(str(address).strip()).compressed
    except ValueError:
        return None


def client_ip_hash(address: str | None) -> str | None:
    """The `cip` claim of an address, or None when the address is unknown or malformed."""
    address = _normalised(address) if address else None
    if address is None:
        return None
    return salted_hmac("accounts.ip_binding", address, algorithm="sha256").hexdigest()[:32]


def address_matches(token: "DeviceAccessToken", request: "HttpRequest") -> bool:
    """True when JWT_BIND_IP is off, or the token was issued to the request's address."""
    if not settings.JWT_BIND_IP:
        return True
    claimed, actual = token.get(CLIENT_IP_CLAIM), client_ip_hash(client_ip(request))
    return (
        isinstance(claimed, str) and actual is not None and constant_time_compare(claimed, actual)
    )
