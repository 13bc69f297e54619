"""The admin obeys Django's permissions.

The cases come from the admin site itself: every kit model registered there, every action
its ModelAdmin offers a superuser and every URL it serves, so an action or a view added
later is covered without touching these tests.
"""

import re
from datetime import timedelta
from types import SimpleNamespace

import pytest
from django.apps import apps
from django.contrib import admin
from django.contrib.auth.models import Permission
from django.contrib.messages import get_messages
from django.test import RequestFactory
from django.urls import reverse
from django.utils import timezone

from accounts.admin.base import SECRET_FIELDS, reaches_secret
from accounts.models import AuthEvent, DeviceSession, Lockout, User

pytestmark = pytest.mark.django_db

ME_URL = "/api/v1/me/"
KIT_MODELS = [
    model
    for model in apps.get_app_config("accounts").get_models()
    if admin.site.is_registered(model)
]
# Whatever a form anywhere in the admin might take: names, flags, a new password, a confirm.
MUTATING_PAYLOAD = {
    "username": "mallory",
    "email": "mallory@example.com",
    "name": "renamed",
    "owner": "",
    "scopes": ["users:read"],
    "is_active": "",
    "is_staff": "on",
    "is_superuser": "on",
    "usable_password": "true",
    "password1": "An0ther-long-passphrase",
    "password2": "An0ther-long-passphrase",
    "post": "yes",
    "_save": "Save",
}


def _actions_offered_to_a_superuser():
    request = RequestFactory().get("/admin/")
    request.user = User(username="probe", is_active=True, is_staff=True, is_superuser=True)
    return [
        (model, name)
        for model in KIT_MODELS
        for name in admin.site.get_model_admin(model).get_actions(request)
    ]


ACTIONS = _actions_offered_to_a_superuser()
ACTION_IDS = [f"{model.__name__}.{name}" for model, name in ACTIONS]


def _lookup_paths(model, depth=2):
    """(path prefix, model) for the model and every model within `depth` relations of it."""
    paths, frontier = [("", model)], [("", model)]
    for _ in range(depth):
        frontier = [
            (f"{prefix}{field.name}__", field.related_model)
            for prefix, current in frontier
            for field in current._meta.get_fields()
            if field.is_relation and field.related_model is not None
        ]
        paths += frontier
    return paths


SECRET_LOOKUPS = sorted(
    {
        (admin_model, f"{prefix}{name}", secret_model, name)
        for admin_model in KIT_MODELS
        for prefix, reached in _lookup_paths(admin_model)
        for secret_model, name in SECRET_FIELDS
        if reached is secret_model
    },
    key=lambda case: (case[0].__name__, case[1]),
)


def changelist(model):
    return reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist")


def admin_urls(model, pk):
    """Every URL the model's admin serves, with `pk` for the object in it."""
    base = changelist(model)
    for pattern in admin.site.get_model_admin(model).get_urls():
        yield base + re.sub(r"<[^>]+>", str(pk), str(pattern.pattern))


def perms(*actions):
    return [
        f"{model._meta.app_label}.{action}_{model._meta.model_name}"
        for model in KIT_MODELS
        for action in actions
    ]


def grant(user, *names):
    for name in names:
        app_label, codename = name.split(".")
        user.user_permissions.add(
            Permission.objects.get(content_type__app_label=app_label, codename=codename)
        )
    return User.objects.get(pk=user.pk)  # a fresh object: no cached permissions


def snapshot():
    """Every row of every kit model, as the database holds it."""
    return {
        model.__name__: list(model._default_manager.order_by("pk").values()) for model in KIT_MODELS
    }


def ordinary_pks(world, model):
    """Every row of the model but the superuser's, so only the permission is at stake."""
    rows = model._default_manager.all()
    if model is User:
        rows = rows.filter(pk=world.ada.pk)
    elif model is DeviceSession:
        rows = rows.filter(user=world.ada)
    return [str(pk) for pk in rows.values_list("pk", flat=True)]


def shown_messages(response):
    return [(m.level_tag, m.message) for m in get_messages(response.wsgi_request)]


@pytest.fixture
def world(make_user, sign_in, make_api_key):
    """A superuser and a user, each signed in on a device; an API key, a lockout."""
    root = make_user(username="root", is_staff=True, is_superuser=True)
    ada = make_user(username="ada")
    access = {}
    for person in (root, ada):
        pair = sign_in(username=person.username, device_id=f"{person.username}-phone").json()
        access[person.username] = pair["access"]
    make_api_key(owner=ada)
    Lockout.objects.create(
        kind="account",
        value="mallory",
        failures=5,
        locked_until=timezone.now() + timedelta(minutes=10),
    )
    return SimpleNamespace(root=root, ada=ada, access=access)


