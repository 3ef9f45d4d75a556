"""The leader's office page on a phone and a slow line (issue 16): what it transfers on a
first and a repeat visit, how soon its first chart is drawn, and charts that fit 360 px
with no label cut and no axis numbers running into each other.

The line is Chromium's own throttling, through its DevTools protocol: 1.6 Mbit/s down,
750 kbit/s up, 150 ms latency ("slow 4G"). Bytes are what came over the wire (compressed,
headers included), from the protocol's ``Network.loadingFinished`` events.
"""

from __future__ import annotations

import re
from datetime import date

import pytest

from .conftest import DESKTOP, PHONE, screenshot, sign_in
from .test_staff import seed

SLOW_4G = {
    "offline": False,
    "latency": 150,
    "downloadThroughput": 1_600_000 / 8,
    "uploadThroughput": 750_000 / 8,
}
BUDGET_BYTES = 1_000_000
BUDGET_SECONDS = 5.0
WIDE = {**DESKTOP, "viewport": {"width": 1366, "height": 900}}
OFFICE = "/resultater/kontor/bodo"
APRIL_ = date(2026, 4, 1)


class Wire:
    """Bytes over the wire per request, from the DevTools protocol."""

    def __init__(self, page):
        self.session = page.context.new_cdp_session(page)
        self.session.send("Network.enable")
        self.urls, self.bytes = {}, {}
        self.session.on(
            "Network.requestWillBeSent",
            lambda e: self.urls.__setitem__(e["requestId"], e["request"]["url"]),
        )
        self.session.on(
            "Network.loadingFinished",
            lambda e: self.bytes.__setitem__(e["requestId"], e["encodedDataLength"]),
        )

    def throttle(self):
        self.session.send("Network.emulateNetworkConditions", SLOW_4G)

    def clear_cache(self):
        self.session.send("Network.clearBrowserCache")

    def start(self):
        self.bytes.clear()

    def total(self) -> int:
        return sum(self.bytes.values())

    def requested(self) -> list[str]:
        """Requests that came over the network (not from the memory or disk cache)."""
        return sorted(self.urls.get(r, "?") for r, n in self.bytes.items() if n > 0)


# When the first chart, drawn by the server or by plotly, was on the screen; and when
# plotly had drawn its first. Polled in the page on every animation frame.
WATCH = """() => {
  window.__seen = {};
  const look = () => {
    const now = performance.now();
    const on = sel => [...document.querySelectorAll(sel)].some(e => e.getBoundingClientRect().height > 0);
    if (!window.__seen.chart && on('.chart .chart-sketch svg, .chart .main-svg')) { window.__seen.chart = now; }
    if (!window.__seen.plotly && on('.chart .main-svg')) { window.__seen.plotly = now; }
    if (!window.__seen.plotly) { requestAnimationFrame(look); }
  };
  look();
}"""


def chart_seconds(page) -> tuple[float, float]:
    """Seconds from the start of navigation to the first chart on the screen (the
    server's drawing or plotly's), and to plotly's first chart."""
    page.locator(".chart .main-svg").first.wait_for(state="visible", timeout=60_000)
    seen = page.evaluate("window.__seen")
    return seen["chart"] / 1000, seen["plotly"] / 1000


def visit(browsing, options, name):
    seed(browsing.server.app, bodo=30)
    page = browsing.page(options)
    # Signed in on the office page: the server has built this release's figures once, as
    # it has for any visit but the very first after a release; then an empty cache.
    sign_in(page, "leder", OFFICE)
    wire = Wire(page)
    wire.clear_cache()
    wire.throttle()

    page.add_init_script("(" + WATCH + ")()")  # from the first byte of every page
    wire.start()
    page.goto(OFFICE, wait_until="commit", timeout=60_000)
    seconds, plotly_seconds = chart_seconds(page)
    page.wait_for_load_state("networkidle", timeout=60_000)  # the icon comes after "load"
    first, first_requests = wire.total(), wire.requested()
    server = page.evaluate("performance.getEntriesByType('navigation')[0].responseStart")

    wire.start()
    page.goto(OFFICE, wait_until="commit", timeout=60_000)
    repeat_seconds, repeat_plotly = chart_seconds(page)
    page.wait_for_load_state("networkidle", timeout=60_000)
    repeat, repeat_requests = wire.total(), wire.requested()
    screenshot(page, f"office-throttled-{name}")
    print(
        f"\n{name}: first visit {first} bytes, first byte of the page {server / 1000:.2f} s, "
        f"first chart {seconds:.2f} s "
        f"(plotly's {plotly_seconds:.2f} s); repeat visit {repeat} bytes, first chart "
        f"{repeat_seconds:.2f} s (plotly's {repeat_plotly:.2f} s); "
        f"{len(first_requests)} requests then {len(repeat_requests)}"
    )
    return first, seconds, plotly_seconds, first_requests, repeat, repeat_requests


