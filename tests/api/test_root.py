"""GET /api/ and /api/v1/: public JSON with links to the schema and the docs."""

import pytest

pytestmark = pytest.mark.django_db

LINKS = {
    "version": "v1",
    "v1": "/api/v1/",
    "schema": "/api/schema/",
    "docs": "/api/docs/",
    "health": "/healthz",
}


@pytest.mark.parametrize("path", ["/api/", "/api/v1/"])
def test_the_api_roots_answer_json_links_without_credentials(api_client, path):
    response = api_client.get(path)
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    assert response.json() == LINKS


@pytest.mark.parametrize("path", ["/api/", "/api/v1/"])
def test_every_link_of_the_root_leads_somewhere(api_client, path):
    for name, link in api_client.get(path).json().items():
        if name != "version":
            assert api_client.get(link).status_code == 200, link
