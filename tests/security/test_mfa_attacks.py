"""An outside reviewer's attacks on the second factors, over HTTP: a step of one user
finished with another's code, a step of a deactivated user, the HTML pending step after a
sign-out or a password change, the formats a code may take, bodies of every shape, the
staff gate's side doors, a passkey ceremony's token used in the other one, and whether a
wrong password tells an account with a factor from an unknown name."""

import pytest
from django.test import Client
from rest_framework.test import APIClient

from accounts.models import DeviceSession
from tests.conftest import PASSKEY_SIGN_IN_URL, PASSKEYS_BEGIN_URL

pytestmark = pytest.mark.django_db

TOKEN_URL = "/api/v1/auth/token/"
MFA_URL = "/api/v1/auth/token/mfa/"
LOGIN = "/accounts/login/"
LOGIN_MFA = "/accounts/login/mfa/"


def _answer(response):
    return response.status_code, response.json().get("code") if response.content else None


@pytest.fixture
def first_step(password):
    """first_step(user) -> the mfa_token of a right password for `user`."""

    def step(user, device_id="phone-1"):
        body = {"username": user.username, "password": password, "device_id": device_id}
        response = APIClient().post(TOKEN_URL, body, format="json")
        assert _answer(response) == (401, "mfa_required"), response.content
        return response.json()["mfa_token"]

    return step


def _second(mfa_token, code):
    return APIClient().post(MFA_URL, {"mfa_token": mfa_token, "code": code}, format="json")


def test_a_step_of_one_user_is_not_finished_by_anothers_code(
    user, make_user, totp_enrol, mfa_clock, first_step
):
    mine, _ = totp_enrol(user)
    other = make_user()
    theirs, their_codes = totp_enrol(other)
    token = first_step(user)

    assert _answer(_second(token, mfa_clock.code(theirs))) == (401, "mfa_invalid")
    assert _answer(_second(token, their_codes[0])) == (401, "mfa_invalid")
    assert _second(token, mfa_clock.code(mine)).status_code == 200
    assert not DeviceSession.objects.filter(user=other).exists()


def test_a_deactivated_user_cannot_finish_the_second_step(user, totp_enrol, mfa_clock, first_step):
    secret, _ = totp_enrol(user)
    token = first_step(user)
    # A bulk deactivation (no signal: the user's sessions and session hash stay as they were).
    type(user).objects.filter(pk=user.pk).update(is_active=False)

    assert _answer(_second(token, mfa_clock.code(secret))) == (401, "mfa_token_invalid")
    assert not DeviceSession.objects.filter(user=user).exists()


@pytest.mark.parametrize(
    ("shape", "ok"),
    [
        ("{code}", True),
        (" {code} ", True),
        ("{a} {b}", True),  # as apps show it: 123 456
        ("{code}0", False),  # 7 digits
        ("{short}", False),  # 5 digits
        ("{fullwidth}", False),  # non-ASCII digits
    ],
)
def test_the_shapes_of_a_totp_code(user, totp_enrol, mfa_clock, first_step, shape, ok):
    secret, _ = totp_enrol(user)
    code = mfa_clock.code(secret)
    fullwidth = "".join(chr(0xFF10 + int(d)) for d in code)
    typed = shape.format(code=code, a=code[:3], b=code[3:], short=code[:5], fullwidth=fullwidth)

    response = _second(first_step(user), typed)

    assert response.status_code == (200 if ok else 401), response.content


@pytest.mark.parametrize("typed", ["\u0085", " ", "\t\n"])
def test_a_code_of_only_whitespace_is_a_wrong_code_not_a_blank_field(
    user, totp_enrol, first_step, typed
):
    """The schema takes any non-empty string: whitespace (NEL included, as the randomized
    fuzz pass sent) reaches the rules and is refused as a code, never 400 blank."""
    totp_enrol(user)

    assert _answer(_second(first_step(user), typed)) == (401, "mfa_invalid")


@pytest.mark.parametrize("shape", ["{c}", " {c} ", "{c1}-{c2}", "{c1} {c2}"])
def test_a_recovery_code_with_spaces_or_a_dash_is_accepted_once(
    user, totp_enrol, mfa_clock, first_step, shape
):
    _, codes = totp_enrol(user)
    code = codes[2]
    typed = shape.format(c=code, c1=code[:4], c2=code[4:])

    assert _second(first_step(user), typed).status_code == 200
    assert _answer(_second(first_step(user, "phone-2"), code)) == (401, "mfa_invalid")


@pytest.mark.parametrize(
    "body",
    [
        {"mfa_token": "x", "code": 123456},
        {"mfa_token": "x", "code": ["123456"]},
        {"mfa_token": "x", "code": {"a": 1}},
        {"mfa_token": "x", "code": None},
        {"mfa_token": "x", "code": "1" * 100_000},
        {"mfa_token": ["x"], "code": "123456"},
        {"mfa_token": "x" * 100_000, "code": "123456"},
        {"mfa_token": "x"},
        [],
        "code",
    ],
)
def test_bodies_of_any_shape_on_the_second_step_are_400_invalid(body):
    response = APIClient().post(MFA_URL, body, format="json")
    assert _answer(response) == (400, "invalid")