@pytest.fixture
def staff_client(client, make_user):
    """staff_client(*permissions): a client signed in as a staff user (not a superuser)."""

    def _staff_client(*names, username="helpdesk"):
        staff = grant(make_user(username=username, is_staff=True), *names)
        client.force_login(staff)
        return client

    return _staff_client


@pytest.fixture
def signed_in(api_client, bearer, world):
    """signed_in(name): whether that person's access token still works."""

    def _signed_in(name):
        return api_client.get(ME_URL, **bearer(world.access[name])).status_code == 200

    return _signed_in


@pytest.fixture
def post(django_capture_on_commit_callbacks):
    """POST with the on-commit work (cache write-through) run, as in production."""

    def _post(client, url, data):
        with django_capture_on_commit_callbacks(execute=True):
            return client.post(url, data)

    return _post


def test_the_registry_offers_the_kit_actions():
    assert {name for _, name in ACTIONS} >= {
        "revoke_all_sessions",
        "revoke_selected",
        "clear_lockouts",
        "delete_selected",
    }


@pytest.mark.parametrize(("model", "name"), ACTIONS, ids=ACTION_IDS)
def test_every_action_declares_the_permissions_it_needs(model, name):
    model_admin = admin.site.get_model_admin(model)
    function = model_admin.get_action(name)[0]
    declared = getattr(function, "allowed_permissions", ())
    assert declared, f"{model.__name__}.{name} declares no permission"
    for permission in declared:
        assert callable(getattr(model_admin, f"has_{permission}_permission", None))


def test_a_view_only_user_is_offered_no_action(world, staff_client):
    staff_client(*perms("view"))
    request = RequestFactory().get("/admin/")
    request.user = User.objects.get(username="helpdesk")
    for model in KIT_MODELS:
        assert admin.site.get_model_admin(model).get_actions(request) == {}, model


@pytest.mark.parametrize(("model", "name"), ACTIONS, ids=ACTION_IDS)
def test_a_view_only_user_cannot_run_any_action(world, staff_client, signed_in, post, model, name):
    client = staff_client(*perms("view"))
    before = snapshot()
    pks = ordinary_pks(world, model)

    response = post(
        client, changelist(model), {"action": name, "_selected_action": pks, "post": "yes"}
    )

    assert response.status_code in (200, 302, 403)
    assert not [m for m in shown_messages(response) if m[0] == "success"]
    assert snapshot() == before
    assert signed_in("root")
    assert signed_in("ada")


@pytest.mark.parametrize("model", KIT_MODELS, ids=lambda m: m.__name__)
def test_a_view_only_user_cannot_change_anything_through_any_admin_url(
    world, staff_client, signed_in, post, model
):
    client = staff_client(*perms("view"))
    before = snapshot()
    for pk in model._default_manager.values_list("pk", flat=True):
        for url in admin_urls(model, pk):
            response = post(client, url, MUTATING_PAYLOAD)
            assert response.status_code < 500, url
            if re.search(r"/(add|change|delete|password)/$", url):
                assert response.status_code == 403, url
    assert snapshot() == before
    assert signed_in("root")
    assert signed_in("ada")


def test_view_user_alone_cannot_revoke_sessions_but_the_declared_permission_can(
    world, staff_client, signed_in, post
):
    action = {"action": "revoke_all_sessions", "_selected_action": [world.ada.pk]}
    client = staff_client("accounts.view_user")
    post(client, changelist(User), action)
    assert signed_in("ada")

    client = staff_client("accounts.view_user", "accounts.change_devicesession", username="lead")
    response = post(client, changelist(User), action)
    assert shown_messages(response) == [("success", "Revoked 1 device session(s).")]
    assert not signed_in("ada")


@pytest.mark.parametrize(("model", "name"), ACTIONS, ids=ACTION_IDS)
def test_staff_with_every_kit_permission_can_run_each_action_on_ordinary_users(
    world, staff_client, post, model, name
):
    client = staff_client(*perms("add", "change", "delete", "view"))
    before = snapshot()
    pks = ordinary_pks(world, model)

    post(client, changelist(model), {"action": name, "_selected_action": pks, "post": "yes"})

    assert snapshot() != before


