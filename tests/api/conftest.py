import pytest

TOKEN_URL = "/api/v1/auth/token/"
REFRESH_URL = "/api/v1/auth/token/refresh/"


@pytest.fixture
def sign_in(api_client, user, password):
    """POST /auth/token/ for `user` (or `username=`); returns the response."""

    def _sign_in(device_id="phone-1", username=None, expect=200, client=None, **extra):
        body = {"username": username or user.username, "password": password, **extra}
        if device_id is not None:
            body["device_id"] = device_id
        response = (client or api_client).post(TOKEN_URL, body, format="json")
        assert response.status_code == expect, response.content
        return response

    return _sign_in


@pytest.fixture
def bearer():
    """Headers for an access token: `client.get(url, **bearer(access))`."""

    def _bearer(access):
        return {"HTTP_AUTHORIZATION": f"Bearer {access}"}

    return _bearer


@pytest.fixture
def refresh(api_client):
    def _refresh(refresh_token, device_id="phone-1"):
        return api_client.post(
            REFRESH_URL, {"refresh": refresh_token, "device_id": device_id}, format="json"
        )

    return _refresh