@pytest.mark.parametrize(
    "credential",
    [
        "a string",
        ["a", "list"],
        12,
        {"id": "A" * 200_000},
        {"id": "AAAA", "rawId": "AAAA", "type": "public-key", "response": "nope"},
        {"id": "AAAA", "rawId": "AAAA", "type": "public-key", "response": {"clientDataJSON": 7}},
    ],
)
def test_passkey_credentials_of_any_shape_are_refused_not_a_500(credential):
    begun = APIClient().post("/api/v1/auth/passkey/begin/").json()
    body = {"challenge_token": begun["challenge_token"], "credential": credential}

    response = APIClient().post(PASSKEY_SIGN_IN_URL, body, format="json")

    assert _answer(response) in {(400, "invalid"), (401, "passkey_invalid"), (413, None)}


def test_a_registration_challenge_does_not_sign_anyone_in(
    user, make_user, sign_in, authenticator, passkey_enrol
):
    passkey_enrol(sign_in(device_id="laptop").json()["access"], authenticator)
    other = make_user()
    client = APIClient()
    client.credentials(
        HTTP_AUTHORIZATION=f"Bearer {sign_in(username=other.username).json()['access']}"
    )
    registration = client.post(PASSKEYS_BEGIN_URL).json()
    # The user's passkey signs the registration's challenge; sent to the sign-in route.
    assertion = authenticator.sign_in(
        {"rpId": "testserver", "challenge": registration["options"]["challenge"]}
    )
    body = {"challenge_token": registration["challenge_token"], "credential": assertion}

    response = APIClient().post(PASSKEY_SIGN_IN_URL, body, format="json")

    assert _answer(response) == (401, "passkey_invalid")
    assert DeviceSession.objects.filter(user=user).count() == 1  # the laptop's alone


def test_a_wrong_password_of_an_account_with_a_factor_looks_like_an_unknown_name(
    user, totp_enrol, mfa_clock
):
    totp_enrol(user)
    wrong = APIClient().post(
        TOKEN_URL, {"username": user.username, "password": "not-it-at-all-9"}, format="json"
    )
    unknown = APIClient().post(
        TOKEN_URL, {"username": "nobody-here", "password": "not-it-at-all-9"}, format="json"
    )

    assert (wrong.status_code, wrong.json()) == (unknown.status_code, unknown.json())
    assert wrong.json()["code"] == "invalid_credentials"


# --- the HTML sign-in's pending step ------------------------------------------------------


@pytest.fixture
def pending_browser(user, password, enrol_totp_html):
    """A browser past the password, on the code page: (client, secret)."""
    secret = enrol_totp_html(user)
    client = Client()
    response = client.post(LOGIN, {"username": user.username, "password": password})
    assert response["Location"] == LOGIN_MFA
    return client, secret


@pytest.fixture
def enrol_totp_html(totp_enrol):
    def enrol(user):
        secret, _ = totp_enrol(user)
        return secret

    return enrol


def test_the_pending_step_does_not_survive_a_sign_out(pending_browser, mfa_clock):
    client, secret = pending_browser
    client.post("/accounts/logout/")

    response = client.post(LOGIN_MFA, {"code": mfa_clock.code(secret)})

    assert response["Location"] == LOGIN
    assert client.get("/accounts/").status_code == 302


def test_the_pending_step_does_not_survive_a_password_change(pending_browser, user, mfa_clock):
    client, secret = pending_browser
    user.set_password("a-new-Passw0rd-now")
    user.save()

    response = client.post(LOGIN_MFA, {"code": mfa_clock.code(secret)})

    assert response["Location"] == LOGIN
    assert client.get("/accounts/").status_code == 302


# --- the staff gate's side doors --------------------------------------------------------


@pytest.mark.parametrize(
    "path",
    [
        "/admin/password_change/",
        "/admin/jsi18n/",
        "/admin/auth/group/",
        "/admin/accounts/user/1/change/",
        "/admin/accounts/devicesession/",
        "/admin/autocomplete/",
        "/admin/r/1/1/",
    ],
)
def test_the_staff_gate_guards_every_admin_path(settings, make_user, path):
    settings.ACCOUNTS = {**settings.ACCOUNTS, "MFA_REQUIRED_FOR_STAFF": True}
    staff = make_user(is_staff=True, is_superuser=True)
    client = Client()
    client.force_login(staff)

    response = client.get(path)

    assert (response.status_code, response.get("Location")) == (302, "/accounts/#second-factors")


@pytest.mark.parametrize(
    "credential",
    ["[" * 5000 + "]" * 5000, '{"a":' * 3000 + "1" + "}" * 3000, "not json", "[1, 2]"],
)
def test_the_html_passkey_sign_in_refuses_any_credential_text_without_a_500(credential):
    client = Client(raise_request_exception=False)

    response = client.post(
        "/accounts/login/passkey/", {"challenge_token": "x", "credential": credential}
    )

    assert (response.status_code, response.get("Location")) == (302, LOGIN)
    assert client.get("/accounts/").status_code == 302
