"""Leaders' dashboards: accounts and roles, the office page and the overview, and the
small-group rule as seen on the rendered pages, including attempts to difference it."""

from __future__ import annotations

import json
import re
from datetime import date
from html import unescape

import pytest
from sqlalchemy import and_, func, select

from survey import tally
from survey.domain.periods import ReportingPeriod
from survey.domain.scoring import band_of
from survey.extensions import db
from survey.models import (
    Account,
    Comment,
    MeasureTally,
    Office,
    Response,
    ThemeTally,
    tally_table,
)

from .forms import Page

QUARTER = ReportingPeriod.parse("2026-Q2")
APRIL, MAY, JUNE = date(2026, 4, 1), date(2026, 5, 1), date(2026, 6, 1)


def office_id(slug: str) -> int:
    return db.session.scalar(select(Office.id).where(Office.slug == slug))


def add_responses(
    slug: str,
    month: date,
    count: int,
    rung: int = 6,
    index: float = 60.0,
    measures=("avklaring",),
    useful: int = 4,
) -> None:
    """Store ``count`` responses the way a submission does: the row and its tally."""
    oid = office_id(slug)
    for _ in range(count):
        response = Response(
            office_id=oid,
            period_start=month,
            questionnaire_version=1,
            language="nb",
            answers={"med_stige": rung, "tilt_deltatt": list(measures), "tilt_nyttig": useful},
            scoring_version=1,
            rung=rung,
            band=band_of(rung),
            theme_indices={
                "medvirkning": index,
                "stigma": 100 - index,
                "talmodighet": index,
                "relasjon": index,
            },
        )
        db.session.add(response)
        tally.add(db.session, response)
    db.session.commit()


def add_varied(slug: str, month: date, count: int, index: float = 60.0) -> None:
    """``count`` responses in three equal groups whose answers differ (rungs 6, 3 and 1 in
    all three bands; theme indices index, index - 10 and index + 10, so the mean is
    ``index``; different measures and usefulness): figures that the homogeneity rule lets
    through, unlike ``count`` identical answers."""
    third, rest = divmod(count, 3)
    for n, (rung, shift, measures, useful) in enumerate(
        (
            (6, 0.0, ("avklaring",), 4),
            (3, -10.0, ("mentor",), 2),
            (1, 10.0, ("avklaring", "mentor"), 5),
        )
    ):
        add_responses(
            slug,
            month,
            third + (rest if n == 0 else 0),
            rung=rung,
            index=index + shift,
            measures=measures,
            useful=useful,
        )


def make_account(username: str, role: str, *slugs: str, password: str = "riktig-passord-1"):
    offices = [db.session.scalar(select(Office).where(Office.slug == s)) for s in slugs]
    account = Account(username=username, role=role, offices=offices)
    account.set_password(password)
    db.session.add(account)
    db.session.commit()


def sign_in(client, username: str, password: str = "riktig-passord-1", next_url: str = ""):
    page = Page(client.get("/logg-inn" + (f"?next={next_url}" if next_url else "")))
    data = page.values()
    data["username"], data["password"] = username, password
    return client.post("/logg-inn", data=data)


@pytest.fixture
def accounts(app):
    with app.app_context():
        make_account("admin", "admin")
        make_account("leder", "leder", "bodo")
        make_account("leder2", "leder", "tromso")
        make_account("forsker", "forsker")


def numbers_in(html: str, label: str) -> list[str]:
    return re.findall(label, html)


# --- accounts ------------------------------------------------------------------------


def test_unauthenticated_requests_go_to_the_login_page(client):
    for path in ("/resultater/", "/resultater/oversikt", "/resultater/kontor/bodo"):
        response = client.get(path)
        assert response.status_code == 302
        assert response.headers["Location"].startswith("/logg-inn?next=")


def test_sign_in_goes_back_to_next_but_never_to_another_host(client, accounts):
    response = sign_in(client, "leder", next_url="/resultater/kontor/bodo")
    assert response.status_code == 302
    assert response.headers["Location"] == "/resultater/kontor/bodo"
    for evil in ("//evil.example/x", "https://evil.example/", "/\\evil.example", "javascript:x"):
        other = client.application.test_client()
        response = sign_in(other, "leder", next_url=evil)
        assert response.headers["Location"] == "/resultater/", evil


