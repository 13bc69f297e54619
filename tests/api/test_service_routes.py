"""The service routes of the contract: every API-key code, and what the next request sees."""

import string
from datetime import timedelta

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from django.utils.crypto import get_random_string
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.test import APIRequestFactory, force_authenticate
from rest_framework.views import APIView
from rest_framework_simplejwt.tokens import AccessToken

from accounts.apikeys.keys import revoke_api_key
from accounts.models import ApiKey, AuthEvent
from api.api_keys import ApiKeyAuthentication, HasScope, ServiceView

pytestmark = pytest.mark.django_db

PING = "/api/v1/service/ping/"
INVALID = {"code": "api_key_invalid", "detail": "The API key is unknown, revoked or expired."}


def user_url(user_id):
    return f"/api/v1/service/users/{user_id}/"


def test_ping_answers_which_key_is_calling(api_client, make_api_key):
    api_key, raw_key = make_api_key(scopes=["users:read", "tokens:introspect"])

    response = api_client.get(PING, HTTP_X_API_KEY=raw_key)

    assert response.status_code == 200
    assert response.json() == {
        "key": {
            "name": "billing worker",
            "prefix": api_key.prefix,
            "scopes": ["users:read", "tokens:introspect"],
        }
    }


@pytest.mark.parametrize("scheme", ["Api-Key", "api-key", "API-KEY"])
def test_the_authorization_header_works_too(api_client, make_api_key, scheme):
    _, raw_key = make_api_key()
    response = api_client.get(PING, HTTP_AUTHORIZATION=f"{scheme} {raw_key}")
    assert response.status_code == 200


def test_both_headers_with_the_same_key_are_accepted(api_client, make_api_key):
    _, raw_key = make_api_key()
    response = api_client.get(PING, HTTP_X_API_KEY=raw_key, HTTP_AUTHORIZATION=f"Api-Key {raw_key}")
    assert response.status_code == 200


def test_both_headers_with_different_keys_are_refused(api_client, make_api_key):
    _, first = make_api_key()
    _, second = make_api_key()
    response = api_client.get(PING, HTTP_X_API_KEY=first, HTTP_AUTHORIZATION=f"Api-Key {second}")
    assert response.status_code == 401
    assert response.json()["code"] == "api_key_invalid"


@pytest.mark.parametrize(
    "headers", [{}, {"HTTP_X_API_KEY": "  "}, {"HTTP_AUTHORIZATION": "Api-Key"}]
)
def test_no_key_is_401_api_key_missing(api_client, headers):
    response = api_client.get(PING, **headers)
    assert response.status_code == 401
    assert response.json()["code"] == "api_key_missing"
    assert response["WWW-Authenticate"] == 'Api-Key realm="api"'


def test_a_jwt_is_not_accepted_on_a_service_route(api_client, user, make_api_key):
    make_api_key()
    token = str(AccessToken.for_user(user))
    response = api_client.get(user_url(user.pk), HTTP_AUTHORIZATION=f"Bearer {token}")
    assert response.status_code == 401
    assert response.json()["code"] == "api_key_missing"


def test_a_browser_session_is_not_accepted_on_a_service_route(client, make_user):
    admin = make_user(is_staff=True, is_superuser=True)
    client.force_login(admin)
    response = client.get(user_url(admin.pk))
    assert response.status_code == 401
    assert response.json()["code"] == "api_key_missing"


def _forge(raw_key):
    return raw_key[:-4] + ("AAAA" if not raw_key.endswith("AAAA") else "BBBB")


def _revoke(api_key):
    revoke_api_key(api_key)


def _expire(api_key):
    ApiKey.objects.filter(pk=api_key.pk).update(expires_at=timezone.now() - timedelta(seconds=1))


@pytest.mark.parametrize(
    "spoil",
    [
        pytest.param(lambda key, raw: "kit_unknown0_" + "A" * 40, id="unknown"),
        pytest.param(lambda key, raw: _forge(raw), id="wrong-secret-valid-prefix"),
        pytest.param(lambda key, raw: _revoke(key) or raw, id="revoked"),
        pytest.param(lambda key, raw: _expire(key) or raw, id="expired"),
        pytest.param(lambda key, raw: "not a key", id="malformed"),
    ],
)
def test_every_bad_key_gets_the_same_401_api_key_invalid(api_client, make_api_key, spoil):
    api_key, raw_key = make_api_key()
    sent = spoil(api_key, raw_key)

    response = api_client.get(PING, HTTP_X_API_KEY=sent)

    assert response.status_code == 401
    assert response.json() == INVALID


def test_a_refusal_is_audited_with_the_client_address_and_prefix_only(api_client, make_api_key):
    api_key, raw_key = make_api_key()
    forged = _forge(raw_key)

    api_client.get(PING, HTTP_X_API_KEY=forged, REMOTE_ADDR="203.0.113.9")

    event = AuthEvent.objects.get(kind="api_key_refused")
    assert event.ip_address == "203.0.113.9"
    assert event.detail == {"prefix": api_key.prefix, "reason": "wrong_secret"}
    assert forged not in str(event.__dict__)


def test_a_missing_scope_is_403_with_the_required_scope(api_client, make_api_key, user):
    _, raw_key = make_api_key(scopes=["tokens:introspect"])
    response = api_client.get(user_url(user.pk), HTTP_X_API_KEY=raw_key)
    assert response.status_code == 403
    assert response.json() == {
        "code": "insufficient_scope",
        "detail": "This API key lacks the scope users:read.",
        "required_scope": "users:read",
    }


def test_the_scope_is_checked_before_the_user_is_looked_up(api_client, make_api_key):
    _, raw_key = make_api_key(scopes=["tokens:introspect"])
    response = api_client.get(user_url(999999), HTTP_X_API_KEY=raw_key)
    assert response.status_code == 403


def test_user_lookup_returns_the_me_fields(api_client, make_api_key, make_user):
    target = make_user(first_name="Ada", last_name="Lovelace", is_staff=True)
    _, raw_key = make_api_key(scopes=["users:read"])

    response = api_client.get(user_url(target.pk), HTTP_X_API_KEY=raw_key)

    assert response.status_code == 200
    assert response.json() == {
        "id": target.pk,
        "username": target.username,
        "email": target.email,
        "first_name": "Ada",
        "last_name": "Lovelace",
        "is_staff": True,
    }


@pytest.mark.parametrize("user_id", ["999999", "abc"])
def test_user_lookup_of_an_unknown_user_is_404(api_client, make_api_key, user_id):
    _, raw_key = make_api_key(scopes=["users:read"])
    response = api_client.get(f"/api/v1/service/users/{user_id}/", HTTP_X_API_KEY=raw_key)
    assert response.status_code == 404
    assert response.json()["code"] == "not_found"


def test_revocation_is_seen_by_the_next_request_though_the_key_was_cached(
    api_client, make_api_key, shared_key_cache, django_capture_on_commit_callbacks
):
    api_key, raw_key = make_api_key()
    assert api_client.get(PING, HTTP_X_API_KEY=raw_key).status_code == 200

    with django_capture_on_commit_callbacks(execute=True):
        revoke_api_key(ApiKey.objects.get(pk=api_key.pk))

    response = api_client.get(PING, HTTP_X_API_KEY=raw_key)
    assert response.status_code == 401
    assert response.json()["code"] == "api_key_invalid"


def _ping_queries(api_client, raw_key):
    api_client.get(PING, HTTP_X_API_KEY=raw_key)  # first use: caches the key, last_used
    with CaptureQueriesContext(connection) as queries:
        response = api_client.get(PING, HTTP_X_API_KEY=raw_key)
    assert response.status_code == 200
    return len(queries)


@pytest.mark.redis
def test_a_cached_key_costs_no_database_query_with_redis(api_client, make_api_key):
    _, raw_key = make_api_key()
    assert _ping_queries(api_client, raw_key) == 0


