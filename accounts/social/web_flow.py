"""Social sign-in for browsers: OpenID Connect's authorization-code flow with PKCE (S256),
`state` and `nonce` (accounts/web/social_views.py is its thin HTML side).

`authorization_begin` makes a fresh state, nonce and PKCE verifier, keeps them in the
browser's Django session (at most MAX_FLOWS at once, each for FLOW_SECONDS) and returns
the provider's authorization URL. `authorization_complete` takes the provider's answer at
the callback: the state must be one this browser's session holds for this provider and
unexpired, and it is used up at once (removed from the session, and claimed in the cache
so two callbacks racing with one state cannot both go on); then the code is exchanged at
the token endpoint (client_secret_basic, or client_secret_post when the provider lists
only that; the PKCE verifier) and the ID token verified as the app route does, its nonce
the one this flow sent.
"""

import base64
import hashlib
import secrets
import time
from typing import Any
from urllib.parse import urlencode, urlsplit

from django.core.cache import cache
from django.http import HttpRequest

from accounts.errors import SocialProviderUnavailable, SocialTokenInvalid
from accounts.models import AuthEvent
from accounts.security.audit import record_event
from accounts.social import http
from accounts.social.oidc import cached_metadata, endpoint, id_token_verify, provider_metadata
from accounts.social.providers import Provider, provider_get, social_providers

# The browser session's key of the flows under way: {state: {provider, nonce, verifier,
# next, expires}}.
FLOWS_KEY = "accounts_social_flows"
# Seconds a flow may take from the button to the callback.
FLOW_SECONDS = 600
# Flows one browser may have under way at once (tabs); the oldest goes first.
MAX_FLOWS = 5
SCOPE = "openid email profile"


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _flows(request: HttpRequest) -> dict[str, dict[str, Any]]:
    flows = request.session.get(FLOWS_KEY)
    if not isinstance(flows, dict):
        return {}
    now = time.time()
    return {s: f for s, f in flows.items() if isinstance(f, dict) and f.get("expires", 0) > now}


def authorization_begin(
    *, request: HttpRequest, provider_id: str, redirect_uri: str, next_url: str
) -> str:
    """The provider's authorization URL for a new flow of this browser. SocialTokenInvalid
    for an unknown provider, SocialProviderUnavailable when its document cannot be had."""
    provider = provider_get(provider_id)
    authorize = endpoint(provider_metadata(provider), "authorization_endpoint")
    state, nonce, verifier = (secrets.token_urlsafe(32) for _ in range(3))
    flows = _flows(request)
    for old in sorted(flows, key=lambda s: flows[s]["expires"])[
        : max(0, len(flows) - MAX_FLOWS + 1)
    ]:
        del flows[old]
    flows[state] = {
        "provider": provider.id,
        "nonce": nonce,
        "verifier": verifier,
        "next": next_url,
        "redirect_uri": redirect_uri,
        "expires": time.time() + FLOW_SECONDS,
    }
    request.session[FLOWS_KEY] = flows
    query = urlencode(
        {
            "response_type": "code",
            "client_id": provider.client_id,
            "redirect_uri": redirect_uri,
            "scope": SCOPE,
            "state": state,
            "nonce": nonce,
            "code_challenge": _b64(hashlib.sha256(verifier.encode()).digest()),
            "code_challenge_method": "S256",
        }
    )
    return f"{authorize}{'&' if urlsplit(authorize).query else '?'}{query}"


def _refused(request: HttpRequest, provider_id: str, reason: str) -> SocialTokenInvalid:
    record_event(
        AuthEvent.Kind.SOCIAL_SIGN_IN_REFUSED,
        request=request,
        provider=provider_id[:30],
        reason=reason,
    )
    return SocialTokenInvalid(reason=reason)


def _take_flow(request: HttpRequest, provider_id: str, state: object) -> dict[str, Any]:
    """This browser's flow of `state`, used up now; SocialTokenInvalid (reason "state")
    for a state unknown here, expired, of another provider, or already used."""
    flows = _flows(request)
    flow = flows.pop(state, None) if isinstance(state, str) else None
    request.session[FLOWS_KEY] = flows
    if flow is None or not isinstance(state, str) or flow.get("provider") != provider_id:
        raise _refused(request, provider_id, "state")
    # One use even when two callbacks with this state run at once (the session is saved
    # only after the response): the first to claim it in the cache goes on.
    claim = "social:state:" + hashlib.sha256(state.encode()).hexdigest()
    try:
        claimed = cache.add(claim, 1, FLOW_SECONDS)
    except Exception:
        claimed = True  # the cache is down: the session's own removal still holds
    if not claimed:
        raise _refused(request, provider_id, "state")
    return flow


def _exchange(provider: Provider, document: dict[str, Any], fields: dict[str, str]) -> Any:
    token_url = endpoint(document, "token_endpoint")
    methods = document.get("token_endpoint_auth_methods_supported") or ["client_secret_basic"]
    if "client_secret_basic" in methods:
        return http.post_form(
            token_url, fields, basic_auth=(provider.client_id, provider.client_secret)
        )
    if "client_secret_post" in methods:
        return http.post_form(
            token_url,
            {**fields, "client_id": provider.client_id, "client_secret": provider.client_secret},
        )
    raise SocialProviderUnavailable()  # a client authentication the kit does not do


def authorization_complete(
    *, request: HttpRequest, provider_id: str, params: Any
) -> tuple[Provider, dict[str, Any], str]:
    """The provider's answer at the callback (`params`: the query) -> (provider, verified
    claims, the URL to go to after). SocialTokenInvalid with its `reason` ("state",
    "access_denied", "provider_error", or the token's) or SocialProviderUnavailable."""
    flow = _take_flow(request, provider_id, params.get("state"))
    error = params.get("error")
    if error:
        reason = "access_denied" if error == "access_denied" else "provider_error"
        raise _refused(request, provider_id, reason)
    code = params.get("code")
    if not isinstance(code, str) or not code or len(code) > 2048:
        raise _refused(request, provider_id, "code")
    provider = provider_get(provider_id)
    document = provider_metadata(provider)
    try:
        answer = _exchange(
            provider,
            document,
            {
                "grant_type": "authorization_code",
                "code": code,
                "redirect_uri": flow["redirect_uri"],
                "code_verifier": flow["verifier"],
            },
        )
    except SocialTokenInvalid:
        raise _refused(request, provider_id, "code") from None
    id_token = answer.get("id_token") if isinstance(answer, dict) else None
    try:
        claims = id_token_verify(provider=provider, id_token=id_token, nonce=flow["nonce"])
    except SocialTokenInvalid as refused:
        raise _refused(request, provider_id, refused.reason) from None
    return provider, claims, flow["next"]


def _origin(url: object) -> str | None:
    if not isinstance(url, str):
        return None
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}" if parts.scheme and parts.netloc else None


def form_action_sources() -> list[str]:
    """The origins the sign-in page's provider buttons lead to, for its CSP `form-action`
    (a browser checks the redirect after a form's POST against it): each issuer's origin,
    and its authorization endpoint's when the cached document names another. Never a
    fetch: the page must not wait on a provider."""
    sources: set[str] = set()
    for provider in social_providers():
        sources.add(_origin(provider.issuer) or "")
        document = cached_metadata(provider)
        if document is not None:
            sources.add(_origin(document.get("authorization_endpoint")) or "")
    return sorted(s for s in sources if s)