def test_wrong_password_is_refused_with_a_message(client, accounts):
    response = sign_in(client, "leder", password="galt")
    assert response.status_code == 401
    assert "Feil brukernavn eller passord" in response.get_data(as_text=True)
    assert client.get("/resultater/").status_code == 302


def test_failed_sign_ins_are_throttled_per_username(client, accounts):
    for _ in range(5):
        assert sign_in(client, "leder", password="galt").status_code == 401
    throttled = sign_in(client, "leder")  # even the right password waits now
    assert throttled.status_code == 429
    assert "For mange mislykkede forsøk" in throttled.get_data(as_text=True)
    assert sign_in(client, "forsker").status_code == 302  # other accounts are not locked out


def test_passwords_are_hashed_with_scrypt(app, accounts):
    with app.app_context():
        account = db.session.scalar(select(Account).where(Account.username == "leder"))
        assert account.password_hash.startswith("scrypt:")
        assert "riktig-passord-1" not in account.password_hash


def test_session_cookie_is_httponly_and_samesite(client, accounts):
    sign_in(client, "leder")
    cookie = client.get_cookie("session")
    assert cookie.http_only and cookie.same_site == "Lax"


@pytest.mark.parametrize("app_config", [{"SESSION_COOKIE_SECURE": True}])
def test_session_cookie_is_secure_when_configured_for_https(client, accounts):
    sign_in(client, "leder")
    assert (
        client.get_cookie("session", domain="localhost") is None
        or client.get_cookie("session").secure
    )


def test_logout_needs_a_post_with_csrf_and_ends_the_session(client, accounts):
    sign_in(client, "leder")
    assert client.post("/logg-ut").status_code == 400  # no CSRF token
    page = Page(client.get("/resultater/kontor/bodo"))
    token = page.hidden("csrf_token")[0]
    assert client.post("/logg-ut", data={"csrf_token": token}).status_code == 302
    assert client.get("/resultater/kontor/bodo").status_code == 302


def test_a_leader_cannot_reach_another_offices_page(client, app, accounts):
    with app.app_context():
        add_responses("tromso", APRIL, 8)
    sign_in(client, "leder")
    other = client.get("/resultater/kontor/tromso")
    missing = client.get("/resultater/kontor/finnes-ikke")
    assert other.status_code == missing.status_code == 404
    # No hint that it exists: the pages are the same but for the address they echo.
    assert other.get_data(as_text=True).replace("tromso", "X") == missing.get_data(
        as_text=True
    ).replace("finnes-ikke", "X")
    assert client.get("/resultater/kontor/bodo").status_code == 200
    # A single-office leader has no overview of other offices.
    assert (
        client.get("/resultater/oversikt").headers["Location"].startswith("/resultater/kontor/bodo")
    )


def test_admin_and_researcher_see_every_office(client, app, accounts):
    for username in ("admin", "forsker"):
        c = app.test_client()
        sign_in(c, username)
        for slug in ("bodo", "tromso"):
            assert c.get(f"/resultater/kontor/{slug}").status_code == 200


def test_users_command_creates_and_binds(runner, app):
    result = runner.invoke(args=["users", "create", "kari", "--role", "leder", "--office", "bodo"])
    assert result.exit_code == 0 and "Generated password" in result.output
    refused = runner.invoke(args=["users", "create", "ola", "--role", "leder"])
    assert refused.exit_code != 0 and "needs at least one --office" in refused.output
    assert runner.invoke(args=["users", "bind", "kari", "--office", "tromso"]).exit_code == 0
    with app.app_context():
        kari = db.session.scalar(select(Account).where(Account.username == "kari"))
        assert {o.slug for o in kari.offices} == {"bodo", "tromso"}


# --- the office page -------------------------------------------------------------------


