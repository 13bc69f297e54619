"""A software WebAuthn authenticator and client for tests: what a browser's
navigator.credentials.create()/get() and then credential.toJSON() would hand an app.

ES256 keys from `cryptography`, attestation "none", CBOR through `fido2.cbor`, the
authenticator data built byte for byte (rp id hash, flags UP/UV/AT, a sign counter that
grows by one per assertion). Options come in as the WebAuthn JSON the kit serves (the
`publicKey` member of the options, base64url strings); credentials go out in the same
serialization.

Knobs that make a test's bad case: `user_verified=False` (UV flag unset), `origin=` (the
origin in the client data), `rp_id=` (the rp id whose hash is in the authenticator data),
`counter=` (the sign counter sent, e.g. a replayed or lower one), `credential=` (which
stored credential answers, e.g. another user's), `register(..., reuse=)` (an
authenticator that answers a registration with a credential id it already holds), and
`clone()` (a copy of the keys and counters, as a cloned authenticator would have).
"""

import hashlib
import json
import os
from dataclasses import dataclass, replace

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from fido2 import cbor
from fido2.cose import ES256
from fido2.utils import websafe_decode, websafe_encode
from fido2.webauthn import AttestedCredentialData, AuthenticatorData

FLAGS = AuthenticatorData.FLAG
# A made-up AAGUID: "none" attestation says nothing about the model anyway.
AAGUID = bytes.fromhex("6b6974736f6674776172656b65790001")


@dataclass
class StoredCredential:
    """One credential the authenticator holds (a resident key: it keeps the user handle)."""

    credential_id: bytes
    private_key: ec.EllipticCurvePrivateKey
    rp_id: str
    user_handle: bytes
    counter: int = 0

    @property
    def id(self) -> str:
        return websafe_encode(self.credential_id)


def _client_data(kind: str, challenge: str, origin: str) -> bytes:
    return json.dumps(
        {"type": kind, "challenge": challenge, "origin": origin, "crossOrigin": False},
        separators=(",", ":"),
    ).encode()


def _flags(user_verified: bool) -> FLAGS:
    return FLAGS.UP | FLAGS.UV if user_verified else FLAGS.UP


class SoftwareAuthenticator:
    """A platform authenticator with its own credentials, keyed by credential id.

    `counting=False` models authenticators without a sign counter (always 0, as many
    synced passkeys do)."""

    def __init__(self, *, counting: bool = True) -> None:
        self.credentials: dict[bytes, StoredCredential] = {}
        self.counting = counting

    def clone(self) -> "SoftwareAuthenticator":
        """Another authenticator holding the same keys and counters (a cloned one)."""
        twin = SoftwareAuthenticator(counting=self.counting)
        twin.credentials = {cid: replace(c) for cid, c in self.credentials.items()}
        return twin

    @property
    def last(self) -> StoredCredential:
        """The credential made most recently."""
        return list(self.credentials.values())[-1]

    # navigator.credentials.create() + toJSON()
    def register(
        self,
        options: dict,
        *,
        user_verified: bool = True,
        origin: str | None = None,
        rp_id: str | None = None,
        reuse: StoredCredential | None = None,
        report_rk: bool = True,
    ) -> dict:
        """A RegistrationResponseJSON answering creation `options`."""
        rp_id = rp_id or options["rp"]["id"]
        origin = origin or f"https://{options['rp']['id']}"
        if reuse is not None:
            credential = replace(reuse, rp_id=rp_id)
        else:
            credential = StoredCredential(
                credential_id=os.urandom(32),
                private_key=ec.generate_private_key(ec.SECP256R1()),
                rp_id=rp_id,
                user_handle=websafe_decode(options["user"]["id"]),
            )
        self.credentials[credential.credential_id] = credential
        public_key = credential.private_key.public_key()
        attested = AttestedCredentialData.create(
            AAGUID, credential.credential_id, ES256.from_cryptography_key(public_key)
        )
        auth_data = AuthenticatorData.create(
            hashlib.sha256(rp_id.encode()).digest(),
            _flags(user_verified) | FLAGS.AT,
            credential.counter,
            attested,
        )
        attestation_object = cbor.encode({"fmt": "none", "attStmt": {}, "authData": auth_data})
        client_data = _client_data("webauthn.create", options["challenge"], origin)
        extensions = {"credProps": {"rk": True}} if report_rk else {}
        return {
            "id": credential.id,
            "rawId": credential.id,
            "type": "public-key",
            "authenticatorAttachment": "platform",
            "response": {
                "clientDataJSON": websafe_encode(client_data),
                "attestationObject": websafe_encode(attestation_object),
                "authenticatorData": websafe_encode(auth_data),
                "transports": ["internal"],
                "publicKeyAlgorithm": ES256.ALGORITHM,
                "publicKey": websafe_encode(
                    public_key.public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo)
                ),
            },
            "clientExtensionResults": extensions,
        }

    # navigator.credentials.get() + toJSON()
    def sign_in(
        self,
        options: dict,
        *,
        credential: StoredCredential | None = None,
        user_verified: bool = True,
        origin: str | None = None,
        rp_id: str | None = None,
        counter: int | None = None,
    ) -> dict:
        """An AuthenticationResponseJSON answering request `options` (discoverable: the
        credential of the options' rp id made last, unless `credential` is given). The
        sign counter grows by one, unless `counter` names the one to send."""
        if credential is None:
            credential = [c for c in self.credentials.values() if c.rp_id == options["rpId"]][-1]
        credential = self.credentials[credential.credential_id]
        rp_id = rp_id or credential.rp_id
        origin = origin or f"https://{options['rpId']}"
        if counter is None and self.counting:
            credential.counter += 1
        sent_counter = credential.counter if counter is None else counter
        auth_data = AuthenticatorData.create(
            hashlib.sha256(rp_id.encode()).digest(), _flags(user_verified), sent_counter
        )
        client_data = _client_data("webauthn.get", options["challenge"], origin)
        signature = credential.private_key.sign(
            auth_data + hashlib.sha256(client_data).digest(), ec.ECDSA(hashes.SHA256())
        )
        return {
            "id": credential.id,
            "rawId": credential.id,
            "type": "public-key",
            "authenticatorAttachment": "platform",
            "response": {
                "clientDataJSON": websafe_encode(client_data),
                "authenticatorData": websafe_encode(auth_data),
                "signature": websafe_encode(signature),
                "userHandle": websafe_encode(credential.user_handle),
            },
            "clientExtensionResults": {},
        }
