#!/usr/bin/env python3
"""The screenshots in docs/screenshots/: the front page, sign-in, the account page and
the admin's device-session list at 1280 px, taken with Playwright's Chromium against a
running kit. Run with the test requirements installed (Playwright), against `make run`
with a superuser and a few signed-in devices:

    .venv/bin/python scripts/screenshots.py --base http://127.0.0.1:8000 \\
        --username ada --password correct-horse-battery-staple
"""

import argparse
import os
import shutil
from pathlib import Path

from playwright.sync_api import sync_playwright

OUT = Path(__file__).resolve().parents[1] / "docs" / "screenshots"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking"]
FIREFOX_ON_LINUX = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--base", default="http://127.0.0.1:8000")
    parser.add_argument("--username", required=True)
    parser.add_argument("--password", required=True)
    args = parser.parse_args()
    OUT.mkdir(parents=True, exist_ok=True)
    chromium = os.environ.get("CHROMIUM_PATH") or shutil.which("chromium")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=chromium, headless=True, args=CHROMIUM_ARGS
        )
        page = browser.new_page(
            viewport={"width": 1280, "height": 800}, user_agent=FIREFOX_ON_LINUX
        )
        page.goto(f"{args.base}/")
        page.screenshot(path=OUT / "front-page.png", full_page=True)
        page.goto(f"{args.base}/accounts/login/")
        page.screenshot(path=OUT / "sign-in.png", full_page=True)
        page.fill("input[name=username]", args.username)
        page.fill("input[name=password]", args.password)
        page.click("button[type=submit]")
        page.wait_for_url(f"{args.base}/accounts/")
        page.screenshot(path=OUT / "account.png", full_page=True)
        page.goto(f"{args.base}/")
        page.screenshot(path=OUT / "front-page-signed-in.png", full_page=True)
        page.goto(f"{args.base}/admin/accounts/devicesession/")
        page.screenshot(path=OUT / "admin-device-sessions.png", full_page=True)
        browser.close()
    print(f"Screenshots in {OUT}")


if __name__ == "__main__":
    main()
