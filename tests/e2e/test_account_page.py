"""The account page and the admin's device-session list in a real browser: a destructive
button asks first (a script file under the strict CSP), each names its device to a screen
reader, and the admin list shows every column at 1280 px."""

import re

import pytest

from accounts.models import DeviceSession

pytestmark = pytest.mark.browser


def _sign_in(page, live_server, username, password, path="/accounts/"):
    page.goto(f"{live_server.url}/accounts/login/?next={path}")
    page.get_by_label("Username or e-mail").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in", exact=True).click()
    page.wait_for_url(f"{live_server.url}{path}")


def test_revoke_asks_first_and_names_its_device(live_server, page, user, password, sign_in):
    sign_in(device_id="phone-1", device_name="Ada's phone")
    _sign_in(page, live_server, user.username, password)
    revoke = page.get_by_role("button", name=re.compile(r"^Revoke Ada's phone, last used "))
    messages = []

    def answer(dialog):
        messages.append(dialog.message)
        dialog.dismiss() if len(messages) == 1 else dialog.accept()

    page.on("dialog", answer)
    revoke.click()  # dismissed: nothing is sent
    assert messages == ["Sign out Ada's phone? It will have to sign in again."]
    assert DeviceSession.objects.get(device_id="phone-1").revoked_at is None
    revoke.click()  # accepted
    page.wait_for_load_state()
    assert page.get_by_text("Ada's phone is signed out.").is_visible()
    assert DeviceSession.objects.get(device_id="phone-1").revoke_reason == "user"


def test_the_admin_device_session_list_shows_every_column_at_1280px(
    live_server, browser, make_user, password, sign_in, artifacts
):
    admin = make_user(username="chief", is_staff=True, is_superuser=True)
    for device_id in ("phone-1", "tablet", "laptop"):
        sign_in(device_id=device_id, device_name=f"Ada's {device_id}")
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    page = context.new_page()
    _sign_in(page, live_server, admin.username, password, "/admin/accounts/devicesession/")
    widths = page.evaluate(
        "() => [document.querySelector('#result_list').scrollWidth,"
        " document.querySelector('#changelist .results').clientWidth]"
    )
    page.screenshot(path=str(artifacts / "admin-device-sessions.png"), full_page=True)
    context.close()
    assert widths[0] <= widths[1], f"the table is {widths[0]} px in {widths[1]} px"
