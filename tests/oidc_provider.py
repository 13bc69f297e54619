"""A local OpenID Connect provider for the tests: never a real one.

A threaded http.server on 127.0.0.1 (an ephemeral port) serving
- `/.well-known/openid-configuration` (the discovery document),
- `/jwks` (its RSA keys' public halves),
- `/authorize` (the browser's step: redirects back with `code` and `state`; with
  `consent_page` on, first a page with a "Continue" button, as a real provider asks;
  with `deny` on, back with `error=access_denied`),
- `/token` (the code exchange: checks the client's secret, Basic or in the body, the
  redirect URI and the PKCE verifier, uses each code once, and answers an RS256 ID token
  carrying the authorization request's nonce).

`mint(...)` signs ID tokens for the app route, with knobs for every way a token can be bad
(another key, issuer, audience, expiry, nonce, an unknown `kid`, `alg` none or HS256 made
with the public key as the HMAC secret). `rotate()` publishes a new key and signs with it.
Counters (`discovery_fetches`, `jwks_fetches`) let tests see what the kit fetched.
"""

import base64
import hashlib
import hmac
import html
import json
import secrets
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, unquote_plus, urlencode, urlsplit

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

CLIENT_ID = "kit-test-client"
CLIENT_SECRET = "stub-secret-Ω"


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


class SigningKey:
    def __init__(self, kid: str) -> None:
        self.kid = kid
        self.private = rsa.generate_private_key(public_exponent=65537, key_size=2048)

    def jwk(self) -> dict[str, Any]:
        public = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(self.private.public_key()))
        return {**public, "kid": self.kid, "use": "sig", "alg": "RS256"}

    def public_pem(self) -> bytes:
        return self.private.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )


class StubProvider:
    def __init__(self) -> None:
        self.keys = [SigningKey("key-1")]
        self.algorithms = ["RS256"]
        self.auth_methods = ["client_secret_basic", "client_secret_post"]
        self.user: dict[str, Any] = {
            "sub": "stub-user-1",
            "email": "ada@example.com",
            "email_verified": True,
            "given_name": "Ada",
            "family_name": "Lovelace",
        }
        self.consent_page = False
        self.deny = False
        self.down = False  # every route answers 503
        self.down_answers = 0  # how many requests it refused while down
        self.discovery_issuer: str | None = None  # another issuer in the document
        self.discovery_fetches = 0
        self.jwks_fetches = 0
        self.token_requests: list[dict[str, Any]] = []
        self._codes: dict[str, dict[str, Any]] = {}
        self._lock = threading.Lock()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.issuer = f"http://127.0.0.1:{self.server.server_address[1]}"
        self._thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    # --- lifecycle ------------------------------------------------------------------

    def start(self) -> "StubProvider":
        self._thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def settings_entry(self, provider_id: str = "stub", name: str = "Stub ID") -> dict[str, str]:
        return {
            "id": provider_id,
            "name": name,
            "issuer": self.issuer,
            "client_id": CLIENT_ID,
            "client_secret": CLIENT_SECRET,
        }

    # --- keys and tokens --------------------------------------------------------------

    @property
    def key(self) -> SigningKey:
        return self.keys[-1]

    def rotate(self, *, keep_old: bool = True) -> SigningKey:
        """Publish a new key (kid key-N) and sign with it from now on."""
        new = SigningKey(f"key-{len(self.keys) + 1}")
        self.keys = [*self.keys, new] if keep_old else [new]
        return new

    def claims(self, **overrides: Any) -> dict[str, Any]:
        now = int(time.time())
        claims = {
            "iss": self.issuer,
            "aud": CLIENT_ID,
            "iat": now,
            "exp": now + 600,
            **self.user,
        }
        claims.update(overrides)
        return {k: v for k, v in claims.items() if v is not None}

    def mint(
        self,
        *,
        key: SigningKey | None = None,
        alg: str = "RS256",
        kid: str | bool | None = True,
        **claims: Any,
    ) -> str:
        """An ID token of this provider (claims overridable; None drops one). `key`:
        another key (e.g. SigningKey("key-1") unknown to the JWKS, with the same kid);
        `kid`: True = the key's, None = no kid, a string = that kid; `alg` "none" or
        "HS256" (HMAC with the public key's PEM: the key-confusion attack)."""
        key = key or self.key
        payload = self.claims(**claims)
        header: dict[str, Any] = {"typ": "JWT", "alg": alg}
        if kid is True:
            header["kid"] = key.kid
        elif isinstance(kid, str):
            header["kid"] = kid
        if alg == "RS256":
            return jwt.encode(payload, key.private, algorithm="RS256", headers=header)
        signing_input = _b64(json.dumps(header).encode()) + "." + _b64(json.dumps(payload).encode())
        if alg == "none":
            return signing_input + "."
        if alg == "HS256":
            mac = hmac.new(key.public_pem(), signing_input.encode(), hashlib.sha256).digest()
            return signing_input + "." + _b64(mac)
        raise ValueError(alg)

    # --- HTTP ------------------------------------------------------------------------

    def document(self) -> dict[str, Any]:
        return {
            "issuer": self.discovery_issuer or self.issuer,
            "authorization_endpoint": f"{self.issuer}/authorize",
            "token_endpoint": f"{self.issuer}/token",
            "jwks_uri": f"{self.issuer}/jwks",
            "response_types_supported": ["code"],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": self.algorithms,
            "token_endpoint_auth_methods_supported": self.auth_methods,
            "code_challenge_methods_supported": ["S256"],
        }

    def _authorized(self, query: dict[str, str]) -> str:
        """The redirect back to the client for an authorization request."""
        back = query.get("redirect_uri", "")
        if self.deny:
            return back + "?" + urlencode({"error": "access_denied", "state": query["state"]})
        code = secrets.token_urlsafe(16)
        with self._lock:
            self._codes[code] = dict(query)
        return back + "?" + urlencode({"code": code, "state": query.get("state", "")})

    def _exchange(self, form: dict[str, str], authorization: str) -> tuple[int, dict[str, Any]]:
        self.token_requests.append({"form": form, "authorization": authorization})
        client_id, secret = form.get("client_id"), form.get("client_secret")
        if authorization.startswith("Basic "):
            decoded = base64.b64decode(authorization[6:]).decode()
            raw_id, _, raw_secret = decoded.partition(":")
            client_id, secret = unquote_plus(raw_id), unquote_plus(raw_secret)
        if client_id != CLIENT_ID or secret != CLIENT_SECRET:
            return 401, {"error": "invalid_client"}
        with self._lock:
            request = self._codes.pop(form.get("code", ""), None)
        if request is None or form.get("grant_type") != "authorization_code":
            return 400, {"error": "invalid_grant"}
        if form.get("redirect_uri") != request.get("redirect_uri"):
            return 400, {"error": "invalid_grant"}
        verifier = form.get("code_verifier", "")
        challenge = _b64(hashlib.sha256(verifier.encode()).digest())
        if request.get("code_challenge_method") != "S256" or challenge != request.get(
            "code_challenge"
        ):
            return 400, {"error": "invalid_grant", "error_description": "PKCE"}
        id_token = self.mint(nonce=request.get("nonce"))
        return 200, {"access_token": secrets.token_urlsafe(16), "token_type": "Bearer",
                     "id_token": id_token}  # fmt: skip

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        stub = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def _send(self, status: int, body: Any, content_type: str = "application/json"):
                data = body if isinstance(body, bytes) else json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def _redirect(self, url: str) -> None:
                self.send_response(302)
                self.send_header("Location", url)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def do_GET(self) -> None:
                url = urlsplit(self.path)
                query = {k: v[0] for k, v in parse_qs(url.query).items()}
                if stub.down:
                    stub.down_answers += 1
                    self._send(503, {"error": "down"})
                elif url.path == "/.well-known/openid-configuration":
                    stub.discovery_fetches += 1
                    self._send(200, stub.document())
                elif url.path == "/jwks":
                    stub.jwks_fetches += 1
                    self._send(200, {"keys": [k.jwk() for k in stub.keys]})
                elif url.path == "/authorize":
                    if query.get("client_id") != CLIENT_ID or query.get("response_type") != "code":
                        self._send(400, {"error": "invalid_request"})
                    elif stub.consent_page:
                        hidden = '<input type="hidden" name="%s" value="%s">'
                        fields = "".join(
                            hidden % (html.escape(k), html.escape(v)) for k, v in query.items()
                        )
                        page = (
                            "<!doctype html><title>Stub ID</title><h1>Stub ID</h1>"
                            f'<form method="post" action="/authorize">{fields}'
                            "<button>Continue as Ada</button></form>"
                        )
                        self._send(200, page.encode(), "text/html; charset=utf-8")
                    else:
                        self._redirect(stub._authorized(query))
                else:
                    self._send(404, {"error": "not_found"})

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                form = {k: v[0] for k, v in parse_qs(self.rfile.read(length).decode()).items()}
                path = urlsplit(self.path).path
                if stub.down:
                    self._send(503, {"error": "down"})
                elif path == "/authorize":
                    self._redirect(stub._authorized(form))
                elif path == "/token":
                    status, body = stub._exchange(form, self.headers.get("Authorization", ""))
                    self._send(status, body)
                else:
                    self._send(404, {"error": "not_found"})

        return Handler
