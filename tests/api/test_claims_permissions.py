"""Token claims (ACCOUNTS_TOKEN_CLAIMS), the claim permissions (api.permissions) and
rights changes making earlier access tokens stale (accounts.devices.rights)."""

import pytest
from django.contrib.auth.models import Group, Permission
from django.core.exceptions import ImproperlyConfigured

from accounts.devices.claims import RESERVED_CLAIMS, extra_claims
from accounts.devices.tokens import decode_access
from accounts.models import User
from api.permissions import HasPermission, IsStaff, check_permission_classes

pytestmark = pytest.mark.django_db

DEFAULT_CLAIMS = "accounts.devices.claims.permissions_and_roles"


def claims(access):
    return decode_access(access).payload


@pytest.fixture
def guarded_routes(settings, monkeypatch):
    """The routes of tests/api/urls_permissions.py, and a cache that behaves like Redis
    (one process: local memory then answers like a shared cache), so a request's session
    check is a cache get and the query counts are those of a deployment."""
    settings.ROOT_URLCONF = "tests.api.urls_permissions"
    monkeypatch.setattr("accounts.revocation.state.cache_is_shared", lambda: True)


@pytest.fixture
def with_claims(settings):
    settings.ACCOUNTS = {**settings.ACCOUNTS, "TOKEN_CLAIMS": DEFAULT_CLAIMS}


@pytest.fixture
def view_user():
    return Permission.objects.get(codename="view_user", content_type__app_label="accounts")


@pytest.fixture
def editors(view_user):
    group = Group.objects.create(name="editors")
    group.permissions.add(view_user)
    return group


@pytest.fixture
def signed_in(sign_in, django_capture_on_commit_callbacks):
    """sign_in() with its after-commit work run (the session state is cached then)."""

    def _signed_in(**kwargs):
        with django_capture_on_commit_callbacks(execute=True):
            return sign_in(**kwargs).json()

    return _signed_in


# --- claims -----------------------------------------------------------------------------


def test_no_extra_claims_by_default(signed_in):
    payload = claims(signed_in()["access"])
    assert "permissions" not in payload
    assert "roles" not in payload


def test_default_claims_function(signed_in, user, editors, with_claims):
    user.groups.add(editors)
    payload = claims(signed_in()["access"])
    assert payload["permissions"] == ["accounts.view_user"]
    assert payload["roles"] == ["editors"]


def test_superuser_claims_stay_small(signed_in, make_user, with_claims, password):
    admin = make_user(username="root", is_superuser=True, is_staff=True)
    payload = claims(signed_in(username=admin.username)["access"])
    assert payload["permissions"] == []
    assert payload["is_superuser"] is True


def _claims_function(value):
    def function(user):
        return value

    return function


@pytest.mark.parametrize("reserved", sorted(RESERVED_CLAIMS))
def test_reserved_claims_cannot_be_overridden(settings, monkeypatch, user, reserved):
    monkeypatch.setattr("tests.api.test_claims_permissions.custom", _claims_function({reserved: 1}))
    settings.ACCOUNTS = {**settings.ACCOUNTS, "TOKEN_CLAIMS": f"{__name__}.custom"}
    with pytest.raises(ImproperlyConfigured, match=f"reserved claim.*{reserved}"):
        extra_claims(user)


def test_sign_in_with_a_reserved_claim_fails_loudly(settings, monkeypatch, sign_in, user):
    monkeypatch.setattr(
        "tests.api.test_claims_permissions.custom", _claims_function({"is_superuser": True})
    )
    settings.ACCOUNTS = {**settings.ACCOUNTS, "TOKEN_CLAIMS": f"{__name__}.custom"}
    with pytest.raises(ImproperlyConfigured):
        sign_in()
    assert not User.objects.get(pk=user.pk).device_sessions.filter(revoked_at=None).exists()


def _email_claim(user):
    return {"email": user.email}


def test_refresh_gives_claims_functions_the_whole_current_user(
    settings, monkeypatch, sign_in, refresh, user
):
    """The rotation returns only the claims' own columns of the user; a claims function
    reading any other field still gets its current value."""
    monkeypatch.setattr("tests.api.test_claims_permissions.custom", _email_claim)
    settings.ACCOUNTS = {**settings.ACCOUNTS, "TOKEN_CLAIMS": f"{__name__}.custom"}
    first = sign_in().json()
    User.objects.filter(pk=user.pk).update(email="moved@example.com")
    assert claims(refresh(first["refresh"]).json()["access"])["email"] == "moved@example.com"


