"""The office's public page: no sign-in, no JavaScript, no free text; the ladder and the
themes only where the leaders' dashboard shows them (the same cells, never below k, never
a period still under way); the office's notes newest first; in bokmål, nynorsk and
English; linked from the thank-you page."""

from __future__ import annotations

import random
import re
from datetime import date
from urllib.parse import urlsplit

import pytest
from sqlalchemy import select

from survey.dashboard import data
from survey.domain import periods
from survey.domain.periods import ReportingPeriod
from survey.extensions import db
from survey.models import Comment, Office
from survey.public.views import latest_shown, public_result

from .test_dashboard import add_responses, make_account, office_id, sign_in
from .test_notes import add_note

TODAY = date(2026, 11, 22)
K = 5
APRIL = date(2026, 4, 1)


@pytest.fixture(autouse=True)
def today(monkeypatch):
    monkeypatch.setattr(periods, "today_in_norway", lambda: TODAY)
    return TODAY


def public(client, slug: str = "bodo", lang: str | None = None):
    response = client.get(f"/k/{slug}/resultater" + (f"?lang={lang}" if lang else ""))
    return response.status_code, response.get_data(as_text=True)


def add_varied(slug: str, month: date, count: int) -> None:
    """``count`` responses whose answers differ (rungs in two bands, two theme values):
    answers all alike are hidden by the homogeneity rule (``survey.domain.disclosure``)."""
    add_responses(slug, month, count - count // 2, rung=6, index=70.0)
    add_responses(slug, month, count // 2, rung=3, index=40.0)


def shown_responses(html: str) -> list[str]:
    return re.findall(r"(\d+) svar</p>", html)


def percentages(html: str) -> list[str]:
    return re.findall(r'<td class="num">(\d+)\xa0%</td>', html)


# --- k -----------------------------------------------------------------------------------


def test_no_sign_in_needed_and_k_minus_one_responses_show_nothing(app, client):
    with app.app_context():
        add_responses("bodo", APRIL, K - 1)
    status, html = public(client)
    assert status == 200
    assert "for få svar ennå" in html.lower()
    assert shown_responses(html) == [] and percentages(html) == []
    assert "<svg" not in html and "Temaer, 0–100" not in html


def test_k_responses_show_the_ladder_and_the_themes(app, client):
    with app.app_context():
        add_responses("bodo", APRIL, 3, rung=7, index=80.0)
        add_responses("bodo", APRIL, 2, rung=4, index=30.0)
    status, html = public(client)
    assert status == 200
    assert "for få svar ennå" not in html.lower()
    assert "1. halvår 2026" in html and shown_responses(html) == ["5"]
    # Reell innflytelse 60 %, symbolsk 40 %, ikke-deltakelse 0 %, top band first.
    assert percentages(html) == ["60", "40", "0"]
    assert 'width="60.0"' in html and 'width="40.0"' in html  # the bars say the same
    assert "trinn 7 av 8: Delegert makt." in html  # the median rung
    # Themes: mean of 3 × 80 and 2 × 30 is 60; stigma is 100 − index, so 40.
    assert re.search(r"Medvirkning</th>\s*<td[^>]*>.*?</td><td class=\"num\">60</td>", html, re.S)
    assert re.search(
        r"Stigma <span class=\"muted\">\(lavere er bedre\)</span></th>\s*"
        r"<td[^>]*>.*?</td><td class=\"num\">40</td>",
        html,
        re.S,
    )


def test_a_half_year_still_under_way_is_not_shown(app, client):
    """Figures that change while someone watches would tell what the last person
    answered: only half-years that are over (and a week more) are shown."""
    with app.app_context():
        add_varied("bodo", date(2026, 7, 1), 2 * K)
        snap = data.snapshot(1, K)
        oid = office_id("bodo")
        assert snap.cell(oid, ReportingPeriod.parse("2026-Q3")).ladder is not None  # leaders
        # The release rule: a half-year still under way is in no release, for anyone.
        assert snap.cell(oid, ReportingPeriod.parse("2026-H2")).responses is None
        assert ReportingPeriod.parse("2026-H2") not in snap.periods("half")
    status, html = public(client)
    assert "for få svar ennå" in html.lower() and shown_responses(html) == []


def test_an_older_half_year_is_shown_while_the_newest_is_under_way(app, client):
    with app.app_context():
        # Not all on one rung or in one band: that would be hidden (homogeneity).
        add_responses("bodo", date(2025, 11, 1), K - 2, rung=2)
        add_responses("bodo", date(2025, 11, 1), 2, rung=4)
        add_varied("bodo", date(2026, 7, 1), 2 * K)
    status, html = public(client)
    assert "2. halvår 2025" in html and shown_responses(html) == [str(K)]
    assert percentages(html) == ["0", "40", "60"]  # reell, symbolsk, ikke-deltakelse
    assert "trinn 2 av 8: Terapi." in html


def test_a_median_between_two_rungs_is_written_with_a_decimal(app, client):
    with app.app_context():
        # 2, 2, 4, 5, 7, 7 (one band each would be hidden: homogeneity)
        add_responses("bodo", APRIL, 2, rung=2)
        add_responses("bodo", APRIL, 1, rung=4)
        add_responses("bodo", APRIL, 1, rung=5)
        add_responses("bodo", APRIL, 2, rung=7)
    assert "trinn 4,5 av 8." in public(client)[1]
    assert "4.5" in public(client, lang="en")[1]  # numbers in the reader's language


def test_an_office_the_dashboard_hides_by_secondary_suppression_is_not_shown(app, client):
    """Bodø has k responses, Tromsø fewer: the country minus Bodø would give Tromsø away,
    so the dashboard hides Bodø as well. Its public page follows the dashboard, although
    Bodø alone has k."""
    with app.app_context():
        add_responses("bodo", APRIL, K)
        add_responses("tromso", APRIL, K - 2)
        snap = data.snapshot(1, K)
        half = ReportingPeriod.parse("2026-H1")
        assert snap.cell(office_id("bodo"), half).responses is None
        assert snap.cell(data.NATIONAL, half).responses == 2 * K - 2
    for slug in ("bodo", "tromso"):
        status, html = public(client, slug)
        assert status == 200 and "for få svar ennå" in html.lower()
        assert shown_responses(html) == [] and percentages(html) == []


def test_the_public_page_shows_only_what_the_leaders_page_shows(app, client):
    """Random offices and months: every figure on each public page is the dashboard's own
    cell for that office and period, that cell is visible to leaders, and the numbers
    also stand on the leaders' page for that period."""
    rng = random.Random(20261122)
    with app.app_context():
        db.session.add_all(Office(slug=f"k{n}", name=f"NAV K{n}") for n in range(3))
        db.session.commit()
        slugs = ["bodo", "tromso", "k0", "k1", "k2"]
        for slug in slugs:
            for month in range(1, 12):
                count = rng.choice([0, 0, 0, 0, 1] if slug == "k2" else [0, 0, 1, 2, 3, 4, 6])
                if count:
                    add_responses(
                        slug,
                        date(2025, month, 1),
                        count,
                        rung=rng.randint(1, 8),
                        index=rng.choice([20.0, 50.0, 90.0]),
                    )
        make_account("admin", "admin")
        snap = data.snapshot(1, K)
        expected = {}
        for slug in slugs:
            result = public_result(office_id(slug), TODAY)
            expected[slug] = result
            if result is None:
                continue
            cell, key = result.cell, (office_id(slug), result.cell.period)
            assert cell == snap.cell(*key)
            assert key in snap.visible_responses
            assert cell.ladder is None or key in snap.visible_ladder
            for theme, figure in cell.themes.items():
                assert figure is None or key in snap.visible_themes[theme]
    assert any(expected.values()) and not all(expected.values())  # both cases occur
    sign_in(client, "admin")
    for slug, result in expected.items():
        status, html = public(app.test_client(), slug)
        assert status == 200
        if result is None:
            assert shown_responses(html) == [] and percentages(html) == []
            continue
        assert shown_responses(html) == [str(result.cell.responses)]
        leaders = client.get(f"/resultater/kontor/{slug}?periode={result.cell.period.code}")
        leaders_html = leaders.get_data(as_text=True)
        assert f"{result.cell.responses} svar" in leaders_html
        for share in percentages(html):
            assert f"{share}\xa0%" in leaders_html


def vector(n: int, rung: int = 6) -> list[float]:
    row = [0.0] * data.width(data.shipped_themes(1))
    row[data.RESPONSES] = row[data.RUNG_AT[rung]] = n
    return row


def test_latest_shown_is_the_newest_settled_half_year_with_figures():
    """Pure: a snapshot made from numbers, no app."""
    months = {
        (1, date(2025, 8, 1)): vector(6),
        (1, date(2026, 2, 1)): vector(2),
        (1, date(2026, 4, 1)): vector(6),
        (1, date(2026, 7, 1)): vector(6),
    }
    snap = data.Snapshot(version=1, k=K, months=months, offices=(1,))
    assert latest_shown(snap, 1, date(2026, 11, 22)).period.code == "2026-H1"
    assert latest_shown(snap, 1, date(2026, 7, 7)).period.code == "2025-H2"  # a week more
    assert latest_shown(snap, 1, date(2026, 7, 8)).period.code == "2026-H1"
    assert latest_shown(snap, 1, date(2027, 1, 8)).period.code == "2026-H2"
    assert latest_shown(snap, 1, date(2026, 1, 7)) is None


def test_what_is_shown_of_a_half_year_does_not_change_with_later_data():
    """The reason the page shows only half-years that are over: the suppression of a
    half-year depends on that half-year's counts alone, so later responses can never
    make a hidden cell of it visible or a visible one hidden."""
    rng = random.Random(5)
    for _ in range(20):
        offices = (1, 2, 3)
        before = {
            (o, date(2025, m, 1)): vector(rng.choice([0, 1, 2, 3, 5, 6]))
            for o in offices
            for m in range(1, 13)
        }
        before = {key: row for key, row in before.items() if row[data.RESPONSES]}
        after = dict(before)
        after.update(
            {
                (o, date(2026, m, 1)): vector(rng.choice([1, 2, 3, 5]))
                for o in offices
                for m in range(1, 7)
                if rng.random() < 0.7
            }
        )
        old = data.Snapshot(version=1, k=K, months=before, offices=offices)
        new = data.Snapshot(version=1, k=K, months=after, offices=offices)
        in_2025 = {cell for cell in new.visible_ladder if cell[1].year == 2025}
        assert in_2025 == set(old.visible_ladder)


# --- what else is (not) on the page ---------------------------------------------------


def test_unknown_and_deactivated_offices_are_404_but_a_closed_one_is_shown(app, client):
    assert public(client, "finnes-ikke")[0] == 404
    assert public(client, "stengt")[0] == 404  # deactivated
    with app.app_context():
        office = db.session.scalar(select(Office).where(Office.slug == "tromso"))
        office.closes_on = date(2026, 6, 30)
        db.session.commit()
    status, html = public(client, "tromso")
    assert status == 200 and "NAV Tromsø" in html
    assert "Svar på undersøkelsen" not in html  # no button to a closed survey
    assert 'href="/k/bodo"' in public(client, "bodo")[1]  # an open one has it


def test_no_free_text_no_script_and_no_inline_style(app, client):
    with app.app_context():
        add_varied("bodo", APRIL, K)
        for status in ("approved", "pending", "rejected"):
            db.session.add(
                Comment(
                    office_id=office_id("bodo"),
                    period_start=APRIL,
                    questionnaire_version=1,
                    language="nb",
                    item_code="fritekst",
                    body=f"Veilederen Kari var {status}",
                    status=status,
                )
            )
        db.session.commit()
    status, html = public(client)
    assert status == 200 and shown_responses(html) == ["5"]
    assert "Kari" not in html and "Veilederen" not in html
    assert "<script" not in html and "style=" not in html and "plotly" not in html
    assert "<textarea" not in html


def test_notes_are_shown_newest_first_and_only_the_offices_own(app, client):
    assert "Kontoret har ikke skrevet noe her ennå." in public(client)[1]
    with app.app_context():
        add_note("bodo", you_said="Gammel ting", we_do="Gammelt svar", written_on=date(2025, 3, 1))
        add_note("bodo", you_said="Ny ting", we_do="Nytt svar", written_on=date(2026, 9, 1))
        add_note("tromso", you_said="Tromsø-ting", we_do="Tromsø-svar")
    status, html = public(client)
    assert html.index("Ny ting") < html.index("Nytt svar") < html.index("Gammel ting")
    assert "Tromsø-ting" not in html
    assert "1. september 2026" in html
    assert "Kontoret har ikke skrevet noe her ennå." not in html
    assert "Tromsø-ting" in public(client, "tromso")[1]


@pytest.mark.parametrize(
    ("lang", "theme", "written"),
    [
        ("nb", "Medvirkning", "1. september 2026"),
        ("nn", "Medverknad", "1. september 2026"),
        ("en", "User participation", "September 1, 2026"),
    ],
)
def test_the_page_works_in_every_language(app, client, lang, theme, written):
    with app.app_context():
        add_varied("bodo", APRIL, K)
        add_note("bodo")
    status, html = public(client, lang=lang)
    assert status == 200
    assert f'<html lang="{lang}">' in html
    assert theme in html and written in html


def test_the_explanation_of_the_ladder_is_there(client):
    html = public(client)[1]
    assert "Arnsteins stige" in html and "åtte trinn" in html


# --- links to the page -----------------------------------------------------------------


def test_the_thank_you_page_links_to_the_public_page(app, client):
    html = client.get("/k/bodo/takk").get_data(as_text=True)
    assert 'href="/k/bodo/resultater"' in html and "Se hva kontoret gjør med svarene" in html
    assert "/k/stengt/resultater" not in client.get("/k/stengt/takk").get_data(as_text=True)


def test_the_printed_poster_writes_out_the_public_pages_address(app, client):
    with app.app_context():
        make_account("admin", "admin")
    sign_in(client, "admin")
    poster = client.get("/admin/kontor/bodo/plakat")
    assert poster.status_code == 200
    html = poster.get_data(as_text=True)
    written = re.search(r'class="poster-public-link">([^<]+)</span>', html).group(1)
    assert written == "http://localhost/k/bodo/resultater"
    assert "Se hva kontoret gjør med svarene" in html
    assert app.test_client().get(urlsplit(written).path).status_code == 200  # it is the page
    svg = client.get("/admin/kontor/bodo/plakat.svg").get_data(as_text=True)
    assert "Se hva kontoret gjør med svarene:" in svg  # the SVG poster too (wrapped)
    assert ">http://localhost/k/bodo/resultater</text>" in svg