def test_office_page_shows_the_ladder_themes_trend_and_measures(client, app, accounts):
    with app.app_context():
        add_responses("bodo", APRIL, 6, rung=7, index=80.0)
        add_responses("bodo", MAY, 6, rung=3, index=40.0, measures=("mentor", "jobbklubb"))
        add_responses("bodo", JUNE, 8, rung=6, index=60.0)
        # Tromsø's answers vary: the country minus Bodø would otherwise show 30 answers
        # on one rung (or band), and the homogeneity rule would rightly hide Bodø's ladder.
        add_responses("tromso", APRIL, 15, rung=2, index=20.0)
        add_responses("tromso", APRIL, 15, rung=4, index=30.0)
    sign_in(client, "leder")
    html = client.get("/resultater/kontor/bodo?periode=2026-Q2").get_data(as_text=True)
    assert "2. kvartal 2026" in html and "20 svar" in html
    # 20 answers: rungs 3 (6), 6 (8), 7 (6): median is the mean of the 10th and 11th = 6.
    assert '<span class="figure">6,0</span>' in html
    assert "70\u00a0%" in html  # 14 of 20 in reell innflytelse
    figures = [json.loads(unescape(m)) for m in re.findall(r'data-figure="([^"]+)"', html)]
    assert len(figures) == 4
    ladder = figures[0]
    assert [t["name"] for t in ladder["data"]] == [
        "Ikke-deltakelse",
        "Symbolsk deltakelse",
        "Reell innflytelse",
    ]
    order = ladder["layout"]["yaxis"]["categoryarray"]
    assert order[0].startswith("1 ") and order[-1].startswith("8 ")  # rung 1 at the bottom
    # Themes: this office 60 (mean of 80, 40, 60 weighted 6/6/8), the country, last period.
    assert "60 <span" in html
    # Measures: avklaring by 14, mentor and jobbklubb by 6 each.
    assert re.search(r"Avklaring</th><td class=\"num\">14<", html)
    assert re.search(r"Mentor</th><td class=\"num\">6<", html)
    assert "plotly-" in html and "charts.js" in html


def test_office_page_offers_only_fixed_periods(client, app, accounts):
    with app.app_context():
        add_responses("bodo", APRIL, 10)
    sign_in(client, "leder")
    html = client.get("/resultater/kontor/bodo").get_data(as_text=True)
    assert 'value="2026-04"' in html and 'value="2026-Q2"' in html and 'value="2026-H1"' in html
    # An unknown or free-form period falls back to the newest quarter.
    for bad in ("2026-04-01..2026-04-15", "2031-Q1", "x"):
        page = client.get(f"/resultater/kontor/bodo?periode={bad}").get_data(as_text=True)
        assert "2. kvartal 2026" in page


def test_leaders_never_see_free_text(client, app, accounts):
    with app.app_context():
        add_responses("bodo", APRIL, 10)
        db.session.add(
            Comment(
                office_id=office_id("bodo"),
                period_start=APRIL,
                questionnaire_version=1,
                language="nb",
                item_code="hel_fritekst",
                body="Hemmelig fritekst om veilederen",
            )
        )
        db.session.commit()
    sign_in(client, "leder")
    for path in (
        "/resultater/kontor/bodo?periode=2026-Q2",
        "/resultater/kontor/bodo?periode=2026-04",
    ):
        assert "Hemmelig fritekst" not in client.get(path).get_data(as_text=True)


def test_plotly_is_served_from_our_own_server_compressed_with_a_long_cache(client, app, accounts):
    with app.app_context():
        add_responses("bodo", APRIL, 6, rung=7, index=80.0)
        add_responses("bodo", MAY, 6, rung=3, index=40.0)
        add_responses("tromso", APRIL, 15, rung=2, index=20.0)
        add_responses("tromso", APRIL, 15, rung=4, index=30.0)
    sign_in(client, "leder")
    html = client.get("/resultater/kontor/bodo?periode=2026-Q2").get_data(as_text=True)
    assert "data-figure" in html
    script = re.search(r'src="(/static/vendor/plotly/plotly-basic\.min\.js\?v=[0-9a-f]{16})"', html)
    style = re.search(r'href="(/static/vendor/plotly/plotly\.css\?v=[0-9a-f]{16})"', html)
    assert script and style and "//" not in script.group(1)  # our own server, no CDN
    with client.get(script.group(1), headers={"Accept-Encoding": "gzip, br"}) as response:
        assert response.status_code == 200
        assert response.mimetype == "text/javascript"
        assert response.headers["Content-Encoding"] == "br"
        assert "max-age=31536000" in response.headers["Cache-Control"]
        assert "immutable" in response.headers["Cache-Control"]
        assert "Accept-Encoding" in response.headers["Vary"]
        # The basic bundle, brotli-compressed: a third of a megabyte, not 4.8 MB.
        assert 200_000 < len(response.get_data()) < 400_000
    # Its style rules, which the CSP keeps it from injecting, come as a stylesheet.
    with client.get(style.group(1)) as css:
        assert css.mimetype == "text/css" and "max-age=31536000" in css.headers["Cache-Control"]
        assert ".js-plotly-plot .plotly .main-svg{position:absolute" in css.get_data(as_text=True)