@pytest.mark.parametrize(
    ("value", "message"), [(["x"], "must return a dict"), ({"when": object()}, "not JSON")]
)
def test_bad_claims_functions(settings, monkeypatch, user, value, message):
    monkeypatch.setattr("tests.api.test_claims_permissions.custom", _claims_function(value))
    settings.ACCOUNTS = {**settings.ACCOUNTS, "TOKEN_CLAIMS": f"{__name__}.custom"}
    with pytest.raises(ImproperlyConfigured, match=message):
        extra_claims(user)


def test_unimportable_claims_function(settings, user):
    settings.ACCOUNTS = {**settings.ACCOUNTS, "TOKEN_CLAIMS": "nowhere.claims"}
    with pytest.raises(ImproperlyConfigured, match="cannot import"):
        extra_claims(user)


def custom(user):  # replaced per test
    return {}


# --- request.user from the claims -------------------------------------------------------


def test_request_user_from_claims_without_a_query(
    signed_in, api_client, bearer, user, guarded_routes, django_assert_num_queries
):
    access = signed_in()["access"]
    with django_assert_num_queries(0):
        response = api_client.get("/whoami/", **bearer(access))
    assert response.json() == {
        "id": user.pk,
        "username": user.username,
        "is_staff": False,
        "is_superuser": False,
    }


# --- permission classes -----------------------------------------------------------------


def test_is_staff(
    signed_in, make_user, api_client, bearer, guarded_routes, django_assert_num_queries
):
    plain = signed_in()["access"]
    staff = make_user(username="staffer", is_staff=True)
    staff_access = signed_in(username=staff.username, device_id="s")["access"]

    response = api_client.get("/staff/", **bearer(plain))
    assert response.status_code == 403
    assert response.json()["code"] == "permission_denied"
    with django_assert_num_queries(0):
        assert api_client.get("/staff/", **bearer(staff_access)).status_code == 200
    assert api_client.get("/staff/").status_code == 401


def test_has_permission_from_claims(
    signed_in,
    user,
    editors,
    api_client,
    bearer,
    guarded_routes,
    with_claims,
    django_assert_num_queries,
):
    before = signed_in()["access"]
    assert api_client.get("/view-users/", **bearer(before)).status_code == 403

    user.groups.add(editors)
    access = signed_in(device_id="phone-2")["access"]
    with django_assert_num_queries(0):
        assert api_client.get("/view-users/", **bearer(access)).status_code == 200
    # Every listed permission is needed.
    response = api_client.get("/view-change-users/", **bearer(access))
    assert response.status_code == 403


def test_has_permission_superuser(
    signed_in, make_user, api_client, bearer, guarded_routes, with_claims
):
    admin = make_user(username="root", is_superuser=True)
    access = signed_in(username=admin.username)["access"]
    assert api_client.get("/view-change-users/", **bearer(access)).status_code == 200


def test_has_permission_without_claims_asks_the_database(
    signed_in, user, view_user, api_client, bearer, guarded_routes
):
    user.user_permissions.add(view_user)
    access = signed_in()["access"]
    assert api_client.get("/view-users/", **bearer(access)).status_code == 200
    assert api_client.get("/view-change-users/", **bearer(access)).status_code == 403


def test_has_permission_on_the_browser_session(client, user, view_user, guarded_routes):
    client.force_login(user)
    assert client.get("/view-users/").status_code == 403
    user.user_permissions.add(view_user)
    assert client.get("/view-users/").status_code == 200


def test_anonymous_is_401(api_client, guarded_routes):
    response = api_client.get("/view-users/")
    assert response.status_code == 401
    assert response.json()["code"] == "not_authenticated"


@pytest.mark.parametrize(
    ("args", "error"),
    [
        ((), TypeError),
        (("view_user",), ValueError),
        ((1,), ValueError),
        (("a.b", "x y.z"), ValueError),
    ],
)
def test_has_permission_refuses_misuse_at_import(args, error):
    with pytest.raises(error):
        HasPermission(*args)


def test_system_check_refuses_the_class_itself(settings):
    assert check_permission_classes() == []
    settings.ROOT_URLCONF = "tests.api.urls_bad_permissions"
    errors = check_permission_classes()
    assert [e.id for e in errors] == ["api.E001"]
    assert "Misconfigured" in errors[0].msg


def test_permission_instances_and_classes_both_work():
    staff = IsStaff()
    assert staff() is staff
    permission = HasPermission("a.b")
    assert permission() is permission


