"""The account page lists the user's signed-in browsers beside their devices: named from
the User-Agent, "this browser" marked, and gone once signed out (one by one, everywhere,
or by a new password)."""

import pytest
from django.test import Client

from accounts.models import BrowserSession

pytestmark = pytest.mark.django_db

FIREFOX = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"
CHROME_ANDROID = (
    "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/126.0 Mobile Safari/537.36"
)


@pytest.fixture
def browse(user, password):
    """browse(user_agent) -> a client signed in through the login page from that browser."""

    def _browse(user_agent, address="203.0.113.7"):
        client = Client(HTTP_USER_AGENT=user_agent, REMOTE_ADDR=address)
        response = client.post(
            "/accounts/login/", {"username": user.username, "password": password}
        )
        assert response.status_code == 302
        return client

    return _browse


def _browser_rows(client):
    page = client.get("/accounts/").content.decode()
    section = page[
        page.index('class="browser-sessions') : page.index(
            "</section>", page.index('class="browser-sessions')
        )
    ]
    return section.split("<tr>")[2:]  # after the header row


def test_each_signed_in_browser_is_listed_with_its_name_and_address(browse):
    laptop = browse(FIREFOX)
    browse(CHROME_ANDROID, address="198.51.100.2")
    rows = _browser_rows(laptop)
    assert len(rows) == 2
    mine = next(row for row in rows if "Firefox on Linux" in row)
    assert "this browser" in mine
    assert "203.0.113.7" in mine
    phone = next(row for row in rows if "Chrome on Android" in row)
    assert "this browser" not in phone
    assert "198.51.100.2" in phone


def test_another_users_browsers_are_not_listed(browse, make_user, signed_in_browser):
    laptop = browse(FIREFOX)
    signed_in_browser(make_user())
    assert len(_browser_rows(laptop)) == 1


def test_a_signed_out_browser_leaves_the_list(browse):
    laptop = browse(FIREFOX)
    phone = browse(CHROME_ANDROID)
    phone.post("/accounts/logout/")
    assert len(_browser_rows(laptop)) == 1


def test_sign_out_everywhere_leaves_only_this_browser(browse):
    laptop = browse(FIREFOX)
    browse(CHROME_ANDROID)
    laptop.post("/accounts/devices/sign-out-everywhere/")
    rows = _browser_rows(laptop)
    assert len(rows) == 1
    assert "this browser" in rows[0]


def test_a_session_whose_auth_hash_is_stale_is_not_listed_even_before_its_next_request(
    browse, user
):
    """The other browser's row is still in the table (it has not come back since), but
    its session would be refused: it is not shown as signed in."""
    laptop = browse(FIREFOX)
    browse(CHROME_ANDROID)
    laptop.post("/accounts/devices/sign-out-everywhere/")
    assert BrowserSession.objects.filter(user=user).count() == 2
    assert len(_browser_rows(laptop)) == 1
