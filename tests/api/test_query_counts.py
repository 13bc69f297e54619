"""Zero database queries per request once warm, with the shared cache (issue 7): the
claims-only route and the API-key ping. Runs where Redis is configured (CI)."""

import pytest

pytestmark = [pytest.mark.redis, pytest.mark.django_db]


@pytest.fixture
def claims_only_view(settings):
    settings.ROOT_URLCONF = "tests.api.urls_claims_only"


def test_claims_only_route_makes_no_query_once_warm(
    sign_in,
    api_client,
    bearer,
    claims_only_view,
    django_assert_num_queries,
    django_capture_on_commit_callbacks,
):
    with django_capture_on_commit_callbacks(execute=True):
        access = sign_in().json()["access"]
    api_client.get("/claims/", **bearer(access))  # warm: last_used_at gate
    for _ in range(3):
        with django_assert_num_queries(0):
            response = api_client.get("/claims/", **bearer(access))
        assert response.status_code == 200
        assert response.json()["username"]


def test_api_key_ping_makes_no_query_once_warm(make_api_key, api_client, django_assert_num_queries):
    api_key, raw_key = make_api_key()
    # Warm: the key's state is read and cached, last_used_at written once.
    assert api_client.get("/api/v1/service/ping/", HTTP_X_API_KEY=raw_key).status_code == 200
    for _ in range(3):
        with django_assert_num_queries(0):
            response = api_client.get("/api/v1/service/ping/", HTTP_X_API_KEY=raw_key)
        assert response.status_code == 200
        assert response.json()["key"]["prefix"] == api_key.prefix