# --- rights changes make tokens stale ---------------------------------------------------


def _stale(api_client, bearer, access):
    response = api_client.get("/whoami/", **bearer(access))
    return response.status_code == 401 and response.json()["code"] == "token_stale"


@pytest.fixture
def session_and_state(signed_in, api_client, bearer, guarded_routes):
    """A signed-in token whose session state is in the (shared) cache already."""
    pair = signed_in()
    assert api_client.get("/whoami/", **bearer(pair["access"])).status_code == 200
    return pair


def test_staff_flag_change_makes_tokens_stale_and_refresh_issues_new_claims(
    session_and_state, user, api_client, bearer, refresh, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        user.is_staff = True
        user.save()
    assert _stale(api_client, bearer, session_and_state["access"])
    fresh = refresh(session_and_state["refresh"]).json()
    assert claims(fresh["access"])["is_staff"] is True
    assert api_client.get("/staff/", **bearer(fresh["access"])).status_code == 200


def test_superuser_flag_change(session_and_state, user, api_client, bearer):
    user.is_superuser = True
    user.save(update_fields=["is_superuser"])
    assert _stale(api_client, bearer, session_and_state["access"])


def test_other_changes_keep_tokens(session_and_state, user, api_client, bearer):
    # A new password is not a change of rights, but it ends every session
    # (tests/accounts/users/test_password_changes.py).
    user.first_name = "Ada"
    user.save()
    response = api_client.get("/whoami/", **bearer(session_and_state["access"]))
    assert response.status_code == 200


@pytest.mark.parametrize(
    "change",
    [
        "user.groups.add(editors)",
        "editors.user_set.add(user)",
        "user.user_permissions.add(view_user)",
        "view_user.user_set.add(user)",
    ],
)
def test_membership_and_permission_changes(
    session_and_state, user, editors, view_user, api_client, bearer, change, with_claims, refresh
):
    exec(change, {}, {"user": user, "editors": editors, "view_user": view_user})  # noqa: S102
    assert _stale(api_client, bearer, session_and_state["access"])
    fresh = refresh(session_and_state["refresh"]).json()
    assert "accounts.view_user" in claims(fresh["access"])["permissions"]


@pytest.mark.parametrize(
    "change",
    [
        "user.groups.remove(editors)",
        "user.groups.clear()",
        "editors.user_set.remove(user)",
        "editors.user_set.clear()",
        "editors.permissions.remove(view_user)",
        "editors.permissions.clear()",
        "view_user.group_set.remove(editors)",
        "view_user.group_set.clear()",
        "editors.delete()",
    ],
)
def test_losing_rights_makes_tokens_stale(
    signed_in, user, editors, view_user, api_client, bearer, guarded_routes, change, with_claims
):
    user.groups.add(editors)
    access = signed_in()["access"]
    assert api_client.get("/view-users/", **bearer(access)).status_code == 200
    exec(change, {}, {"user": user, "editors": editors, "view_user": view_user})  # noqa: S102
    assert _stale(api_client, bearer, access)


def test_group_permission_added_reaches_every_member(
    signed_in, make_user, editors, api_client, bearer, guarded_routes
):
    change_user = Permission.objects.get(codename="change_user")
    members = [make_user(username=f"member{i}") for i in range(2)]
    outsider = make_user(username="outsider")
    for member in members:
        member.groups.add(editors)
    tokens = [signed_in(username=u.username, device_id="d")["access"] for u in [*members, outsider]]
    editors.permissions.add(change_user)
    assert _stale(api_client, bearer, tokens[0])
    assert _stale(api_client, bearer, tokens[1])
    assert api_client.get("/whoami/", **bearer(tokens[2])).status_code == 200


def test_adding_nothing_new_bumps_nothing(user, editors):
    user.groups.add(editors)
    version = User.objects.get(pk=user.pk).rights_version
    user.groups.add(editors)
    assert User.objects.get(pk=user.pk).rights_version == version


def test_a_stale_user_object_cannot_lower_the_rights_version(user, editors):
    stale = User.objects.get(pk=user.pk)
    editors.user_set.add(user)  # bumps in the database, not in `stale`
    bumped = User.objects.get(pk=user.pk).rights_version
    stale.first_name = "Old"
    stale.save()
    assert User.objects.get(pk=user.pk).rights_version == bumped
    assert stale.rights_version == 0  # the object is left as it was, not as an F()
