"""Every domain error of accounts.errors answers with its contract status, code, extras
and Retry-After on the API, from the one mapping in api/exceptions.py. The cases come from
the classes themselves: a new error without a mapping (or with a code the contract table
below does not know) fails here."""

import inspect

import pytest
from rest_framework.permissions import AllowAny
from rest_framework.test import APIRequestFactory
from rest_framework.views import APIView

from accounts import errors

# The contract's status of each code (docs/contract.md).
CONTRACT_STATUS = {
    "invalid_credentials": 401,
    "too_many_attempts": 429,
    "token_invalid": 401,
    "session_revoked": 401,
    "token_stale": 401,
    "device_limit_reached": 403,
    "refresh_reused": 401,
    "device_mismatch": 401,
    "throttled": 429,
    "not_found": 404,
    "api_key_invalid": 401,
    "mfa_required": 401,
    "mfa_invalid": 401,
    "mfa_token_invalid": 401,
    "passkey_invalid": 401,
    "mfa_required_for_route": 403,
    "email_unverified": 403,
    "social_token_invalid": 401,
    "service_unavailable": 503,
}
DEVICES = [{"id": "7", "name": "Firefox on Linux", "last_used_at": "2026-01-01T00:00:00Z"}]
ARGUMENTS = {
    "retry_after": 42,
    "devices": DEVICES,
    "mfa_token": "a-token",
    "methods": ["totp", "recovery_code"],
}


def _every_error(cls=errors.AccountsError):
    for subclass in cls.__subclasses__():
        yield subclass
        yield from _every_error(subclass)


ERRORS = sorted(set(_every_error()), key=lambda cls: cls.__name__)


def _instance(cls):
    parameters = inspect.signature(cls).parameters
    return cls(**{name: ARGUMENTS[name] for name in parameters if name in ARGUMENTS})


def _raising_view(error):
    class Raising(APIView):
        permission_classes = [AllowAny]  # the default authentication classes stay

        def get(self, request):
            raise error

    return Raising.as_view()


def test_the_hierarchy_is_found():
    assert {errors.LockedOut, errors.DeviceLimitReached, errors.ApiKeyThrottled} <= set(ERRORS)
    assert set(errors.__all__) == {cls.__name__ for cls in ERRORS} | {"AccountsError"}


@pytest.mark.parametrize("cls", ERRORS, ids=lambda cls: cls.__name__)
def test_each_domain_error_answers_its_contract_status_and_body(cls):
    error = _instance(cls)

    response = _raising_view(error)(APIRequestFactory().get("/"))

    assert response.status_code == CONTRACT_STATUS[cls.code]
    assert response.data == {"code": cls.code, "detail": error.detail, **error.extras}
    retry_after = getattr(error, "retry_after", None)
    assert response.get("Retry-After") == (None if retry_after is None else str(retry_after))
    if response.status_code == 401:
        assert response["WWW-Authenticate"] == 'Bearer realm="api"'


def test_extras_and_retry_after_are_the_errors_own():
    limit = _raising_view(errors.DeviceLimitReached(DEVICES))(APIRequestFactory().get("/"))
    assert limit.data["devices"] == DEVICES
    locked = _raising_view(errors.LockedOut(7, "Wait."))(APIRequestFactory().get("/"))
    assert (locked.status_code, locked["Retry-After"], locked.data["detail"]) == (429, "7", "Wait.")


def test_a_rules_field_error_is_400_invalid():
    from django.core.exceptions import ValidationError

    error = ValidationError({"revoke_device_id": ["Not one of your active device sessions."]})

    response = _raising_view(error)(APIRequestFactory().get("/"))

    assert response.status_code == 400
    assert response.data["code"] == "invalid"
    assert response.data["errors"] == {
        "revoke_device_id": ["Not one of your active device sessions."]
    }