def test_respondent_pages_never_load_a_chart_library(client):
    for path in ("/", "/k/bodo"):
        assert "plotly" not in client.get(path).get_data(as_text=True)


# --- small groups on the rendered pages ------------------------------------------------


def shown_counts(html: str) -> dict[str, int]:
    """Office name (or 'Hele landet' / 'Andre kontorer') -> the response count shown."""
    counts = {}
    for name, cell in re.findall(
        r'<th scope="row">(?:<a [^>]+>)?([^<]+)(?:</a>)?</th>\s*'
        r'<td class="num">([^<]*(?:<span class="too-few">[^<]*</span>)?)',
        html,
    ):
        digits = re.sub(r"\D", "", cell)
        if digits:
            counts[name.strip()] = int(digits)
    return counts


def test_a_small_office_is_hidden_and_cannot_be_recovered_from_the_country(client, app, accounts):
    """Bodø has 20 answers, Tromsø 3. Showing Bodø and the country would give Tromsø's
    3 by subtraction, so Bodø is hidden too and both read 'for få svar'."""
    with app.app_context():
        add_responses("bodo", APRIL, 20)
        add_responses("tromso", APRIL, 3)
    sign_in(client, "admin")
    html = client.get("/resultater/oversikt?periode=2026-04").get_data(as_text=True)
    counts = shown_counts(html)
    assert counts.get("Hele landet") == 23
    assert "NAV Bodø" not in counts and "NAV Tromsø" not in counts
    assert html.count("for få svar") >= 2
    # The attack: the country minus every office shown must never leave 1..k-1.
    remainder = counts["Hele landet"] - sum(v for k, v in counts.items() if k.startswith("NAV"))
    assert remainder == 0 or remainder >= 5


def test_small_offices_are_pooled_as_andre_kontorer_when_the_pool_is_big_enough(
    client, app, accounts
):
    with app.app_context():
        db.session.add_all([Office(slug=f"liten-{n}", name=f"NAV Liten {n}") for n in range(3)])
        db.session.commit()
        add_responses("bodo", APRIL, 20)
        add_responses("tromso", APRIL, 12)
        for n in range(3):
            add_responses(f"liten-{n}", APRIL, 2)
    sign_in(client, "admin")
    counts = shown_counts(client.get("/resultater/oversikt?periode=2026-04").get_data(as_text=True))
    assert counts["NAV Bodø"] == 20 and counts["NAV Tromsø"] == 12
    assert counts["Andre kontorer"] == 6 and counts["Hele landet"] == 38
    assert not any(name.startswith("NAV Liten") for name in counts)


def test_a_small_month_cannot_be_recovered_from_its_quarter(client, app, accounts):
    """April 10, May 2, June 10: showing the quarter (22) and both April and June would
    give May's 2; a second month is hidden instead."""
    with app.app_context():
        add_responses("bodo", APRIL, 10)
        add_responses("bodo", MAY, 2)
        add_responses("bodo", JUNE, 10)
        add_responses("tromso", APRIL, 40)
    sign_in(client, "leder")

    def shown(period: str) -> int | None:
        html = client.get(f"/resultater/kontor/bodo?periode={period}").get_data(as_text=True)
        match = re.search(r"·\s*(\d+) svar\s*·", html)
        return int(match.group(1)) if match else None

    quarter = shown("2026-Q2")
    months = {m: shown(m) for m in ("2026-04", "2026-05", "2026-06")}
    assert quarter == 22 and months["2026-05"] is None
    hidden = quarter - sum(v for v in months.values() if v is not None)
    assert hidden == 0 or hidden >= 5
    assert list(months.values()).count(None) >= 2


