"""The client's address, believed from proxy headers only when the peer is a trusted proxy.

TRUSTED_PROXIES lists addresses or CIDR ranges. From any other peer, X-Forwarded-For and
X-Forwarded-Proto are ignored (and the latter removed, so Django's SECURE_PROXY_SSL_HEADER
cannot be spoofed; gunicorn.conf.py gives gunicorn, which sets the WSGI scheme before any
middleware runs, the same list). Every rule that needs the address (lockouts, rate
limits, the audit trail, device sessions, API keys, JWT_BIND_IP) asks `client_ip(request)`.
"""

import ipaddress
from collections.abc import Callable, Iterable, Mapping
from functools import lru_cache
from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponseBase

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


@lru_cache(maxsize=8)
def _networks(trusted: tuple[str, ...]) -> tuple[Network, ...]:
    return tuple(ipaddress.ip_network(entry.strip(), strict=False) for entry in trusted if entry)


def _is_trusted(address: str, networks: Iterable[Network]) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in network for network in networks)


def address_from_meta(
    meta: Mapping[str, Any], trusted_proxies: Iterable[str] | None = None
) -> str | None:
    """The client's address from a request's META (a string, or None)."""
    networks = _networks(
        tuple(trusted_proxies if trusted_proxies is not None else settings.TRUSTED_PROXIES)
    )
    peer = meta.get("REMOTE_ADDR") or None
    if not peer or not _is_trusted(peer, networks):
        return peer
    # Walk X-Forwarded-For from the right: the first hop that is not one of our proxies
    # is the client; anything left of it was written by the client and proves nothing.
    hops = [hop.strip() for hop in meta.get("HTTP_X_FORWARDED_FOR", "").split(",") if hop.strip()]
    for hop in reversed(hops):
        try:
            ipaddress.ip_address(hop)
        except ValueError:
            return peer
        if not _is_trusted(hop, networks):
            return hop
    return hops[0] if hops else peer


class ClientIPMiddleware:
    """Sets `request.client_ip`; drops X-Forwarded-Proto and X-Request-ID unless a trusted
    proxy sent them."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        peer_trusted = _is_trusted(
            request.META.get("REMOTE_ADDR", ""), _networks(tuple(settings.TRUSTED_PROXIES))
        )
        if not peer_trusted:
            request.META.pop("HTTP_X_FORWARDED_PROTO", None)
            # The log lines' request id (config.logs) is a proxy's to give, not a client's.
            request.META.pop("HTTP_X_REQUEST_ID", None)
        # an attribute of the kit's own on the request, read back by client_ip()
        request.client_ip = address_from_meta(request.META)  # type: ignore[attr-defined]
        return self.get_response(request)


def client_ip(request: HttpRequest | None) -> str | None:
    """The address of the client that sent `request` (an HttpRequest or DRF's Request),
    or None: the middleware's answer, or the same computation when it did not run."""
    if request is None:
        return None
    address = getattr(request, "client_ip", None)
    return address if address is not None else address_from_meta(request.META)
