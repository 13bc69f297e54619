"""accounts.mfa.passkeys, the rules without a transport (as the HTML pages call them): the
relying party, allauth's store, and what the ceremonies refuse."""

import contextlib
import copy
import random
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from allauth.mfa.models import Authenticator
from allauth.mfa.webauthn.internal.auth import WebAuthn, get_credentials
from django.db import OperationalError, transaction
from django.test import RequestFactory

from accounts import auth
from accounts.errors import PasskeyInvalid
from accounts.mfa import passkeys
from accounts.models import AuthEvent
from tests.webauthn_authenticator import SoftwareAuthenticator

pytestmark = pytest.mark.django_db


def _request(host="testserver"):
    return RequestFactory().post("/", HTTP_HOST=host)


def _stepped_up_request():
    """A request of a browser session signed in with a second factor (step-up)."""
    request = _request()
    request.session = {auth.SESSION_AMR_KEY: list(passkeys.AMR)}
    return request


def _register(user, authenticator, **knobs):
    token, options = passkeys.passkey_register_begin(request=_request(), user=user)
    return passkeys.passkey_register_complete(
        request=_request(),
        user=user,
        credential=authenticator.register(options, **knobs),
        name="Phone",
        challenge_token=token,
    )


def _sign_in(authenticator, **knobs):
    token, options = passkeys.passkey_sign_in_begin(request=_request())
    return passkeys.passkey_sign_in_complete(
        request=_request(),
        challenge_token=token,
        credential=authenticator.sign_in(options, **knobs),
    )


@pytest.mark.parametrize(
    ("host", "rp_id", "origins", "expected"),
    [
        ("kit.example:8443", "", "", ("kit.example", ["https://kit.example"])),
        ("kit.example", "example.com", "", ("example.com", ["https://example.com"])),
        (
            "kit.example",
            "kit.example",
            " https://kit.example , http://localhost:8000,",
            ("kit.example", ["https://kit.example", "http://localhost:8000"]),
        ),
    ],
)
def test_the_relying_party_and_origins(settings, host, rp_id, origins, expected):
    settings.ALLOWED_HOSTS = ["*"]
    settings.ACCOUNTS = {**settings.ACCOUNTS, "WEBAUTHN_RP_ID": rp_id, "WEBAUTHN_ORIGINS": origins}

    assert passkeys.relying_party(_request(host)) == expected


def test_a_passkey_is_stored_in_allauths_format(user):
    authenticator = SoftwareAuthenticator()

    row, codes = _register(user, authenticator, report_rk=False)

    # allauth's own helpers read the row: its pages would list and use this passkey.
    wrapped = WebAuthn(row)
    assert wrapped.name == "Phone"
    assert wrapped.is_passwordless is True  # asked for a discoverable credential
    assert wrapped.authenticator_data.credential_data.credential_id == (
        authenticator.last.credential_id
    )
    assert [c.credential_id for c in get_credentials(user)] == [authenticator.last.credential_id]
    assert len(codes) == 10
    assert passkeys.passkeys_list(user=user) == [
        {"id": row.pk, "name": "Phone", "created_at": row.created_at, "last_used_at": None}
    ]


def test_a_credential_the_client_says_is_not_discoverable_is_refused(user):
    token, options = passkeys.passkey_register_begin(request=_request(), user=user)
    credential = SoftwareAuthenticator().register(options)
    credential["clientExtensionResults"] = {"credProps": {"rk": False}}

    with pytest.raises(PasskeyInvalid):
        passkeys.passkey_register_complete(
            request=_request(), user=user, credential=credential, challenge_token=token
        )
    assert not Authenticator.objects.filter(user=user).exists()


def test_the_sign_in_gives_the_credentials_owner_and_records_the_use(user, make_user):
    mine, theirs = SoftwareAuthenticator(), SoftwareAuthenticator()
    _register(user, mine)
    other = make_user()
    _register(other, theirs)

    assert _sign_in(mine) == user
    assert _sign_in(theirs) == other
    assert _sign_in(mine) == user
    row = Authenticator.objects.get(user=user, type="webauthn")
    assert row.data["sign_count"] == 2
    assert row.last_used_at is not None


@pytest.mark.postgres  # row locks: SQLite takes one writer at a time anyway
@pytest.mark.django_db(transaction=True)
def test_the_sign_counter_is_compared_and_saved_under_the_passkeys_row_lock(user, monkeypatch):
    """Two answers with one counter at once (a clone racing the original) cannot both
    pass on the old counter: from the read of the counter to its save, the passkey's row
    is locked, so another sign-in's write of it waits (here: gives up after 50 ms)."""
    authenticator = SoftwareAuthenticator()
    _register(user, authenticator)
    row = Authenticator.objects.get(user=user, type="webauthn")
    seen = []

    def other_sign_in():
        from django.db import connection

        try:
            with transaction.atomic():
                with connection.cursor() as cursor:
                    cursor.execute("SET LOCAL lock_timeout = '50ms'")
                Authenticator.objects.filter(pk=row.pk).update(last_used_at=None)
            return "went through"
        except OperationalError:
            return "waited for the lock"
        finally:
            connection.close()

    save = Authenticator.save

    def save_after_the_other_tried(self, *args, **kwargs):
        with ThreadPoolExecutor(max_workers=1) as pool:
            seen.append(pool.submit(other_sign_in).result())
        return save(self, *args, **kwargs)

    monkeypatch.setattr(Authenticator, "save", save_after_the_other_tried)
    assert _sign_in(authenticator) == user
    assert seen == ["waited for the lock"]


