"""The account page for a person: each destructive button says what it ends (its own
accessible name per row), looks destructive (never the primary style), and asks first
through a script file (the CSP forbids inline script)."""

import re

import pytest

pytestmark = pytest.mark.django_db


@pytest.fixture
def page(user, signed_in_browser, sign_in):
    sign_in(device_id="phone-1", device_name="Ada's phone")
    sign_in(device_id="laptop", device_name="Firefox on Linux")
    return signed_in_browser(user).get("/accounts/").content.decode()


def _buttons(page):
    return re.findall(r"<form ([^>]*)>.*?<button ([^>]*)>([^<]*)</button>", page, re.S)


def test_each_revoke_button_names_its_device(page):
    labels = [
        re.search(r'aria-label="([^"]*)"', button).group(1)
        for _, button, text in _buttons(page)
        if text == "Revoke"
    ]
    assert len(labels) == 2
    assert any(label.startswith("Revoke Ada&#x27;s phone, last used ") for label in labels)
    assert any(label.startswith("Revoke Firefox on Linux, last used ") for label in labels)


def test_destructive_buttons_look_destructive_and_ask_first(page):
    destructive = [b for b in _buttons(page) if b[2] in ("Revoke", "Sign out everywhere")]
    assert len(destructive) == 3
    for form, button, _ in destructive:
        assert 'class="danger' in button
        assert re.search(r'data-confirm="[^"]+\?', form)


def test_the_confirmation_is_a_script_file_not_inline(page, client, settings):
    assert re.findall(r"<script[^>]*>[^<]*", page) == [
        '<script src="/static/accounts/confirm.js" defer>',
        '<script src="/static/accounts/passkey-add.js" defer>',
    ]
    assert "data-confirm" in (settings.BASE_DIR / "static/accounts/confirm.js").read_text()


def test_the_danger_style_is_not_the_primary_one(settings):
    css = (settings.BASE_DIR / "static/kit.css").read_text()
    rule = re.search(r"button\.danger \{([^}]*)\}", css).group(1)
    assert "var(--bad)" in rule
    assert "var(--accent)" not in rule
