"""api/serializers/fields.py: StrictCharField keeps DRF's refusals, with an ASCII fast path."""

import pytest

pytestmark = pytest.mark.django_db

REFRESH_URL = "/api/v1/auth/token/refresh/"


def _post_raw(api_client, body):
    return api_client.post(REFRESH_URL, body, content_type="application/json")


def test_a_lone_surrogate_in_a_token_field_is_a_400_as_in_drf(api_client):
    response = _post_raw(api_client, '{"refresh": "abc\\ud800def", "device_id": "phone-1"}')
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "invalid"
    assert "Surrogate characters are not allowed: U+D800." in body["errors"]["refresh"]


def test_other_non_ascii_text_reaches_the_token_check(api_client):
    response = _post_raw(api_client, '{"refresh": "t\\u00f6k\\u00e9n", "device_id": "phone-1"}')
    assert response.status_code == 401
    assert response.json()["code"] == "token_invalid"


def test_a_number_is_not_a_token(api_client):
    response = _post_raw(api_client, '{"refresh": 42, "device_id": "phone-1"}')
    assert response.status_code == 400
    assert "refresh" in response.json()["errors"]