def test_tally_matches_the_responses_after_submissions_and_after_a_rebuild(client, app):
    from .test_respond import answer_all, send

    for _ in range(3):
        assert send(client, answer_all(client)).status == 303
    with app.app_context():
        from survey import mixer

        mixer.flush()  # submissions wait in the inbox until mixed into the counted tables
        add_responses("tromso", APRIL, 4, measures=("mentor",), useful=-1)

        def grouped():
            t, th = tally_table.c, ThemeTally.__table__.c
            same = [t[name] == th[name] for name in tally.KEY]
            rows = db.session.execute(
                select(
                    t.office_id,
                    t.period_start,
                    t.responses,
                    t.rung_6,
                    func.coalesce(th.n, 0),
                    func.coalesce(th.sum, 0.0),
                ).outerjoin(ThemeTally.__table__, and_(*same, th.theme == "medvirkning"))
            ).all()
            measures = db.session.execute(
                select(MeasureTally.office_id, MeasureTally.measure, MeasureTally.participants)
            ).all()
            # "Var nyttig" / "passet": once per response that took part in a measure.
            summary = db.session.execute(
                select(
                    t.office_id,
                    t.period_start,
                    t.measured,
                    t.useful_answered,
                    t.useful_agreed,
                    t.fit_answered,
                    t.fit_agreed,
                )
            ).all()
            return (
                sorted(map(tuple, rows)),
                sorted(map(tuple, measures)),
                sorted(map(tuple, summary)),
            )

        incremental = grouped()
        tally.rebuild(db.session)
        db.session.commit()
        rebuilt = grouped()
        assert [r[:5] for r in incremental[0]] == [r[:5] for r in rebuilt[0]]
        for a, b in zip(incremental[0], rebuilt[0], strict=True):
            assert a[5] == pytest.approx(b[5])
        assert incremental[1] == rebuilt[1]
        assert incremental[2] == rebuilt[2]
        assert not {m for _, m, _ in rebuilt[1]} & {"ingen", "vet_ikke"}
        # Tromsø's 4 took part in "mentor" but answered "vet ikke" on usefulness.
        tromso = [row for row in rebuilt[2] if row[0] == office_id("tromso")]
        assert [row[2:] for row in tromso] == [(4, 0, 0, 0, 0)]
        total = db.session.scalar(select(func.count()).select_from(Response))
        assert sum(r[2] for r in rebuilt[0]) == total == 7
        assert "mentor" in {m[1] for m in rebuilt[1]}
        mentor = next(m for m in rebuilt[1] if m[1] == "mentor")
        assert mentor[2:] == (4,)  # usefulness is in the tally row: (4, 0, 0, 0, 0) above


def test_snapshot_lattice_counts_match_the_suppression_lattice(app):
    """The snapshot sums each measure up the lattice itself (once per cell); it must give
    exactly what ``suppression.lattice`` gives."""
    from survey.dashboard import data
    from survey.domain.suppression import lattice

    with app.app_context():
        add_responses("bodo", APRIL, 7, rung=2)
        add_responses("bodo", JUNE, 3, rung=8, index=10.0)
        add_responses("tromso", MAY, 9)
        add_responses("tromso", date(2026, 9, 1), 4)
        snap = data.snapshot(1, 5)
        for position in (data.RESPONSES, slice(1, 9), snap.theme_at["relasjon"]):
            expected = lattice(snap._counts(position), snap.offices)[0]
            assert snap._lattice_counts(position) == expected


def test_new_responses_reach_the_dashboard_only_with_a_release(app, monkeypatch):
    """Figures come from the current release: responses added after it change nothing
    until a release covers their month, and a month once released never changes."""
    from survey.dashboard import data
    from survey.domain import periods

    monkeypatch.setattr(periods, "today_in_norway", lambda: date(2026, 5, 10))
    april, may = ReportingPeriod.parse("2026-04"), ReportingPeriod.parse("2026-05")
    with app.app_context():
        add_responses("bodo", APRIL, 10)
        first = data.snapshot(1)
        assert first.cell(office_id("bodo"), april).responses == 10
        add_responses("bodo", APRIL, 5)
        add_responses("bodo", MAY, 7)
    with app.app_context():
        assert data.snapshot(1) is first  # the same release: nothing moved
        assert may not in first.periods("month")
    monkeypatch.setattr(periods, "today_in_norway", lambda: date(2026, 6, 1))
    with app.app_context():
        fresh = data.snapshot(1)
        assert fresh is not first
        assert fresh.cell(office_id("bodo"), may).responses == 7
        assert fresh.cell(office_id("bodo"), april).responses == 10  # released: frozen


def test_snapshots_are_kept_per_app(app, database_url, tmp_path):
    """Two apps on two databases with equal totals never share a snapshot."""
    from survey.dashboard import data

    with app.app_context():
        add_responses("bodo", APRIL, 6)
        mine = data.snapshot(1, 5)
    from .conftest import make_app

    other = make_app(database_url, tmp_path / "other")
    with other.app_context():
        assert data.snapshot(1, 5) is not mine
        db.session.remove()
        db.engine.dispose()