def test_with_a_local_memory_cache_each_request_reads_the_key_once(
    api_client, make_api_key, settings
):
    """Local memory is per worker and cannot be written through, so keys are not cached."""
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    _, raw_key = make_api_key()
    assert _ping_queries(api_client, raw_key) == 1


def test_a_client_flooding_random_keys_is_throttled_and_barely_audited(
    api_client, make_api_key, settings
):
    """200 made-up keys from one address: 401 until ACCOUNTS_API_KEY_FAILURE_RATE, then 429
    `throttled` with Retry-After; a couple of audit rows at most. Other clients go on."""
    settings.ACCOUNTS = {**settings.ACCOUNTS, "API_KEY_FAILURE_RATE": "20/minute"}
    _, raw_key = make_api_key()
    statuses = []
    for _ in range(200):
        key = f"kit_{get_random_string(8, string.ascii_lowercase)}_{get_random_string(40)}"
        response = api_client.get(PING, HTTP_X_API_KEY=key, REMOTE_ADDR="203.0.113.50")
        statuses.append(response.status_code)
    assert statuses == [401] * 20 + [429] * 180
    assert response.json()["code"] == "throttled"
    assert int(response["Retry-After"]) > 0
    assert AuthEvent.objects.filter(kind="api_key_refused").count() <= 2
    assert api_client.get(PING, HTTP_X_API_KEY=raw_key).status_code == 200


class _UserRoute(APIView):
    authentication_classes = [ApiKeyAuthentication]
    permission_classes = [IsAuthenticated]

    def get(self, request):
        return Response({"user": request.user.pk})


def test_a_key_never_acts_as_its_owner(make_api_key, user):
    """Even on a route that lists ApiKeyAuthentication, a key is not a signed-in user."""
    _, raw_key = make_api_key(owner=user)
    request = APIRequestFactory().get("/x/", HTTP_X_API_KEY=raw_key)
    response = _UserRoute.as_view()(request)
    assert response.status_code == 403


class _MisconfiguredRoute(APIView):
    # A scope check on a route that forgot ApiKeyAuthentication: must still refuse.
    permission_classes = [HasScope("users:read")]

    def get(self, request):
        return Response({})


def test_hasscope_fails_closed_without_a_key(user):
    request = APIRequestFactory().get("/x/")
    force_authenticate(request, user=user, token="a-jwt")
    response = _MisconfiguredRoute.as_view()(request)
    assert response.status_code == 401
    assert response.data["code"] == "api_key_missing"


def test_hasscope_with_an_undeclared_scope_stops_start_up():
    with pytest.raises(ImproperlyConfigured, match="users:raed"):
        HasScope("users:raed")


def test_a_product_route_with_its_own_scope(settings, make_api_key):
    settings.API_KEY_EXTRA_SCOPES = {"orders:read": "Read orders"}

    class OrdersView(ServiceView):
        permission_classes = [HasScope("orders:read")]

        def get(self, request):
            return Response({"orders": []})

    _, allowed = make_api_key(scopes=["orders:read"])
    _, other = make_api_key(scopes=["users:read"])
    factory = APIRequestFactory()
    assert OrdersView.as_view()(factory.get("/", HTTP_X_API_KEY=allowed)).status_code == 200
    denied = OrdersView.as_view()(factory.get("/", HTTP_X_API_KEY=other))
    assert (denied.status_code, denied.data["required_scope"]) == (403, "orders:read")


def test_the_schema_documents_the_api_key_schemes(api_client):
    schema = api_client.get("/api/schema/?format=json").json()
    schemes = schema["components"]["securitySchemes"]
    assert schemes["ApiKeyHeader"] == {"type": "apiKey", "in": "header", "name": "X-API-Key"}
    assert schemes["ApiKeyAuthorization"]["name"] == "Authorization"
    ping = schema["paths"]["/api/v1/service/ping/"]["get"]
    assert ping["security"] == [{"ApiKeyHeader": []}, {"ApiKeyAuthorization": []}]
    user_get = schema["paths"]["/api/v1/service/users/{user_id}/"]["get"]
    assert "200" in user_get["responses"]