@pytest.mark.parametrize(("model", "name"), ACTIONS, ids=ACTION_IDS)
def test_no_action_of_a_non_superuser_ends_a_superusers_sessions(
    world, staff_client, signed_in, post, model, name
):
    """Everything selected (a superuser among ordinary users): the whole action is refused
    where it would reach the superuser; ada is untouched too."""
    client = staff_client(*perms("add", "change", "delete", "view"))
    pks = [str(pk) for pk in model._default_manager.values_list("pk", flat=True)]

    response = post(
        client, changelist(model), {"action": name, "_selected_action": pks, "post": "yes"}
    )

    assert response.status_code in (200, 302, 403)
    assert signed_in("root")
    assert DeviceSession.objects.filter(user=world.root, revoked_at__isnull=True).exists()
    assert User.objects.filter(pk=world.root.pk, is_active=True).exists()
    if model in (User, DeviceSession):
        assert signed_in("ada")
        assert all(level != "success" for level, _ in shown_messages(response))


def test_the_refusal_says_why(world, staff_client, post):
    client = staff_client(*perms("change", "view"))
    response = post(
        client,
        changelist(User),
        {"action": "revoke_all_sessions", "_selected_action": [world.root.pk, world.ada.pk]},
    )
    assert shown_messages(response) == [
        (
            "error",
            "Only a superuser can end a superuser's sessions; nothing was changed "
            "(superusers selected: root).",
        )
    ]


@pytest.mark.parametrize("model", [User, DeviceSession], ids=lambda m: m.__name__)
def test_no_admin_url_lets_a_non_superuser_change_a_superuser(
    world, staff_client, signed_in, post, model
):
    client = staff_client(*perms("add", "change", "delete", "view"))
    before = snapshot()
    obj = world.root if model is User else world.root.device_sessions.get()
    for url in admin_urls(model, obj.pk):
        assert post(client, url, MUTATING_PAYLOAD).status_code < 500, url
    assert snapshot() == before
    assert signed_in("root")


def _user_change_form(user, **changes):
    session = user.device_sessions.get()
    return {
        "username": user.username,
        "email": user.email,
        "first_name": "",
        "last_name": "",
        "is_active": "on",
        "is_staff": "on" if user.is_staff else "",
        "is_superuser": "on" if user.is_superuser else "",
        "date_joined_0": "2024-01-01",
        "date_joined_1": "00:00:00",
        "device_sessions-TOTAL_FORMS": "1",
        "device_sessions-INITIAL_FORMS": "1",
        "device_sessions-MIN_NUM_FORMS": "0",
        "device_sessions-MAX_NUM_FORMS": "1000",
        "device_sessions-0-id": str(session.pk),
        "device_sessions-0-user": str(user.pk),
        **changes,
    }


def test_only_a_superuser_deactivates_a_superuser(
    world, make_user, client, staff_client, signed_in, post
):
    url = reverse("admin:accounts_user_change", args=[world.root.pk])
    form = _user_change_form(world.root, is_active="")

    refused = post(staff_client(*perms("change", "view")), url, form)
    assert refused.status_code == 403
    assert signed_in("root")

    client.force_login(make_user(username="chief", is_staff=True, is_superuser=True))
    assert post(client, url, form).status_code == 302
    assert not signed_in("root")


def test_a_non_superuser_cannot_make_anyone_a_superuser(world, staff_client, post):
    client = staff_client(*perms("change", "view"))
    url = reverse("admin:accounts_user_change", args=[world.ada.pk])
    response = post(client, url, _user_change_form(world.ada, is_superuser="on", is_staff="on"))
    assert response.status_code == 302  # the rest of the form is saved
    ada = User.objects.get(pk=world.ada.pk)
    assert ada.is_staff
    assert not ada.is_superuser


def test_a_superuser_can_end_another_superusers_sessions(world, client, make_user, signed_in, post):
    client.force_login(make_user(username="chief", is_staff=True, is_superuser=True))
    response = post(
        client,
        changelist(User),
        {"action": "revoke_all_sessions", "_selected_action": [world.root.pk, world.ada.pk]},
    )
    assert shown_messages(response) == [("success", "Revoked 2 device session(s).")]
    assert not signed_in("root")
    assert not signed_in("ada")


@pytest.mark.parametrize("way", ["delete page", "delete_selected"])
def test_deleting_a_session_in_the_admin_revokes_it_at_once(
    shared_key_cache, world, client, signed_in, post, way
):
    """With a shared cache (Redis) holding the session as active, a bare row delete would
    leave its access tokens working until they expire."""
    client.force_login(world.root)
    session = world.ada.device_sessions.get()
    assert signed_in("ada")  # the session's state is now in the cache too
    if way == "delete page":
        url = reverse("admin:accounts_devicesession_delete", args=[session.pk])
        data = {"post": "yes"}
    else:
        url = changelist(DeviceSession)
        data = {"action": "delete_selected", "_selected_action": [session.pk], "post": "yes"}
    assert post(client, url, data).status_code == 302
    assert not DeviceSession.objects.filter(pk=session.pk).exists()
    assert not signed_in("ada")


def _secret_value(model, name):
    return model._default_manager.exclude(**{name: ""}).values_list(name, flat=True).first()


@pytest.mark.parametrize(
    ("admin_model", "lookup", "secret_model", "name"),
    SECRET_LOOKUPS,
    ids=[f"{case[0].__name__}?{case[1]}" for case in SECRET_LOOKUPS],
)
def test_no_changelist_filter_reads_a_secret(
    world, client, admin_model, lookup, secret_model, name
):
    """`?hashed_secret__startswith=ab` would answer "does the hash start with ab?": refused
    (400) whatever the prefix, so a right and a wrong guess look the same."""
    if secret_model is DeviceSession and name == "previous_refresh_jti":
        DeviceSession.objects.update(previous_refresh_jti="0123456789abcdef" * 2)
    client.force_login(world.root)
    secret = _secret_value(secret_model, name)
    right, wrong = secret[:3], "~~~"

    answers = [
        client.get(changelist(admin_model), {f"{lookup}__startswith": prefix})
        for prefix in (right, wrong)
    ]

    assert [a.status_code for a in answers] == [400, 400]
    assert answers[0].content == answers[1].content


@pytest.mark.parametrize("model", KIT_MODELS, ids=lambda m: m.__name__)
def test_search_never_matches_a_secret(world, client, model):
    DeviceSession.objects.update(previous_refresh_jti="0123456789abcdef" * 2)
    client.force_login(world.root)
    for secret_model, name in SECRET_FIELDS:
        secret = _secret_value(secret_model, name)
        for term in (secret, secret[:8]):
            page = client.get(changelist(model), {"q": term})
            assert page.status_code == 200
            assert page.context["cl"].result_count == 0, (secret_model, name)


@pytest.mark.parametrize("model", KIT_MODELS, ids=lambda m: m.__name__)
def test_no_list_filter_search_or_page_shows_a_secret(world, client, model):
    client.force_login(world.root)
    model_admin = admin.site.get_model_admin(model)
    request = RequestFactory().get("/admin/")
    request.user = world.root
    obj = model._default_manager.first()
    listed = [
        *model_admin.get_list_display(request),
        *[f for f in model_admin.get_list_filter(request) if isinstance(f, str)],
        *[f.lstrip("^=@") for f in model_admin.get_search_fields(request)],
        *model_admin.get_readonly_fields(request, obj),
    ]
    assert not [f for f in listed if isinstance(f, str) and reaches_secret(model, f)]

    pages = [
        changelist(model),
        reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_change", args=[obj.pk]),
    ]
    for secret_model, name in SECRET_FIELDS:
        for value in secret_model._default_manager.exclude(**{name: ""}).values_list(
            name, flat=True
        ):
            secret = value.rsplit("$", 1)[-1]  # a password hash: its digest part
            for page in pages:
                assert secret not in client.get(page).content.decode(), (page, name)


def test_clearing_a_lockout_is_audited_with_the_admin_as_actor(world, client, post):
    client.force_login(world.root)
    lockout = Lockout.objects.get()
    post(
        client, changelist(Lockout), {"action": "clear_lockouts", "_selected_action": [lockout.pk]}
    )

    assert not Lockout.objects.exists()
    event = AuthEvent.objects.get(kind="lockout_cleared")
    assert (event.actor, event.username) == ("root", "mallory")
    assert (event.detail["lockout"], event.detail["value"]) == ("account", "mallory")


def test_deleting_a_lockout_from_its_page_is_audited_too(world, staff_client, post):
    client = staff_client("accounts.view_lockout", "accounts.delete_lockout")
    lockout = Lockout.objects.get()
    response = post(
        client, reverse("admin:accounts_lockout_delete", args=[lockout.pk]), {"post": "yes"}
    )

    assert response.status_code == 302
    assert not Lockout.objects.exists()
    assert AuthEvent.objects.get(kind="lockout_cleared").actor == "helpdesk"
