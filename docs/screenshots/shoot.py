"""Screenshots of the demo shop's UI for docs/, from a running `make run`, in headless Chromium.

    .venv/bin/python docs/screenshots/shoot.py \
        "$(.venv/bin/storeflow login-link --store juniper-and-oak-demo.myshopify.com)"

Needs Playwright (`make test` installs it in .venv) and a Chromium (Debian's `chromium`; set
CHROMIUM to use another). It only talks HTTP to the app, as a merchant's browser does, and
writes <page>-desktop.png (1280 px wide) and <page>-phone.png (390 px) beside itself.
"""
from __future__ import annotations

import argparse
import os
import shutil
from pathlib import Path
from urllib.parse import urlsplit

from playwright.sync_api import sync_playwright

HERE = Path(__file__).parent
CHROMIUM = os.environ.get("CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
DESKTOP, PHONE = 1280, 390
# One screen, not the whole page: what a person sees first, and small files.
HEIGHT = {DESKTOP: 860, PHONE: 844}
NAME = {DESKTOP: "desktop", PHONE: "phone"}


def shoot(tab, url: str, name: str, widths=(DESKTOP,)) -> None:
    for width in widths:
        tab.set_viewport_size({"width": width, "height": HEIGHT[width]})
        response = tab.goto(url)
        assert response is not None and response.ok, f"{url} answered {response and response.status}"
        tab.wait_for_load_state("networkidle")  # emails size their iframe once loaded
        path = HERE / f"{name}-{NAME[width]}.png"
        tab.screenshot(path=str(path))
        print(f"{path.name}  {path.stat().st_size // 1024} KB")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("login_link", help="a sign-in link to the demo shop (storeflow login-link)")
    parser.add_argument("--customer", default="dan@example.com", help="whose timeline to show")
    args = parser.parse_args()
    parts = urlsplit(args.login_link)
    origin = f"{parts.scheme}://{parts.netloc}"
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, args=["--headless=new", "--no-sandbox", "--disable-gpu"])
        tab = browser.new_page()
        assert tab.goto(args.login_link).ok, "the sign-in link was refused (used, or over 15 minutes old)"
        shoot(tab, f"{origin}/app/", "overview", (DESKTOP, PHONE))
        shoot(tab, f"{origin}/app/flows", "flows")
        shoot(tab, f"{origin}/app/activity", "activity")
        shoot(tab, f"{origin}/app/activity?email={args.customer}", "customer-timeline")
        # The email they clicked through, with its opens and clicks.
        clicked = tab.locator("tr:has(.badge-clicked) a[href*='/activity/messages/']").first
        shoot(tab, origin + clicked.get_attribute("href"), "email")
        shoot(tab, f"{origin}/app/dev-inbox", "dev-inbox", (DESKTOP, PHONE))
        reminder = tab.locator("a[href*='/dev-inbox/']", has_text="cart is saved").first
        shoot(tab, origin + reminder.get_attribute("href"), "dev-inbox-email", (DESKTOP, PHONE))
        browser.close()


if __name__ == "__main__":
    main()
