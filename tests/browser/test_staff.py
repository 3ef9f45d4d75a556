"""Staff pages in a real browser: the leader's charts draw without errors, the overview
draws its chart, and a researcher downloads the response file."""

from __future__ import annotations

import csv
import io
from datetime import date

from ..test_dashboard import add_varied, make_account
from .conftest import sign_in

APRIL = date(2026, 4, 1)


def seed(app, **responses_per_office) -> None:
    with app.app_context():
        for slug, count in responses_per_office.items():
            add_varied(slug, APRIL, count)
        make_account("leder", "leder", "bodo")
        make_account("forsker", "forsker")
        make_account("admin", "admin")


def wait_for_charts(page) -> int:
    """Every chart on the page has been drawn by plotly; returns how many. (plotly draws
    a chart as it comes near the screen, so each is scrolled to first.)"""
    charts = page.locator(".chart")
    count = charts.count()
    for n in range(count):
        charts.nth(n).scroll_into_view_if_needed()
        charts.nth(n).locator("svg.main-svg").first.wait_for(state="visible")
    page.evaluate("window.scrollTo(0, 0)")
    return count


TABLE_UNDER_CHART = """chart => {
  let next = chart.nextElementSibling;
  const table = next && (next.tagName === 'TABLE' ? next : next.querySelector('table'));
  if (!table) { return null; }
  const box = table.getBoundingClientRect();
  return {top: box.top, chartBottom: chart.getBoundingClientRect().bottom,
          rows: table.querySelectorAll('tbody tr').length, visible: box.height > 0};
}"""


def assert_tables_under_charts(page) -> None:
    for n in range(page.locator(".chart").count()):
        chart = page.locator(".chart").nth(n)
        table = chart.evaluate(TABLE_UNDER_CHART)
        name = chart.get_attribute("id")
        assert table is not None, f"{name}: no table under the chart"
        assert table["visible"] and table["rows"] > 0, (name, table)
        assert table["top"] >= table["chartBottom"] - 1, (name, table)


def test_leader_sees_the_office_charts_drawn_with_their_tables(browsing):
    seed(browsing.server.app, bodo=30)
    page = browsing.desktop()
    sign_in(page, "leder", "/resultater/kontor/bodo")
    assert wait_for_charts(page) == 4
    assert sorted(page.eval_on_selector_all(".chart", "els => els.map(e => e.id)")) == [
        "chart-ladder",
        "chart-measures",
        "chart-themes",
        "chart-trend",
    ]
    assert_tables_under_charts(page)
    assert "30 svar" in page.locator(".summary").inner_text()
    assert browsing.problems.all() == [], "\n".join(browsing.problems.all())


MARKERS = """chart => {
  const axis = chart._fullLayout.xaxis;
  return [...chart.querySelectorAll('.scatterlayer .trace')].map(trace =>
    [...trace.querySelectorAll('.points path')].map(point => {
      const at = /translate\\(([-\\d.]+)/.exec(point.getAttribute('transform'));
      return axis.p2l(parseFloat(at[1]));
    }));
}"""


def test_theme_markers_are_drawn_at_their_values(browsing):
    """Each series' marker sits at its index on the 0–100 axis, as in the table."""
    with browsing.server.app.app_context():
        add_varied("bodo", APRIL, 30, index=60.0)
        add_varied("tromso", APRIL, 30, index=80.0)
        make_account("leder", "leder", "bodo")
    page = browsing.desktop()
    sign_in(page, "leder", "/resultater/kontor/bodo")
    wait_for_charts(page)
    chart = page.locator("#chart-themes")
    figure = chart.evaluate("chart => JSON.parse(chart.getAttribute('data-figure')).data")
    drawn = [trace for trace in chart.evaluate(MARKERS) if trace]
    expected = [[round(x, 1) for x in trace["x"]] for trace in figure if trace["x"]]
    # Bodø 60 (stigma 40); the country (Bodø and Tromsø) 70 (stigma 30).
    assert expected == [[60.0, 40.0, 60.0, 60.0], [70.0, 30.0, 70.0, 70.0]]
    assert [[round(x, 1) for x in trace] for trace in drawn] == expected, (
        "theme markers are drawn away from their values"
    )


def test_admin_overview_draws_its_chart(browsing):
    seed(browsing.server.app, bodo=30, tromso=12)
    page = browsing.desktop()
    sign_in(page, "admin", "/resultater/oversikt")
    assert wait_for_charts(page) == 1
    assert_tables_under_charts(page)
    rows = page.locator("table.sortable tbody tr")
    assert rows.count() == 3  # bodo, stengt, tromso
    assert browsing.problems.all() == [], "\n".join(browsing.problems.all())


def test_researcher_downloads_the_response_file(browsing):
    seed(browsing.server.app, bodo=30)
    page = browsing.desktop(accept_downloads=True)
    sign_in(page, "forsker", "/eksport/")
    with page.expect_download() as caught:
        page.get_by_role("link", name="Svar (CSV (RFC 4180))", exact=True).click()
    download = caught.value
    assert download.failure() is None
    assert download.suggested_filename.endswith(".csv")
    with open(download.path(), "rb") as handle:
        body = handle.read().decode("utf-8")
    assert body.startswith("row,office,period,"), body[:200]
    rows = list(csv.reader(io.StringIO(body)))
    assert len(rows) == 1 + 30
    assert {row[1] for row in rows[1:]} == {"bodo"}
    # Chromium reports a navigation that became a download as an aborted request: that
    # one, and only that one, is expected.
    download_aborted = f"GET {download.url}: net::ERR_ABORTED"
    assert download.url.startswith(browsing.server.url + "/eksport/svar.csv")
    problems = [p for p in browsing.problems.all() if p != download_aborted]
    assert problems == [], "\n".join(problems)
