"""Branded HTML 404/403/500 pages outside /api/, the contract's JSON inside it, and the
docs page's way to the schema without JavaScript."""

import pytest
from django.core.exceptions import PermissionDenied
from django.test import Client
from django.urls import path

from config.urls import handler400, handler403, handler404, handler500
from config.urls import urlpatterns as _site

pytestmark = pytest.mark.django_db


def _fail(request):
    raise RuntimeError("boom")


def _deny(request):
    raise PermissionDenied


urlpatterns = [
    path("fail/", _fail),
    path("api/v1/fail/", _fail),
    path("deny/", _deny),
    *_site,
]
__all__ = ["handler400", "handler403", "handler404", "handler500", "urlpatterns"]


@pytest.fixture
def failing_client(settings):
    settings.ROOT_URLCONF = __name__
    return Client(raise_request_exception=False)


def _is_branded(response, title):
    page = response.content.decode()
    assert response["Content-Type"].startswith("text/html")
    assert f"<h1>{title}</h1>" in page
    assert 'href="/static/kit.css"' in page
    assert 'class="brand" href="/"' in page


def test_an_unknown_page_is_the_branded_404(client):
    response = client.get("/no/such/page/")
    assert response.status_code == 404
    _is_branded(response, "Page not found")


def test_an_unknown_api_route_is_the_contracts_json_404(client):
    response = client.get("/api/v1/no/such/route/")
    assert (response.status_code, response.json()["code"]) == (404, "not_found")


def test_a_server_error_is_the_branded_500(failing_client):
    response = failing_client.get("/fail/")
    assert response.status_code == 500
    _is_branded(response, "Something went wrong")
    assert "boom" not in response.content.decode()


def test_a_server_error_under_the_api_is_json(failing_client):
    response = failing_client.get("/api/v1/fail/")
    assert (response.status_code, response.json()["code"]) == (500, "server_error")


def test_a_refused_page_is_the_branded_403(failing_client):
    response = failing_client.get("/deny/")
    assert response.status_code == 403
    _is_branded(response, "Access denied")


def test_the_docs_page_links_the_raw_schema_for_readers_without_javascript(client):
    page = client.get("/api/docs/").content.decode()
    noscript = page[page.index("<noscript>") : page.index("</noscript>")]
    assert 'href="/api/schema/"' in noscript
    assert 'href="/api/schema/?format=json"' in noscript
    assert "<style" not in page
    assert "<script>" not in page
