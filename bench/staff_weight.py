"""Staff page weight (issue 16): the office page and the overview as a first visit
transfers them, compressed as Stigen sends them (``Accept-Encoding: br, gzip``), HTML
plus every stylesheet and script it links; beside the floor, the same page without its
charts (no chart elements, no plotly.js, no plotly styles). Time to the first chart on
the issue's slow line (1.6 Mbit/s, 150 ms) is modelled from those bytes: a connection and
a request (2 round trips), the HTML, then the render-blocking stylesheets (one more round
trip) for the server-drawn chart; plotly.js's bytes after them for plotly's. The browser
test (tests/browser/test_staff_phone.py) measures the same in Chromium.
"""

from __future__ import annotations

import gzip
import re

from .common import Database, Row, staff_pages

BUDGET = 1_000_000  # bytes, a first visit (issue 16)
RATE = 1_600_000 / 8  # bytes per second
RTT = 0.150
ASSET = re.compile(r'<link rel="stylesheet"[^>]*href="([^"]+)"|<script[^>]*src="([^"]+)"')
CHART = re.compile(r'<div class="chart" id="chart-[^"]*".*?</ul>\s*</div>\s*</div>', re.S)


def kb(size: int) -> str:
    return f"{size / 1024:.1f} KB"


def measure(database: Database, size: int) -> list[Row]:
    from sqlalchemy import select

    from survey import create_app
    from survey.extensions import db
    from survey.models import Office

    app = create_app(
        {
            "SQLALCHEMY_DATABASE_URI": database.url,
            "WTF_CSRF_ENABLED": False,
            "RATELIMIT_ENABLED": False,
        }
    )
    with app.app_context():
        slug = db.session.scalars(select(Office.slug).order_by(Office.id)).first()
    staff_pages(app)  # makes the benchmark's administrator
    client = app.test_client()
    client.post("/logg-inn", data={"username": "bench", "password": "bench-password"})
    accept = {"Accept-Encoding": "br, gzip"}
    rows = []
    for name, path in (
        ("office page", f"/resultater/kontor/{slug}"),
        ("overview", "/resultater/oversikt"),
    ):
        page = client.get(path, headers=accept)
        if page.status_code != 200:
            raise RuntimeError(f"{path} answered {page.status_code}")
        html = page.get_data(as_text=True)  # the test client hands over what was sent
        if page.headers.get("Content-Encoding"):
            raise RuntimeError("pages are compressed: weigh them decompressed here")
        html_bytes = len(gzip.compress(html.encode(), 6))  # as a reverse proxy would send it
        blocking = scripts = plotly = 0
        for stylesheet, script in ASSET.findall(html):
            with client.get(stylesheet or script, headers=accept) as response:
                body = len(response.get_data())
            if stylesheet:
                blocking += body
            else:
                scripts += body
            if "plotly" in (stylesheet or script) or "charts.js" in (stylesheet or script):
                plotly += body  # the charts alone need these
        total = html_bytes + blocking + scripts
        bare = CHART.sub("", html)
        floor = len(gzip.compress(bare.encode(), 6)) + blocking + scripts - plotly
        first_chart = 3 * RTT + (html_bytes + blocking) / RATE
        drawn = first_chart + RTT + scripts / RATE
        charts = len(CHART.findall(html))
        rows.append(
            Row(
                size,
                f"staff page weight: {name} ({charts} charts), first visit",
                f"{kb(total)} ({kb(html_bytes)} HTML, {kb(blocking)} CSS, {kb(scripts)} JS); "
                f"first chart {first_chart:.2f} s, plotly's {drawn:.2f} s (modelled)",
                f"without charts: {kb(floor)}",
                total / floor if floor else None,
                "≤ 1 MB; first chart ≤ 5 s on 1.6 Mbit/s",
                total <= BUDGET and first_chart <= 5.0,
                key=f"staff weight {name}",
                number=float(total),
            )
        )
        rows.append(
            Row(
                size,
                f"staff page weight: {name}, repeat visit",
                f"{kb(html_bytes)} (the page only: static files cached a year, immutable)",
                f"without charts: {kb(len(gzip.compress(bare.encode(), 6)))}",
                html_bytes / max(len(gzip.compress(bare.encode(), 6)), 1),
            )
        )
    return rows
