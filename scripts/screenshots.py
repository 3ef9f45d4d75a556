"""Screenshots for the README: respondent pages at phone size, an office leader's page,
administration pages and the printed poster.

Usage: start the demo (``flask demo``), then
    .venv/bin/pip install playwright && .venv/bin/python scripts/screenshots.py [base-url]
Drives Debian's Chromium (``apt-get install chromium``); Playwright's own browser
download is not needed.
"""

from __future__ import annotations

import sys
from pathlib import Path

from playwright.sync_api import sync_playwright

BASE = sys.argv[1] if len(sys.argv) > 1 else "http://127.0.0.1:5000"
OUT = Path(__file__).resolve().parent.parent / "docs" / "screenshots"
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=ARGS)
        phone = browser.new_context(
            viewport={"width": 360, "height": 740},
            device_scale_factor=2,
            is_mobile=True,
            has_touch=True,
            locale="nb-NO",
        )
        page = phone.new_page()
        page.goto(f"{BASE}/k/bodo")
        page.screenshot(path=OUT / "start-phone.png")
        page.get_by_role("button", name="Start").click()
        page.get_by_label("Veilederen min og jeg planla og bestemte sammen.").check()
        page.screenshot(path=OUT / "ladder-phone.png")
        page.get_by_role("button", name="Nynorsk").click()
        # A tampered value, as a broken client might send, shows the error beside its field.
        page.evaluate("document.querySelector('input[name=med_spurt]').value = '9'")
        page.locator("input[name=med_spurt]").first.check()
        page.get_by_role("button", name="Neste").first.click()
        page.locator(".has-error").first.scroll_into_view_if_needed()
        page.screenshot(path=OUT / "error-nn-phone.png")

        desktop = browser.new_context(viewport={"width": 1280, "height": 900}, locale="nb-NO")
        page = desktop.new_page()
        page.goto(f"{BASE}/resultater/")
        page.fill("#username", "leder")
        page.fill("#password", "stigen-leder")
        page.get_by_role("button", name="Logg inn").click()
        page.wait_for_selector(".chart .main-svg")
        page.wait_for_timeout(500)
        page.screenshot(
            path=OUT / "office-desktop.png",
            full_page=False,
            clip={"x": 0, "y": 0, "width": 1280, "height": 1500},
        )

        # Administration, as admin: the poster, an office's page and the moderation queue.
        admin = browser.new_context(viewport={"width": 1280, "height": 900}, locale="nb-NO")
        page = admin.new_page()
        page.goto(f"{BASE}/logg-inn?next=/admin/")
        page.fill("#username", "admin")
        page.fill("#password", "stigen-admin")
        page.get_by_role("button", name="Logg inn").click()
        page.goto(f"{BASE}/admin/kontor/bodo")
        page.screenshot(path=OUT / "admin-office-desktop.png")
        page.goto(f"{BASE}/admin/moderering")
        page.screenshot(path=OUT / "moderation-desktop.png")
        page.emulate_media(media="print")
        page.goto(f"{BASE}/admin/kontor/bodo/plakat")
        page.set_viewport_size({"width": 794, "height": 1123})  # A4 at 96 dpi
        page.screenshot(path=OUT / "poster-print.png")

        page = browser.new_context(
            viewport={"width": 360, "height": 740},
            device_scale_factor=2,
            is_mobile=True,
            locale="nb-NO",
        ).new_page()
        page.goto(f"{BASE}/k/bodo/resultater?lang=nb")
        page.screenshot(path=OUT / "public-office-phone.png", full_page=True)
        browser.close()
    print(f"screenshots written to {OUT}")


if __name__ == "__main__":
    main()
