"""axe-core on every page, respondent and staff: no serious or critical violation."""

from __future__ import annotations

from datetime import date

from axe_playwright_python.sync_playwright import Axe

from ..test_dashboard import add_varied, make_account
from .conftest import page_count, press, sign_in
from .test_respondent import error_page
from .test_staff import wait_for_charts

APRIL = date(2026, 4, 1)
BLOCKING = ("serious", "critical")


class Audit:
    def __init__(self):
        self.axe = Axe()
        self.found: list[str] = []
        self.pages: list[str] = []

    def __call__(self, page, where: str) -> None:
        results = self.axe.run(page)
        self.pages.append(where)
        for violation in results.response["violations"]:
            if violation["impact"] in BLOCKING:
                targets = "; ".join(
                    " ".join(map(str, node["target"])) for node in violation["nodes"][:6]
                )
                self.found.append(
                    f"{where} [{page.url}]: {violation['id']} "
                    f"({violation['impact']}, {len(violation['nodes'])} nodes): "
                    f"{violation['help']} -> {targets}"
                )

    def check(self) -> None:
        assert self.found == [], "axe found serious or critical violations:\n" + "\n".join(
            self.found
        )


def test_respondent_pages_have_no_serious_accessibility_violation(browsing):
    audit = Audit()
    page = browsing.phone()
    for where, path in (
        ("front", "/"),
        ("front, nothing found", "/?q=zzz"),
        ("start", "/k/bodo"),
        ("thank-you", "/k/bodo/takk"),
        ("privacy", "/personvern"),
        ("404", "/finnes-ikke"),
        ("404 office", "/k/finnes-ikke"),
        ("closed office", "/k/stengt"),
    ):
        page.goto(path)
        audit(page, where)
    page.goto("/k/bodo")
    press(page, "Start")
    audit(page, "questionnaire page 1")
    error_page(page)
    audit(page, "questionnaire page 1 with an error")
    page.locator("input[name=med_spurt]").first.check()
    for index in range(1, page_count()):
        press(page, "Neste")
        audit(page, f"questionnaire page {index + 1}")
    press(page, "Nynorsk")
    audit(page, "last questionnaire page in nynorsk")
    audit.check()


def test_staff_pages_have_no_serious_accessibility_violation(browsing):
    app = browsing.server.app
    with app.app_context():
        add_varied("bodo", APRIL, 30)
        add_varied("tromso", APRIL, 12)
        make_account("leder", "leder", "bodo")
        make_account("admin", "admin")
    audit = Audit()
    page = browsing.desktop()
    page.goto("/logg-inn")
    audit(page, "login")
    page.fill("#username", "admin")
    page.fill("#password", "galt")
    press(page, "Logg inn")
    audit(page, "login with an error")

    sign_in(page, "leder", "/resultater/kontor/bodo")
    wait_for_charts(page)
    audit(page, "office dashboard")

    admin = browsing.desktop()
    sign_in(admin, "admin", "/resultater/oversikt")
    wait_for_charts(admin)
    audit(admin, "overview")
    for where, path in (("export", "/eksport/"), ("codebook", "/eksport/kodebok")):
        admin.goto(path)
        audit(admin, where)
    # An export first, so that the audit log has a row to show.
    download = admin.request.get("/eksport/svar.csv")
    assert download.ok
    download.dispose()
    admin.goto("/admin/revisjon")
    assert admin.locator("main table tbody td[colspan]").count() == 0  # not "no events"
    audit(admin, "audit log")
    audit.check()
