"""The /me profile cache: same body as the serializer, dropped on every change."""

import pytest
from django.contrib.auth.models import Group

from api.serializers.account import MeSerializer

ME = "/api/v1/me/"


@pytest.mark.django_db
def test_me_body_is_the_serializer_data(api_client, sign_in, bearer, user):
    user.first_name, user.last_name = "Ada", "Lovelace"
    user.save()
    access = sign_in().json()["access"]
    assert api_client.get(ME, **bearer(access)).json() == MeSerializer(user).data


@pytest.mark.django_db
def test_a_saved_change_shows_on_the_next_request(api_client, sign_in, bearer, user):
    access = sign_in().json()["access"]
    assert api_client.get(ME, **bearer(access)).json()["first_name"] == ""
    user.first_name = "Grace"
    user.save()
    assert api_client.get(ME, **bearer(access)).json()["first_name"] == "Grace"


@pytest.mark.django_db
def test_a_change_of_rights_shows_after_refresh(api_client, sign_in, bearer, refresh, user):
    body = sign_in().json()
    assert api_client.get(ME, **bearer(body["access"])).json()["is_staff"] is False
    user.is_staff = True
    user.save()
    new = refresh(body["refresh"]).json()
    assert api_client.get(ME, **bearer(new["access"])).json()["is_staff"] is True


@pytest.mark.django_db
def test_a_deleted_user_is_refused_not_served_from_the_cache(api_client, sign_in, bearer, user):
    access = sign_in().json()["access"]
    assert api_client.get(ME, **bearer(access)).status_code == 200
    user.delete()
    response = api_client.get(ME, **bearer(access))
    assert response.status_code == 401
    assert response.json()["code"] == "session_revoked"


@pytest.mark.redis
@pytest.mark.django_db
def test_a_warm_me_makes_no_query_with_redis(
    api_client, sign_in, bearer, django_assert_num_queries
):
    access = sign_in().json()["access"]
    api_client.get(ME, **bearer(access))  # warms the session state and the profile
    with django_assert_num_queries(0):
        response = api_client.get(ME, **bearer(access))
    assert response.status_code == 200


@pytest.mark.redis
@pytest.mark.django_db
def test_a_change_of_rights_drops_the_cached_profile(user):
    from django.core.cache import cache

    from accounts.users import profiles

    profiles.get_profile(user.pk)
    assert cache.get(profiles.PROFILES.key(user.pk))["username"] == user.username
    user.groups.add(Group.objects.create(name="editors"))  # a change of rights
    assert cache.get(profiles.PROFILES.key(user.pk)) is None
