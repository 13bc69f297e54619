"""api/serializers/fields.py: StrictCharField keeps DRF's refusals, with an ASCII fast path."""

import importlib
import pkgutil

import pytest
from rest_framework import serializers

import api.serializers as package
from api.serializers.fields import StrictCharField, StrictEmailField

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


# --- lengths hold for the value as sent ---------------------------------------------------


def test_a_name_longer_than_the_schema_allows_is_refused_even_with_spaces_around(
    api_client, bearer, sign_in
):
    """DRF trims, then checks max_length: 150 letters after a leading space were taken,
    where the schema's maxLength (150) refuses them (CI's fuzz seed 1610004069)."""
    access = sign_in().json()["access"]

    response = api_client.patch(
        "/api/v1/me/", {"last_name": "\u00a0" + "x" * 150}, format="json", **bearer(access)
    )

    assert response.status_code == 400
    assert "last_name" in response.json()["errors"]
    assert api_client.get("/api/v1/me/", **bearer(access)).json()["last_name"] == ""


def test_a_device_name_longer_than_the_schema_allows_is_refused_even_with_spaces_around(
    sign_in,
):
    response = sign_in(device_name=" " + "x" * 100, expect=400)

    assert response.status_code == 400
    assert "device_name" in response.json()["errors"]


def test_every_trimmed_request_field_with_a_length_checks_it_as_sent():
    """The derived check: a request field that trims whitespace and has a max_length is a
    Strict field, whose length is that of the value as sent."""
    loose = []
    for module_info in pkgutil.iter_modules(package.__path__):
        module = importlib.import_module(f"api.serializers.{module_info.name}")
        for name, cls in vars(module).items():
            request_body = isinstance(cls, type) and issubclass(cls, serializers.Serializer)
            if not request_body or issubclass(cls, serializers.ModelSerializer):  # answers
                continue
            if cls.__module__ != module.__name__:
                continue
            for field_name, field in cls().fields.items():
                if field.read_only or not isinstance(field, serializers.CharField):
                    continue
                trimmed_with_length = field.trim_whitespace and field.max_length is not None
                if trimmed_with_length and not isinstance(
                    field, StrictCharField | StrictEmailField
                ):
                    loose.append(f"{name}.{field_name}")
    assert loose == [], loose
