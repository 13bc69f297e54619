"""Headless Chromium (Debian's, driven by Playwright's sync API) against a live server.

Tests run with DEBUG off, so static files come from whitenoise, told here to find them
in the source folders (no collectstatic needed).
"""

from pathlib import Path

import pytest

from tests.conftest import CHROMIUM, CHROMIUM_ARGS

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"


@pytest.fixture(scope="package", autouse=True)
def _whitenoise_serves_source_static_files():
    """Before the live server builds its middleware (it is session-scoped), and only
    while this package's tests run: the suites after it see the production settings."""
    from django.test import override_settings

    with override_settings(WHITENOISE_USE_FINDERS=True, WHITENOISE_AUTOREFRESH=True):
        yield


@pytest.fixture(scope="module")
def browser():
    """One Chromium per test module. Playwright's sync API keeps an event loop running in
    this thread while it lives, which Django's async-safety check would take for async
    code calling the ORM (the test database setup, the tests' fixtures); the check is off
    for exactly that long. The live server answers from its own thread."""
    from playwright.sync_api import sync_playwright

    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
        with sync_playwright() as playwright:
            chromium = playwright.chromium.launch(
                executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
            )
            yield chromium
            chromium.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 390, "height": 780})  # a phone
    page = context.new_page()
    page.set_default_timeout(10_000)
    yield page
    context.close()


@pytest.fixture
def artifacts():
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS
