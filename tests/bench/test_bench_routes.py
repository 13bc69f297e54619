"""The bench-only reference routes of `make bench` (bench/urls.py): they answer, they cost
the queries the benchmark claims they cost, and a normal run does not serve them."""

import pytest
from django.urls import reverse
from rest_framework_simplejwt.settings import api_settings as simplejwt_settings
from rest_framework_simplejwt.tokens import RefreshToken

from bench import urls as bench_urls
from bench.views import _simplejwt_settings


@pytest.fixture
def stock_tokens(user):
    refresh = RefreshToken.for_user(user)
    return str(refresh.access_token), str(refresh)


def test_normal_runs_do_not_serve_the_bench_routes(client, db):
    assert client.get("/bench/noauth/").status_code == 404


@pytest.mark.urls("bench.urls")
def test_baseline_needs_no_credentials_and_no_query(api_client, db, django_assert_num_queries):
    with django_assert_num_queries(0):
        response = api_client.get(reverse("bench-noauth"))
    assert response.status_code == 200
    assert response.json() == {"id": None}


@pytest.mark.urls("bench.urls")
def test_stock_jwt_authentication_loads_the_user(
    api_client, user, stock_tokens, django_assert_num_queries
):
    api_client.credentials(HTTP_AUTHORIZATION=f"Bearer {stock_tokens[0]}")
    with django_assert_num_queries(1):
        response = api_client.get(reverse("bench-jwt"))
    assert response.status_code == 200
    assert response.json() == {"id": user.id}


@pytest.mark.urls("bench.urls")
def test_stock_stateless_authentication_reads_claims_only(
    api_client, user, stock_tokens, django_assert_num_queries
):
    api_client.credentials(HTTP_AUTHORIZATION=f"Bearer {stock_tokens[0]}")
    with django_assert_num_queries(0):
        response = api_client.get(reverse("bench-jwt-stateless"))
    assert response.status_code == 200
    assert response.json() == {"id": str(user.id)}


@pytest.mark.urls("bench.urls")
def test_authenticated_routes_refuse_a_request_without_token(api_client, db):
    assert api_client.get(reverse("bench-jwt")).status_code == 401
    assert api_client.get(reverse("bench-jwt-stateless")).status_code == 401


@pytest.mark.urls("bench.urls")
def test_stock_sign_in_and_plain_refresh(api_client, user, password):
    credentials = {"username": user.username, "password": password}
    response = api_client.post(reverse("bench-stock-token"), credentials, format="json")
    assert response.status_code == 200
    refresh = response.json()["refresh"]

    response = api_client.post(reverse("bench-stock-refresh"), {"refresh": refresh}, format="json")
    assert response.status_code == 200
    assert set(response.json()) == {"access"}  # no rotation
    # Not rotated and not blacklisted: the same token works again.
    again = api_client.post(reverse("bench-stock-refresh"), {"refresh": refresh}, format="json")
    assert again.status_code == 200


def _fail_with_settings_swapped(rotate):
    with _simplejwt_settings(ROTATE_REFRESH_TOKENS=not rotate):
        raise RuntimeError(simplejwt_settings.ROTATE_REFRESH_TOKENS)


def test_simplejwt_settings_are_restored_after_a_failing_request():
    rotate = simplejwt_settings.ROTATE_REFRESH_TOKENS
    with pytest.raises(RuntimeError) as raised:
        _fail_with_settings_swapped(rotate)
    assert raised.value.args[0] is (not rotate)
    assert simplejwt_settings.ROTATE_REFRESH_TOKENS is rotate


def test_claims_route_exists_once_the_kit_has_bearer_authentication():
    names = {pattern.name for pattern in bench_urls.urlpatterns}
    assert ("bench-claims" in names) is bench_urls._kit_has_bearer_authentication()
