"""Screenshots of the main pages on a phone (360×740) and a desktop (1280×900), saved
under test-artifacts/screenshots/ (git-ignored) for a human to look at."""

from __future__ import annotations

import struct
from datetime import date

import pytest

from ..test_dashboard import add_varied, make_account
from .conftest import DESKTOP, PHONE, press, screenshot, sign_in
from .test_respondent import error_page
from .test_staff import wait_for_charts

APRIL = date(2026, 4, 1)


def png_width(path) -> int:
    with open(path, "rb") as handle:
        header = handle.read(24)
    assert header[:8] == b"\x89PNG\r\n\x1a\n"
    return struct.unpack(">I", header[16:20])[0]


@pytest.mark.parametrize("size, options", [("phone", PHONE), ("desktop", DESKTOP)])
def test_screenshots_of_the_main_pages(browsing, size, options):
    with browsing.server.app.app_context():
        add_varied("bodo", APRIL, 30)
        add_varied("tromso", APRIL, 12, index=45.0)
        make_account("admin", "admin")
    saved = []
    page = browsing.page(options)
    page.goto("/k/bodo")
    saved.append(screenshot(page, f"start-{size}"))
    press(page, "Start")
    saved.append(screenshot(page, f"questionnaire-{size}"))
    error_page(page)
    saved.append(screenshot(page, f"error-{size}"))
    page.goto("/k/bodo/takk")
    saved.append(screenshot(page, f"thanks-{size}"))

    # The administrator sees the same office page as its leader.
    admin = browsing.page(options)
    sign_in(admin, "admin", "/resultater/kontor/bodo")
    wait_for_charts(admin)
    saved.append(screenshot(admin, f"office-{size}"))
    admin.goto("/resultater/oversikt")
    wait_for_charts(admin)
    saved.append(screenshot(admin, f"overview-{size}"))
    admin.goto("/eksport/")
    saved.append(screenshot(admin, f"export-{size}"))

    # Full-page shots are as wide as the page: at least the viewport. (Staff pages may be
    # wider than a phone; only respondent pages must fit 360 px, tested elsewhere.)
    width = options["viewport"]["width"]
    for path in saved:
        assert path.stat().st_size > 1000 and png_width(path) >= width, path