@pytest.mark.parametrize("name,options", [("360", PHONE), ("1366", WIDE)])
def test_office_page_on_a_slow_line_meets_the_budget(browsing, name, options):
    first, seconds, plotly_seconds, first_requests, repeat, repeat_requests = visit(
        browsing, options, name
    )
    assert first <= BUDGET_BYTES, (first, first_requests)
    assert seconds <= BUDGET_SECONDS, seconds
    # plotly.js (a third of a megabyte over 1.6 Mbit/s, then parsed on a phone's CPU)
    # replaces the server's drawing some seconds later; a generous bound against a
    # regression to the 4.8 MB bundle (32 s).
    assert plotly_seconds <= 3 * BUDGET_SECONDS, plotly_seconds
    assert all(url.startswith(browsing.server.url) for url in first_requests), first_requests
    # The repeat visit fetches the page itself and nothing else: every static file has a
    # content-hashed address and a year's immutable cache. The icon is the one exception
    # Chromium makes: its favicon service fetches the icon on a schedule of its own, after
    # the first visit has settled or in both visits, whatever the cache says; its address
    # is content-hashed like the others (tests/test_respondent_pages.py checks the
    # year's immutable cache a hashed address is sent with).
    page_url = browsing.server.url + OFFICE
    assert page_url in repeat_requests, repeat_requests
    icons = [url for url in repeat_requests if "/static/favicon" in url]
    assert all(re.search(r"\?v=[0-9a-f]{8,}$", url) for url in icons), icons
    again = [
        url
        for url in repeat_requests
        if url != page_url and url not in icons and url in first_requests
    ]
    assert again == [], again
    assert repeat < 60_000, repeat


LABELS = """chart => {
  const box = chart.getBoundingClientRect();
  const problems = [];
  const shown = sel => [...chart.querySelectorAll(sel)].filter(
      t => t.textContent.trim() && t.getBoundingClientRect().width > 0);
  for (const text of shown('svg text')) {
    const r = text.getBoundingClientRect();
    if (r.left < box.left - 1 || r.right > box.right + 1 || r.top < box.top - 1
        || r.bottom > box.bottom + 1) {
      problems.push(['outside the chart', text.textContent, Math.round(r.left),
                     Math.round(r.right), Math.round(box.left), Math.round(box.right)]);
    }
  }
  for (const group of ['.xtick text', '.ytick text', '.y2tick text', '.bartext']) {
    const texts = shown(group).map(t => [t.textContent, t.getBoundingClientRect()]);
    for (let i = 0; i < texts.length; i++) {
      for (let j = i + 1; j < texts.length; j++) {
        const [a, r] = texts[i], [b, s] = texts[j];
        if (r.left < s.right - 1 && s.left < r.right - 1 && r.top < s.bottom - 1
            && s.top < r.bottom - 1) {
          problems.push(['overlap', group, a, b]);
        }
      }
    }
  }
  return problems;
}"""


@pytest.mark.parametrize("name,options", [("360", PHONE), ("1366", WIDE)])
def test_office_charts_fit_with_no_label_cut_or_overlapping(browsing, name, options):
    from .test_staff import wait_for_charts

    seed(browsing.server.app, bodo=30)
    page = browsing.page(options)
    sign_in(page, "leder", OFFICE)
    assert wait_for_charts(page) == 4
    width = options["viewport"]["width"]
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    for n in range(4):
        chart = page.locator(".chart").nth(n)
        assert chart.evaluate("c => c.getBoundingClientRect().right") <= width
        problems = chart.evaluate(LABELS)
        assert problems == [], (chart.get_attribute("id"), problems)
        # Every bar's value is written beside it (none dropped for want of room).
        bars = chart.evaluate("c => c.querySelectorAll('.bars .point').length")
        texts = chart.evaluate("c => c.querySelectorAll('.bars .bartext').length")
        if chart.get_attribute("id") in ("chart-ladder", "chart-measures"):
            assert texts == bars > 0, (chart.get_attribute("id"), bars, texts)
    screenshot(page, f"office-charts-{name}")


