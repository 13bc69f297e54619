"""The kit's few HTTP calls to an OpenID Connect provider, over the standard library.

Short timeouts, no redirects followed, a bounded body, https only (http to this machine
for development and tests), JSON answers. A provider that cannot be reached, answers 5xx,
or answers something that is not JSON raises SocialProviderUnavailable; a 4xx of the token
endpoint (a code refused) is SocialTokenInvalid.
"""

import base64
import json
import urllib.error
import urllib.request
from typing import Any
from urllib.parse import quote_plus, urlencode

from accounts.errors import SocialProviderUnavailable, SocialTokenInvalid
from accounts.social.providers import url_allowed

# Seconds to connect, and between bytes read: a provider that hangs costs a sign-in at
# most a few seconds, never a worker.
TIMEOUT = 3.0
# Largest answer read (a discovery document or a key set is a few KiB).
MAX_BODY = 256 * 1024


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    """A redirect is an error: every URL the kit calls is the one the provider named."""

    def redirect_request(self, req, fp, code, msg, headers, newurl):
        return None


_opener = urllib.request.build_opener(_NoRedirect())


def _request(url: str, *, data: bytes | None, headers: dict[str, str]) -> Any:
    if not url_allowed(url):
        raise SocialProviderUnavailable()
    request = urllib.request.Request(  # noqa: S310 (the scheme is checked above)
        url, data=data, headers={"Accept": "application/json", **headers}
    )
    try:
        with _opener.open(request, timeout=TIMEOUT) as response:
            body = response.read(MAX_BODY + 1)
    except urllib.error.HTTPError as exc:
        if data is not None and 400 <= exc.code < 500:
            raise SocialTokenInvalid() from None  # the code refused: used, expired, foreign
        raise SocialProviderUnavailable() from None
    except (OSError, ValueError):  # URLError, timeouts, resets, a malformed answer
        raise SocialProviderUnavailable() from None
    if len(body) > MAX_BODY:
        raise SocialProviderUnavailable()
    try:
        return json.loads(body)
    except ValueError:
        raise SocialProviderUnavailable() from None


def get_json(url: str) -> Any:
    """GET `url` and parse its JSON answer."""
    return _request(url, data=None, headers={})


def post_form(
    url: str, fields: dict[str, str], *, basic_auth: tuple[str, str] | None = None
) -> Any:
    """POST `fields` form-encoded to `url` (with HTTP Basic client authentication when
    `basic_auth` is given, each part form-encoded first as RFC 6749 2.3.1 says); the
    parsed JSON answer."""
    headers = {"Content-Type": "application/x-www-form-urlencoded"}
    if basic_auth is not None:
        user, secret = (quote_plus(part) for part in basic_auth)
        token = base64.b64encode(f"{user}:{secret}".encode()).decode("ascii")
        headers["Authorization"] = f"Basic {token}"
    return _request(url, data=urlencode(fields).encode(), headers=headers)
