"""Property tests of the parsers that read untrusted credentials: whatever they are given,
they refuse with their one documented exception, never another one (a 500), and never
accept anything but the genuine credential (for a JWT: its exact claims)."""

import json
import string

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rest_framework_simplejwt.exceptions import TokenError

from accounts.apikeys.keys import InvalidApiKeyError, authenticate_api_key
from accounts.devices import sessions
from accounts.devices.signing import MAX_NUMERIC_DATE, get_token_backend
from accounts.devices.tokens import decode_access, decode_any, decode_refresh
from accounts.errors import AccountsError
from api.parsers import json_depth

pytestmark = pytest.mark.django_db

PROPERTY_SETTINGS = settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
TOKEN_ALPHABET = string.ascii_letters + string.digits + "-_="


def near(genuine):
    """Strings close to a genuine credential: one character changed, cut, or extended."""
    position = st.integers(min_value=0, max_value=len(genuine) - 1)
    character = st.characters(codec="utf-8")
    return st.one_of(
        st.tuples(position, character).map(lambda p: genuine[: p[0]] + p[1] + genuine[p[0] + 1 :]),
        position.map(lambda p: genuine[:p]),
        st.text(max_size=5).map(lambda extra: genuine + extra),
        st.text(max_size=5).map(lambda extra: extra + genuine),
    ).filter(lambda candidate: candidate != genuine)


def arbitrary_tokens():
    return st.one_of(
        st.text(max_size=400),
        st.lists(st.text(alphabet=TOKEN_ALPHABET, max_size=80), min_size=1, max_size=6).map(
            ".".join
        ),
    )


@pytest.fixture
def genuine_pair(user):
    """One real pair per test (hypothesis runs every example against it)."""
    return sessions.sign_in(request=None, user=user, device_id="property")[1]


@PROPERTY_SETTINGS
@given(raw=arbitrary_tokens())
@pytest.mark.parametrize("decode", [decode_access, decode_refresh, decode_any])
def test_token_decoders_raise_only_token_error(decode, raw):
    with pytest.raises(TokenError):
        decode(raw)


@PROPERTY_SETTINGS
@given(raw=st.one_of(st.binary(max_size=300), st.none(), st.integers(), st.lists(st.text())))
def test_token_decoders_refuse_values_that_are_not_text(raw):
    for decode in (decode_access, decode_refresh, decode_any):
        with pytest.raises(TokenError):
            decode(raw)


@PROPERTY_SETTINGS
@given(data=st.data())
def test_verify_token_refuses_near_valid_tokens_with_authentication_failed_only(genuine_pair, data):
    genuine = data.draw(st.sampled_from([genuine_pair.access, genuine_pair.refresh]))
    raw = data.draw(st.one_of(near(genuine), arbitrary_tokens()))
    try:
        accepted = sessions.verify_token(raw)
    except AccountsError as exc:
        refused = exc
    else:
        refused = None
    if refused is not None:
        assert refused.code in ("token_invalid", "session_revoked")
        return
    # base64url is lenient (padding, unused low bits of the last character), so a few
    # spellings of the genuine token decode to its very bytes: only those may pass.
    assert accepted.payload == sessions.verify_token(genuine).payload


def test_verify_token_accepts_the_genuine_tokens(genuine_pair):
    """The control of the property above: its refusals are not a blanket 'no'."""
    assert sessions.verify_token(genuine_pair.access).token_type == "access"
    assert sessions.verify_token(genuine_pair.refresh).token_type == "refresh"


@pytest.fixture
def genuine_key(make_api_key):
    return make_api_key(name="property", scopes=["users:read"])[1]


def key_shaped():
    """Text in the key format (kit_<8>_<40>) with random prefix and secret."""
    lower = string.ascii_lowercase + string.digits
    return st.tuples(
        st.text(alphabet=lower, min_size=8, max_size=8),
        st.text(alphabet=string.ascii_letters + string.digits, min_size=40, max_size=40),
    ).map(lambda parts: f"kit_{parts[0]}_{parts[1]}")


@PROPERTY_SETTINGS
@given(data=st.data())
def test_api_key_parser_raises_only_invalid_api_key_error(genuine_key, data):
    prefix = genuine_key.split("_")[1]
    raw = data.draw(
        st.one_of(
            st.text(max_size=200),
            key_shaped(),
            near(genuine_key),
            # The right prefix with another secret.
            key_shaped().map(lambda key: f"kit_{prefix}_{key.split('_')[2]}"),
        ).filter(lambda candidate: candidate != genuine_key)
    )
    with pytest.raises(InvalidApiKeyError):
        authenticate_api_key(raw)


def test_api_key_parser_accepts_the_genuine_key(genuine_key):
    assert authenticate_api_key(genuine_key).name == "property"


def json_values():
    """Any JSON value, strings full of the characters that could fool a bracket count."""
    tricky_text = st.text(alphabet='[]{}"\\ a\u00e9\n', max_size=12)
    scalars = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(), tricky_text)
    return st.recursive(
        scalars,
        lambda inner: st.one_of(
            st.lists(inner, max_size=4), st.dictionaries(tricky_text, inner, max_size=4)
        ),
        max_leaves=40,
    )


def nesting(value):
    if isinstance(value, list):
        return 1 + max(map(nesting, value), default=0)
    if isinstance(value, dict):
        return 1 + max(map(nesting, value.values()), default=0)
    return 0


@PROPERTY_SETTINGS
@given(value=json_values(), ensure_ascii=st.booleans())
def test_json_depth_is_the_nesting_of_the_parsed_value(value, ensure_ascii):
    """The API parser's depth limit counts what the json module would nest, whatever the
    strings hold (brackets, quotes, backslashes, escapes)."""
    body = json.dumps(value, ensure_ascii=ensure_ascii).encode()
    assert json_depth(body) == nesting(value)


TIME_CLAIM_VALUES = st.one_of(
    st.integers(),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=20),
    st.booleans(),
    st.none(),
    st.lists(st.integers(), max_size=2),
)


@PROPERTY_SETTINGS
@given(data=st.data())
def test_token_decoders_refuse_bad_time_claims_with_token_error_only(genuine_pair, data):
    """A token signed with the real key, one time claim replaced by anything: accepted
    only when it is a real time the token is valid at, else TokenError (never another
    exception, such as an overflow converting it to a datetime)."""
    genuine = data.draw(st.sampled_from([genuine_pair.access, genuine_pair.refresh]))
    claim = data.draw(st.sampled_from(["exp", "iat", "nbf"]))
    value = data.draw(TIME_CLAIM_VALUES)
    backend = get_token_backend()
    token = backend.encode({**backend.decode(genuine), claim: value})
    for decode in (decode_access, decode_refresh, decode_any):
        try:
            decode(token)
        except TokenError:
            continue
        assert type(value) in (int, float)
        assert 0 <= value <= MAX_NUMERIC_DATE
