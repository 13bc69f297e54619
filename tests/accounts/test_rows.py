"""accounts.rows: the plain-SQL reads answer exactly what the ORM would."""

from datetime import timedelta

import pytest
from django.utils import timezone

from accounts.api_keys import _STATE_FIELDS, create_api_key
from accounts.models import ApiKey, User
from accounts.profiles import PROFILE_FIELDS
from accounts.rows import read_row
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def test_an_api_key_row_equals_the_orms_values(django_assert_num_queries):
    owner = UserFactory()
    api_key, _ = create_api_key(
        name="shop", scopes=["tokens:introspect", "users:read"], owner=owner,
        expires_at=timezone.now() + timedelta(days=3),
    )  # fmt: skip
    expected = ApiKey.objects.filter(prefix=api_key.prefix).values(*_STATE_FIELDS).first()
    with django_assert_num_queries(1):
        row = read_row(ApiKey, _STATE_FIELDS, prefix=api_key.prefix)
    assert row == expected
    assert row["scopes"] == ["tokens:introspect", "users:read"]  # JSON, decoded
    assert row["expires_at"] == api_key.expires_at  # an aware datetime on every database
    assert row["revoked_at"] is None


def test_a_profile_row_equals_the_orms_values():
    user = UserFactory(first_name="Ada", is_staff=True)
    expected = User.objects.filter(pk=user.pk).values(*PROFILE_FIELDS).first()
    assert read_row(User, PROFILE_FIELDS, pk=user.pk) == expected
    assert read_row(User, PROFILE_FIELDS, pk=str(user.pk))["is_staff"] is True


def test_no_matching_row_is_none():
    assert read_row(ApiKey, _STATE_FIELDS, prefix="no-such-prefix") is None
    assert read_row(User, PROFILE_FIELDS, pk=987654) is None


def test_a_value_is_a_parameter_never_sql():
    UserFactory(username="alice")
    assert read_row(User, ("username",), username="x' OR '1'='1") is None
    assert read_row(User, ("username",), username="alice") == {"username": "alice"}
