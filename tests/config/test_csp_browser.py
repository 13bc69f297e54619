"""In a real browser, the pages and the API docs work under the Content-Security-Policy:
no violation is reported and Swagger UI renders the schema."""

import os

import pytest

from tests.conftest import CHROMIUM, CHROMIUM_ARGS

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def page():
    from playwright.sync_api import sync_playwright

    # Playwright's sync API runs an event loop in this thread; the test touches no database
    # while it runs, and the live server answers from its own thread.
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            page = browser.new_page()
            page.violations = []
            page.on(
                "console",
                lambda message: (
                    "Content Security Policy" in message.text
                    and page.violations.append(message.text)
                ),
            )
            yield page
            browser.close()
    finally:
        del os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"]


def test_api_docs_render_under_the_policy(live_server, page):
    page.goto(f"{live_server.url}/api/docs/")

    page.wait_for_selector(".swagger-ui .info .title", timeout=15_000)
    assert "Kit API" in page.inner_text(".swagger-ui .info .title")
    assert page.violations == []


@pytest.mark.parametrize("path", ["/accounts/login/", "/admin/login/"])
def test_sign_in_pages_load_without_violations(live_server, page, path):
    response = page.goto(f"{live_server.url}{path}")

    assert response.status == 200
    assert response.headers["content-security-policy"]
    page.wait_for_load_state("networkidle")
    assert page.violations == []
