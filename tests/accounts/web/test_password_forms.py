"""Every form with a password field posts: a form without method="post" sends its fields
in the URL (history, access logs, Referer) when submitted without JavaScript."""

from html.parser import HTMLParser
from pathlib import Path

import pytest
from django.conf import settings
from django.urls import URLPattern, URLResolver, get_resolver
from django.urls.resolvers import RoutePattern

from accounts.users.passwords import reset_link_context

TEMPLATES = Path(settings.BASE_DIR) / "templates"


class PasswordForms(HTMLParser):
    """Collects each <form> holding an <input type="password">, with its method."""

    def __init__(self):
        super().__init__()
        self.open_forms = []  # [attrs, holds_a_password]
        self.found = []  # (form attrs, method)

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "form":
            self.open_forms.append([attrs, False])
        elif tag == "input" and (attrs.get("type") or "").lower() == "password":
            if self.open_forms:
                self.open_forms[-1][1] = True
            else:
                self.found.append(({"input": attrs.get("name")}, "no form"))

    def handle_endtag(self, tag):
        if tag == "form" and self.open_forms:
            attrs, holds_a_password = self.open_forms.pop()
            if holds_a_password:
                self.found.append((attrs, (attrs.get("method") or "get").lower()))


def forms_not_posting(html):
    parser = PasswordForms()
    parser.feed(html)
    parser.close()
    return [attrs for attrs, method in parser.found if method != "post"]


def password_forms(html):
    parser = PasswordForms()
    parser.feed(html)
    parser.close()
    return parser.found


def test_the_checker_catches_a_form_without_method():
    assert forms_not_posting('<form id="x"><input type="password" name="p"></form>')
    assert forms_not_posting('<form method="get"><input type="PASSWORD"></form>')
    assert not forms_not_posting('<form method="POST"><input type="password"></form>')
    assert not forms_not_posting('<form><input type="text"></form>')


@pytest.mark.parametrize(
    "template", sorted(p.relative_to(TEMPLATES).as_posix() for p in TEMPLATES.rglob("*.html"))
)
def test_every_template_form_with_a_password_posts(template):
    assert forms_not_posting((TEMPLATES / template).read_text()) == []


# --- rendered pages ----------------------------------------------------------------------


def _routes_without_arguments(patterns, prefix=""):
    for entry in patterns:
        if not isinstance(entry.pattern, RoutePattern) or entry.pattern.converters:
            continue
        route = prefix + str(entry.pattern)
        if isinstance(entry, URLResolver):
            yield from _routes_without_arguments(entry.url_patterns, route)
        elif isinstance(entry, URLPattern):
            yield "/" + route


@pytest.fixture
def signup_open(settings):
    settings.ACCOUNTS = {**settings.ACCOUNTS, "ALLOW_SIGNUP": True}


@pytest.mark.django_db
@pytest.mark.usefixtures("signup_open")
def test_every_page_with_a_password_field_posts_it(client, make_user):
    """Every route without arguments, anonymous and as a superuser, plus the pages that
    take one (reset link, the admin's set-password page)."""
    root = make_user(username="root", is_staff=True, is_superuser=True)
    link = reset_link_context(root)
    pages = sorted(set(_routes_without_arguments(get_resolver().url_patterns)))
    with_arguments = [
        f"/accounts/reset/{link['uid']}/{link['token']}/",
        f"/admin/accounts/user/{root.pk}/password/",
    ]
    seen = {}
    for signed_in in (False, True):
        if signed_in:
            client.force_login(root)
        for page in pages + with_arguments:
            response = client.get(page, follow=True)
            if "text/html" not in response.get("Content-Type", ""):
                continue
            html = response.content.decode()
            seen[(page, signed_in)] = password_forms(html)
            assert forms_not_posting(html) == [], page
    # The sweep did meet the password forms it is about.
    holding = {page for (page, _), forms in seen.items() if forms}
    assert {
        "/accounts/login/",
        "/accounts/signup/",
        "/accounts/spa-demo/",
        "/accounts/password_change/",
        "/admin/login/",
        "/admin/accounts/user/add/",
        *with_arguments,
    } <= holding


@pytest.mark.django_db
def test_a_password_posted_to_the_spa_demo_is_not_read_nor_kept(client, caplog):
    """Without JavaScript the demo's form posts to the page itself: the page comes back,
    nothing signs in, the password is in no URL and no log line."""
    client.get("/accounts/spa-demo/")
    secret = "hunter2-not-in-any-log"
    response = client.post(
        "/accounts/spa-demo/",
        {
            "csrfmiddlewaretoken": client.cookies["csrftoken"].value,
            "username": "root",
            "password": secret,
        },
    )
    assert response.status_code == 200
    assert secret not in response.content.decode()
    assert "_auth_user_id" not in client.session
    assert secret not in caplog.text