@pytest.mark.postgres  # SQLite takes one writer at a time anyway
@pytest.mark.django_db(transaction=True)
def test_one_credential_registered_to_two_accounts_at_once_is_stored_once(
    user, make_user, monkeypatch
):
    """Two accounts finish registering the same credential id at the same instant: a
    barrier holds each registration that has looked for the id until both have (or 0.5 s
    passed: one waiting for the other's lock never gets there), so a check-then-insert
    without a lock per credential id stores it twice."""
    other = make_user()
    original = SoftwareAuthenticator()
    token_a, options_a = passkeys.passkey_register_begin(request=_request(), user=user)
    credential_a = original.register(options_a)
    token_b, options_b = passkeys.passkey_register_begin(request=_request(), user=other)
    credential_b = SoftwareAuthenticator().register(options_b, reuse=original.last)
    barrier = threading.Barrier(2)
    stored = passkeys._stored

    def stored_together(credential_id):
        found = stored(credential_id)
        with contextlib.suppress(threading.BrokenBarrierError):
            barrier.wait(timeout=0.5)
        return found

    monkeypatch.setattr(passkeys, "_stored", stored_together)

    def register(owner_token_credential):
        from django.db import connection

        owner, token, credential = owner_token_credential
        try:
            passkeys.passkey_register_complete(
                request=_request(), user=owner, credential=credential, challenge_token=token
            )
            return "stored"
        except PasskeyInvalid:
            return "refused"
        finally:
            connection.close()

    attempts = [(user, token_a, credential_a), (other, token_b, credential_b)]
    with ThreadPoolExecutor(max_workers=2) as pool:
        results = sorted(pool.map(register, attempts))

    assert results == ["refused", "stored"]
    assert Authenticator.objects.filter(type=Authenticator.Type.WEBAUTHN).count() == 1


def test_a_user_handle_that_is_not_the_owners_is_refused_and_audited(user, make_user):
    authenticator = SoftwareAuthenticator()
    _register(user, authenticator)
    other = make_user()
    authenticator.last.user_handle = str(other.pk).encode()

    with pytest.raises(PasskeyInvalid):
        _sign_in(authenticator)
    event = AuthEvent.objects.filter(kind=AuthEvent.Kind.MFA_FAILED).get()
    assert (event.user, event.detail["reason"]) == (user, "user_handle")


def test_a_challenge_of_the_other_ceremony_is_refused(user):
    authenticator = SoftwareAuthenticator()
    _register(user, authenticator)
    token, options = passkeys.passkey_register_begin(request=_stepped_up_request(), user=user)

    with pytest.raises(PasskeyInvalid):
        passkeys.passkey_sign_in_complete(
            request=_request(),
            challenge_token=token,
            credential=authenticator.sign_in({"rpId": "testserver", **options}),
        )


def _mutations(credential, count, seed):
    """`count` copies of `credential` with one field dropped, retyped or altered."""
    rng = random.Random(seed)
    values = [None, 0, -1, 1.5, True, "", "!!", "AAAA", [], {}, [1], {"a": 1}, "x" * 300]
    paths = []

    def walk(node, path):
        for key, value in node.items():
            paths.append([*path, key])
            if isinstance(value, dict):
                walk(value, [*path, key])

    walk(credential, [])
    for _ in range(count):
        mutated = copy.deepcopy(credential)
        *parents, key = rng.choice(paths)
        node = mutated
        for parent in parents:
            node = node[parent]
        roll = rng.random()
        if roll < 0.2:
            del node[key]
        elif roll < 0.6 or not isinstance(node[key], str) or not node[key]:
            node[key] = rng.choice(values)
        else:
            at = rng.randrange(len(node[key]))
            node[key] = node[key][:at] + rng.choice("A_-+/=") + node[key][at + 1 :]
        yield mutated


def test_a_mangled_credential_is_only_ever_refused(user):
    """Whatever a client sends in a credential, the rules answer PasskeyInvalid (a 401),
    never another exception (a 500)."""
    authenticator = SoftwareAuthenticator()
    _register(user, authenticator)
    _, options = passkeys.passkey_register_begin(request=_stepped_up_request(), user=user)
    registration = SoftwareAuthenticator().register(options)
    _, request_options = passkeys.passkey_sign_in_begin(request=_request())
    assertion = authenticator.sign_in(request_options)
    accepted = 0

    for mangled in _mutations(assertion, 150, seed=1):
        try:
            passkeys.passkey_sign_in_complete(
                request=_request(), challenge_token=None, credential=mangled
            )
            accepted += 1
        except PasskeyInvalid:
            pass
    for mangled in _mutations(registration, 150, seed=2):
        try:
            passkeys.passkey_register_complete(
                request=_stepped_up_request(), user=user, credential=mangled, challenge_token=None
            )
            accepted += 1
        except PasskeyInvalid:
            pass

    # Only a mutation of what nobody checks (e.g. a transport hint) could pass, and only
    # once: each ceremony's challenge is single-use.
    assert accepted <= 2
