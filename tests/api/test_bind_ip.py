"""JWT_BIND_IP: access tokens refused from another client address than they were issued to."""

import pytest
from django.test import Client

from accounts.devices.ip_binding import CLIENT_IP_CLAIM, client_ip_hash
from accounts.devices.signing import get_token_backend
from accounts.devices.tokens import decode_access

pytestmark = pytest.mark.django_db

ME_URL = "/api/v1/me/"
HOME, CAFE = "203.0.113.7", "198.51.100.20"


@pytest.fixture
def bind_ip(settings):
    settings.JWT_BIND_IP = True


def from_address(address):
    return {"REMOTE_ADDR": address}


def _sign_in(api_client, user, password, address, device_id="phone-1"):
    response = api_client.post(
        "/api/v1/auth/token/",
        {"username": user.username, "password": password, "device_id": device_id},
        format="json",
        **from_address(address),
    )
    assert response.status_code == 200
    return response.json()


def test_claim_is_a_keyed_hash(api_client, user, password):
    access = _sign_in(api_client, user, password, HOME)["access"]
    claim = decode_access(access)[CLIENT_IP_CLAIM]
    assert claim == client_ip_hash(HOME)
    assert HOME not in str(decode_access(access).payload)
    assert client_ip_hash("::ffff:0:0") != client_ip_hash(HOME)
    assert client_ip_hash("2001:db8:0:0::1") == client_ip_hash("2001:db8::1")


def test_off_by_default_any_address_works(api_client, user, password, bearer):
    access = _sign_in(api_client, user, password, HOME)["access"]
    response = api_client.get(ME_URL, **bearer(access), **from_address(CAFE))
    assert response.status_code == 200


def test_on_another_address_is_token_invalid(api_client, user, password, bearer, bind_ip):
    access = _sign_in(api_client, user, password, HOME)["access"]
    assert api_client.get(ME_URL, **bearer(access), **from_address(HOME)).status_code == 200
    response = api_client.get(ME_URL, **bearer(access), **from_address(CAFE))
    assert response.status_code == 401
    assert response.json()["code"] == "token_invalid"


def test_refresh_from_the_new_address_binds_the_new_token(
    api_client, user, password, bearer, bind_ip
):
    pair = _sign_in(api_client, user, password, HOME)
    fresh = api_client.post(
        "/api/v1/auth/token/refresh/",
        {"refresh": pair["refresh"], "device_id": "phone-1"},
        format="json",
        **from_address(CAFE),
    ).json()
    assert (
        api_client.get(ME_URL, **bearer(fresh["access"]), **from_address(CAFE)).status_code == 200
    )
    assert (
        api_client.get(ME_URL, **bearer(fresh["access"]), **from_address(HOME)).status_code == 401
    )


def test_token_without_the_claim_is_refused_when_on(sign_in, api_client, bearer, bind_ip):
    """A token signed with the kit's own key whose `cip` claim is missing (issued while
    JWT_BIND_IP was off, say): refused, although its signature and session are good."""
    claims = decode_access(sign_in().json()["access"]).payload
    backend = get_token_backend()
    with_claim = backend.encode(claims)
    without_claim = backend.encode({k: v for k, v in claims.items() if k != CLIENT_IP_CLAIM})
    # The control: the same token re-signed with its claim is accepted.
    assert api_client.get(ME_URL, **bearer(with_claim)).status_code == 200
    response = api_client.get(ME_URL, **bearer(without_claim))
    assert (response.status_code, response.json()["code"]) == (401, "token_invalid")


def test_cookie_transport_is_bound_too(user, password, bind_ip):
    browser = Client(enforce_csrf_checks=True, REMOTE_ADDR=HOME)
    browser.get("/api/v1/auth/csrf/")
    response = browser.post(
        "/api/v1/auth/cookie/login/",
        {"username": user.username, "password": password},
        content_type="application/json",
        HTTP_X_CSRFTOKEN=browser.cookies["csrftoken"].value,
    )
    assert response.status_code == 200
    assert browser.get(ME_URL).status_code == 200
    assert browser.get(ME_URL, REMOTE_ADDR=CAFE).json()["code"] == "token_invalid"


def test_forwarded_address_counts_only_from_a_trusted_proxy(
    api_client, user, password, bearer, bind_ip, settings
):
    settings.TRUSTED_PROXIES = ["10.0.0.0/8"]
    proxy = {"REMOTE_ADDR": "10.0.0.2"}
    response = api_client.post(
        "/api/v1/auth/token/",
        {"username": user.username, "password": password},
        format="json",
        HTTP_X_FORWARDED_FOR=HOME,
        **proxy,
    )
    access = response.json()["access"]
    through_proxy = api_client.get(ME_URL, **bearer(access), HTTP_X_FORWARDED_FOR=HOME, **proxy)
    assert through_proxy.status_code == 200
    moved = api_client.get(ME_URL, **bearer(access), HTTP_X_FORWARDED_FOR=CAFE, **proxy)
    assert moved.status_code == 401
    # A client that is not the proxy cannot claim the address with the header.
    spoofed = api_client.get(ME_URL, **bearer(access), HTTP_X_FORWARDED_FOR=HOME, REMOTE_ADDR=CAFE)
    assert spoofed.status_code == 401
