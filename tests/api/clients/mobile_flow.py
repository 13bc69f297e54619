"""The mobile flow through the Python client generated from /api/schema/ (docs/clients.md).

Run by tests/api/clients/test_generated_clients.py against a live server, after
`mypy --strict` has checked it with the generated package: every answer is a typed
model, error bodies included, and no call needs a cast or an `Any`.

    python mobile_flow.py BASE_URL USERNAME PASSWORD API_KEY

API_KEY has the scope users:read only (to see a typed 403 `insufficient_scope`).
"""

import sys

from kit_api_client import AuthenticatedClient, Client
from kit_api_client.api.auth import logout, refresh_tokens, sign_in
from kit_api_client.api.devices import list_devices
from kit_api_client.api.me import get_me
from kit_api_client.api.service import service_introspect_token
from kit_api_client.models import (
    Error,
    InsufficientScopeError,
    IntrospectRequest,
    LogoutRequest,
    Me,
    RefreshRequest,
    SignInRequest,
    SignInResponse,
    TokenPair,
    ValidationError,
)

DEVICE_ID = "phone-1"


def step(name: str, value: object) -> None:
    print(f"{name}: {value}")


def run(base_url: str, username: str, password: str, api_key: str) -> None:
    public = Client(base_url=base_url)

    refused = sign_in.sync(client=public, body=SignInRequest(username=username, password=""))
    assert isinstance(refused, ValidationError), refused
    step("sign in without a password", f"{refused.code} {sorted(refused.errors.to_dict())}")

    signed = sign_in.sync(
        client=public,
        body=SignInRequest(
            username=username, password=password, device_id=DEVICE_ID, device_name="Ada's phone"
        ),
    )
    assert isinstance(signed, SignInResponse), signed
    step("sign in", f"device {signed.device.device_id}, access for {signed.access_expires_in} s")

    app = AuthenticatedClient(base_url=base_url, token=signed.access)
    me = get_me.sync(client=app)
    assert isinstance(me, Me), me
    assert me.username == username
    step("me", me.username)

    devices = list_devices.sync(client=app)
    assert isinstance(devices, list), devices
    current = [device for device in devices if device.current]
    assert [device.device_id for device in current] == [DEVICE_ID]
    step("devices", [f"{device.name} (current={device.current})" for device in devices])

    pair = refresh_tokens.sync(
        client=public, body=RefreshRequest(refresh=signed.refresh, device_id=DEVICE_ID)
    )
    assert isinstance(pair, TokenPair), pair
    step("refresh", "a new pair")

    reused = refresh_tokens.sync(
        client=public, body=RefreshRequest(refresh=signed.refresh, device_id=DEVICE_ID)
    )
    assert isinstance(reused, Error), reused
    assert reused.code == "refresh_reused", reused.code
    step("reuse of the old refresh token", reused.code)

    ended = refresh_tokens.sync(
        client=public, body=RefreshRequest(refresh=pair.refresh, device_id=DEVICE_ID)
    )
    assert isinstance(ended, Error), ended
    assert ended.code == "session_revoked", ended.code
    step("the newest pair after the reuse", ended.code)

    newest = AuthenticatedClient(base_url=base_url, token=pair.access)
    response = logout.sync_detailed(client=newest)
    assert response.status_code == 204, response
    step("logout of the ended session (Bearer)", response.status_code)

    again = sign_in.sync(
        client=public, body=SignInRequest(username=username, password=password, device_id="p2")
    )
    assert isinstance(again, SignInResponse), again
    response = logout.sync_detailed(client=public, body=LogoutRequest(refresh=again.refresh))
    assert response.status_code == 204, response
    response = logout.sync_detailed(client=public, body=LogoutRequest(refresh=again.refresh))
    assert response.status_code == 204, response
    step("logout by refresh token, twice", response.status_code)

    service = AuthenticatedClient(base_url=base_url, token=api_key, prefix="Api-Key")
    denied = service_introspect_token.sync(
        client=service, body=IntrospectRequest(token=again.access)
    )
    assert isinstance(denied, InsufficientScopeError), denied
    assert denied.required_scope == "tokens:introspect"
    step("introspect with a users:read key", f"{denied.code} {denied.required_scope}")


if __name__ == "__main__":
    run(*sys.argv[1:5])
    print("mobile flow: ok")