def test_charts_are_drawn_on_the_server_without_javascript(browsing):
    seed(browsing.server.app, bodo=30)
    page = browsing.page(PHONE, java_script_enabled=False)
    sign_in(page, "leder", OFFICE)
    for chart in ("ladder", "themes", "trend", "measures"):
        sketch = page.locator(f"#chart-{chart} .chart-sketch")
        assert sketch.is_visible(), chart
        tracks = sketch.locator("svg.sketch-track")
        assert tracks.count() > 0 and tracks.first.bounding_box()["width"] > 200, chart
    ladder = page.locator("#chart-ladder .sketch-rows li")
    assert ladder.count() == 8 and ladder.first.inner_text().startswith("8 Brukerstyring")
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
    screenshot(page, "office-without-javascript-360")


WIDEST = """() => [...document.querySelectorAll('body *')]
  .filter(e => e.getBoundingClientRect().right > 361 && !e.closest('.table-scroll'))
  .slice(-4).map(e => e.tagName + '.' + e.className + ' ' + Math.round(e.getBoundingClientRect().right)
                  + ' ' + (e.textContent || '').trim().slice(0, 40))"""


def test_staff_pages_on_a_phone_fit_and_pass_axe(browsing):
    """Every staff page at 360 px: nothing wider than the screen, and axe finds no serious
    or critical violation (scrolling tables are focusable regions with a name)."""
    from survey.extensions import db
    from survey.models import Comment

    from ..test_dashboard import add_varied, make_account, office_id
    from .test_accessibility import Audit
    from .test_staff import wait_for_charts

    app = browsing.server.app
    with app.app_context():
        add_varied("bodo", APRIL_, 30)
        add_varied("tromso", APRIL_, 12)
        make_account("leder", "leder", "bodo")
        make_account("admin", "admin")
        db.session.add(
            Comment(
                office_id=office_id("bodo"),
                period_start=APRIL_,
                questionnaire_version=1,
                language="nb",
                item_code="hel_fritekst",
                body="Kari på kontoret i Tromsø var grei",
                status="pending",
            )
        )
        db.session.commit()
    audit = Audit()
    wide = []
    leader = browsing.phone()
    sign_in(leader, "leder", OFFICE)
    wait_for_charts(leader)
    audit(leader, "office dashboard at 360")
    admin = browsing.phone()
    sign_in(admin, "admin", "/resultater/oversikt")
    wait_for_charts(admin)
    audit(admin, "overview at 360")
    download = admin.request.get("/eksport/svar.csv")  # a row for the audit log
    assert download.ok
    download.dispose()
    for path in (
        "/eksport/",
        "/eksport/kodebok",
        "/admin/",
        "/admin/revisjon",
        "/admin/koder",
        "/admin/kontor/bodo/koder",
        "/admin/kontor",
        "/admin/kontor/bodo",
        "/admin/kontor/bodo/plakat",
        "/admin/moderering",
        "/admin/brukere",
        "/admin/utgivelser",
        OFFICE,
    ):
        admin.goto(path)
        audit(admin, f"{path} at 360")
        if path == "/eksport/":
            screenshot(admin, "export-360")
        width = admin.evaluate("document.documentElement.scrollWidth")
        if width > 360:
            wide.append((path, width, admin.evaluate(WIDEST)))
    # At 200 % text size, as a phone's text-size setting sets it (the root font size).
    for path in ("/eksport/", "/eksport/kodebok", "/admin/kontor/bodo/plakat", OFFICE):
        admin.goto(path)
        admin.evaluate("() => { document.documentElement.style.fontSize = '200%'; }")
        # As if the page had loaded at that size: plotly sizes its charts on a resize.
        admin.evaluate("() => window.dispatchEvent(new Event('resize'))")
        admin.wait_for_timeout(500)
        width = admin.evaluate("document.documentElement.scrollWidth")
        if width > 360:
            wide.append((f"{path} at 200 %", width, admin.evaluate(WIDEST)))
    assert wide == [], wide
    audit.check()
