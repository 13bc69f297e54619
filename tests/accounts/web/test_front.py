"""The front page at `/`: where a signed-out, a signed-in and a staff visitor go next."""

import pytest
from django.test import Client

pytestmark = pytest.mark.django_db


def _links(response):
    return response.content.decode()


def test_a_signed_out_visitor_is_offered_sign_in_docs_and_health():
    response = Client().get("/")
    assert response.status_code == 200
    page = _links(response)
    assert 'href="/accounts/login/"' in page
    assert 'href="/api/docs/"' in page
    assert 'href="/api/schema/"' in page
    assert 'href="/healthz"' in page
    assert 'href="/accounts/"' not in page.replace('class="brand" href="/"', "")
    assert 'href="/admin/"' not in page


def test_a_signed_in_visitor_is_offered_the_account_page_not_sign_in(user, signed_in_browser):
    page = _links(signed_in_browser(user).get("/"))
    assert 'href="/accounts/"' in page
    assert user.username in page
    assert 'href="/accounts/login/"' not in page
    assert 'href="/admin/"' not in page


def test_staff_are_offered_the_admin(superuser, signed_in_browser):
    assert 'href="/admin/"' in _links(signed_in_browser(superuser).get("/"))


def test_every_page_links_the_favicon_and_whitenoise_serves_it(client, settings):
    page = _links(client.get("/"))
    assert '<link rel="icon" href="/static/favicon.svg" type="image/svg+xml">' in page
    # As in development (runserver); in production collectstatic copies it to STATIC_ROOT.
    settings.WHITENOISE_USE_FINDERS = settings.WHITENOISE_AUTOREFRESH = True
    favicon = Client().get("/static/favicon.svg")
    assert favicon.status_code == 200
    assert favicon["Content-Type"] == "image/svg+xml"
