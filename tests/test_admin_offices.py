"""Offices, links, QR codes, posters and survey periods: the admin pages, the commands,
and what a respondent sees."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from datetime import date, timedelta

import pytest
from sqlalchemy import func, select

from survey.extensions import db
from survey.models import AuditEvent, Office, Response

from .forms import Page, settle
from .test_dashboard import APRIL, add_responses, make_account, sign_in
from .test_respond import answer_all, send

TODAY = date(2026, 5, 14)


@pytest.fixture
def today(monkeypatch):
    """Pin today's date where admin pages and the respondent side read it."""
    state = {"day": TODAY}

    def set_day(day: date) -> None:
        state["day"] = day

    for module in ("survey.admin.offices", "survey.respond.views", "survey.admin.office_commands"):
        monkeypatch.setattr(f"{module}.today_in_norway", lambda: state["day"])
    return set_day


@pytest.fixture
def admin(app, client, today):
    with app.app_context():
        make_account("admin", "admin")
        make_account("leder", "leder", "bodo")
        make_account("forsker", "forsker")
    sign_in(client, "admin")
    return client


def office(app, slug: str) -> Office:
    with app.app_context():
        found = db.session.scalar(select(Office).where(Office.slug == slug))
        db.session.expunge_all()
        return found


def events(app, action: str | None = None) -> list[AuditEvent]:
    with app.app_context():
        statement = select(AuditEvent).order_by(AuditEvent.id)
        if action:
            statement = statement.where(AuditEvent.action == action)
        found = db.session.scalars(statement).all()
        db.session.expunge_all()
        return found


def token(client, url: str = "/personvern") -> str:
    html = client.get(url).get_data(as_text=True)
    return re.search(r'name="csrf_token"[^>]*value="([^"]+)"', html).group(1)


def post(client, url: str, **data):
    return client.post(url, data={"csrf_token": token(client), **data})


def fill(data, values: dict):
    """Type ``values`` into the form's fields (replacing what was there)."""
    for name, value in values.items():
        data[name] = value
    return data


def closed(html: str) -> bool:
    return "Undersøkelsen er stengt akkurat nå" in html


# --- Done when: from nothing to a printed poster and an open period, without a shell ----


def test_an_admin_sets_up_an_office_from_nothing_to_a_poster_and_an_open_period(app, admin):
    index = admin.get("/admin/").get_data(as_text=True)
    assert 'href="/admin/kontor"' in index and 'href="/admin/perioder"' in index
    listing = admin.get("/admin/kontor").get_data(as_text=True)
    assert 'href="/admin/kontor/ny"' in listing

    form = Page(admin.get("/admin/kontor/ny"))
    data = form.values()
    assert data["opens_from"] == "2026-05"  # this month, suggested
    fill(
        data,
        {
            "name": "NAV Sortland",
            "municipality": "Sortland",
            "county": "Nordland",
            "slug": "",
            "opens_from": "2026-06",
        },
    )  # hung up now, open from June
    created = admin.post(form.action, data=data)
    assert created.status_code == 303 and created.headers["Location"] == "/admin/kontor/sortland"
    sortland = office(app, "sortland")
    assert (sortland.name, sortland.municipality, sortland.county) == (
        "NAV Sortland",
        "Sortland",
        "Nordland",
    )
    assert (sortland.opens_on, sortland.closes_on) == (date(2026, 6, 1), None)

    page = admin.get("/admin/kontor/sortland").get_data(as_text=True)
    assert "http://localhost/k/sortland" in page and "<svg" in page
    for href in ("/plakat", "/plakat.svg", "/qr.svg", "/qr.png"):
        assert f'href="/admin/kontor/sortland{href}"' in page

    poster = admin.get("/admin/kontor/sortland/plakat")
    html = poster.get_data(as_text=True)
    assert poster.status_code == 200
    assert "http://localhost/k/sortland" in html and 'class="poster-qr"' in html
    assert "Du er anonym" in html and "mellom 18 og 29 år" in html
    assert "style=" not in html and "<script" not in html
    svg = admin.get("/admin/kontor/sortland/plakat.svg")
    assert svg.mimetype == "image/svg+xml" and "attachment" in svg.headers["Content-Disposition"]
    root = ET.fromstring(svg.data)
    assert root.get("viewBox") == "0 0 210 297"
    assert "http://localhost/k/sortland" in "".join(t.text or "" for t in root.iter())
    assert admin.get("/admin/kontor/sortland/qr.png").data.startswith(b"\x89PNG")
    assert ET.fromstring(admin.get("/admin/kontor/sortland/qr.svg").data).tag.endswith("svg")

    respondent = app.test_client()
    before = respondent.get("/k/sortland").get_data(as_text=True)
    assert closed(before) and "Undersøkelsen åpner 1. juni 2026." in before

    opened = post(admin, "/admin/kontor/sortland/apne")
    assert opened.status_code == 303
    assert (office(app, "sortland").opens_on, office(app, "sortland").closes_on) == (
        date(2026, 5, 1),
        None,
    )
    assert not closed(respondent.get("/k/sortland").get_data(as_text=True))
    assert [e.action for e in events(app)] == ["office.create", "period.open"]
    assert all(e.actor == "admin" for e in events(app))
    assert events(app)[0].details["office"] == "sortland"


def test_validation_errors_are_shown_beside_the_field_with_the_input_kept(app, admin):
    form = Page(admin.get("/admin/kontor/ny"))
    data = form.values()
    fill(
        data,
        {
            "name": "NAV Øksnes",
            "municipality": "Øksnes",
            "slug": "Øksnes!",
            "opens_from": "2026-13",
            "opens_to": "mai",
        },
    )
    page = Page(admin.post(form.action, data=data))
    assert page.status == 200
    assert "små bokstaver" in page.error_for("slug")
    assert "for eksempel 2026-09" in page.error_for("opens_from")
    assert "for eksempel 2026-09" in page.error_for("opens_to")
    values = page.values()
    assert (
        values["name"],
        values["municipality"],
        values["slug"],
        values["opens_from"],
        values["opens_to"],
    ) == ("NAV Øksnes", "Øksnes", "Øksnes!", "2026-13", "mai")
    assert 'aria-invalid="true"' in page.html

    fill(data, {"slug": "bodo", "opens_from": "2026-05", "opens_to": "2026-04"})
    page = Page(admin.post(form.action, data=data))
    assert "tatt" in page.error_for("slug")
    assert "før" in page.error_for("opens_to")
    fill(data, {"slug": "ny", "opens_to": ""})
    assert "reservert" in Page(admin.post(form.action, data=data)).error_for("slug")
    fill(data, {"name": "", "slug": ""})
    assert "navnet" in Page(admin.post(form.action, data=data)).error_for("name")
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Office)) == 3
    assert events(app) == []


def test_a_name_can_change_but_never_the_slug(app, admin):
    form = Page(admin.get("/admin/kontor/bodo/endre"))
    assert "kan ikke endres" in form.html
    assert not [f for f in form.fields if f.get("name") == "slug"]
    data = form.values()
    assert data["name"] == "NAV Bodø"
    fill(data, {"name": "NAV Bodø sentrum", "slug": "ny-bodo"})
    assert admin.post(form.action, data=data).status_code == 303
    bodo = office(app, "bodo")
    assert bodo.name == "NAV Bodø sentrum" and office(app, "ny-bodo") is None
    (event,) = events(app, "office.rename")
    assert event.details == {
        "office": "bodo",
        "changed": {"name": ["NAV Bodø", "NAV Bodø sentrum"]},
    }

    fill(data, {"name": "NAV Bodø sentrum", "county": "Nordland fylke"})
    admin.post(form.action, data=data)
    assert events(app, "office.edit")[0].details["changed"] == {
        "county": ["Nordland", "Nordland fylke"]
    }
    data["name"] = ""
    page = Page(admin.post(form.action, data=data))
    assert page.error_for("name") and office(app, "bodo").name == "NAV Bodø sentrum"


def test_a_deactivated_office_keeps_its_responses_and_its_link_shows_closed(app, admin):
    with app.app_context():
        add_responses("bodo", APRIL, 6)
    respondent = app.test_client()
    assert not closed(respondent.get("/k/bodo").get_data(as_text=True))
    assert post(admin, "/admin/kontor/bodo/deaktiver").status_code == 303
    assert not office(app, "bodo").active
    assert closed(respondent.get("/k/bodo").get_data(as_text=True))
    assert closed(respondent.post("/k/bodo/svar", data={"nav": "start"}).get_data(as_text=True))
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Response)) == 6
    listing = admin.get("/admin/kontor").get_data(as_text=True)
    assert listing.count("Deaktivert") == 2  # bodo and the fixture's closed office

    assert post(admin, "/admin/kontor/bodo/aktiver").status_code == 303
    assert office(app, "bodo").active
    assert not closed(respondent.get("/k/bodo").get_data(as_text=True))
    assert [e.action for e in events(app)] == ["office.deactivate", "office.activate"]


def test_the_office_period_in_whole_months(app, admin):
    response = post(admin, "/admin/kontor/bodo/periode", opens_from="2026-01", opens_to="2026-02")
    assert response.status_code == 303
    bodo = office(app, "bodo")
    assert (bodo.opens_on, bodo.closes_on) == (date(2026, 1, 1), date(2026, 2, 28))
    (event,) = events(app, "period.set")
    assert event.details == {
        "office": "bodo",
        "before": [None, None],
        "after": ["2026-01-01", "2026-02-28"],
    }
    page = Page(post(admin, "/admin/kontor/bodo/periode", opens_from="2026-07", opens_to="2026-6"))
    assert page.status == 200 and "for eksempel" in page.error_for("opens_to")
    assert 'value="2026-6"' in page.html
    assert office(app, "bodo").closes_on == date(2026, 2, 28)


def test_open_and_closed_follow_the_period(app, admin, today):
    post(admin, "/admin/kontor/bodo/periode", opens_from="2026-06", opens_to="2026-08")
    respondent = app.test_client()
    for day, is_closed in [
        (date(2026, 5, 31), True),
        (date(2026, 6, 1), False),
        (date(2026, 8, 31), False),
        (date(2026, 9, 1), True),
    ]:
        today(day)
        html = respondent.get("/k/bodo").get_data(as_text=True)
        assert closed(html) == is_closed, day
    today(date(2026, 5, 31))
    assert "1. juni 2026" in respondent.get("/k/bodo").get_data(as_text=True)
    english = respondent.get("/k/bodo?lang=en").get_data(as_text=True)
    assert "June 1, 2026" in english  # the date in the respondent's language
    today(date(2026, 9, 1))
    assert "åpner" not in respondent.get("/k/bodo?lang=nb").get_data(as_text=True)


def test_a_respondent_under_way_when_the_period_ends_gets_a_days_grace(app, admin, today):
    post(admin, "/admin/kontor/bodo/periode", opens_from="2026-05", opens_to="2026-05")
    today(date(2026, 5, 31))
    late = app.test_client()
    last = answer_all(late)
    today(date(2026, 6, 1))  # closed since midnight
    assert closed(app.test_client().get("/k/bodo").get_data(as_text=True))
    sent = send(late, last)
    assert sent.status == 303 and sent.response.headers["Location"].endswith("/k/bodo/takk")
    settle(app)
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Response)) == 1

    today(date(2026, 5, 31))
    later = app.test_client()
    last = answer_all(later)
    today(date(2026, 6, 2))  # a day's grace, no more
    refused = send(later, last)
    assert closed(refused.html)
    settle(app)
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Response)) == 1


def test_close_now_and_open_now(app, admin, today):
    assert post(admin, "/admin/kontor/bodo/steng").status_code == 303
    bodo = office(app, "bodo")
    assert bodo.closes_on == TODAY - timedelta(days=1) and bodo.opens_on is None
    assert closed(app.test_client().get("/k/bodo").get_data(as_text=True))
    assert "Stengt" in admin.get("/admin/kontor/bodo").get_data(as_text=True)

    # A period that has not begun is dropped by "close now", so it cannot reopen by itself.
    post(admin, "/admin/kontor/tromso/periode", opens_from="2026-07")
    post(admin, "/admin/kontor/tromso/steng")
    tromso = office(app, "tromso")
    assert (tromso.opens_on, tromso.closes_on) == (None, TODAY - timedelta(days=1))

    post(admin, "/admin/kontor/bodo/apne")
    bodo = office(app, "bodo")
    assert (bodo.opens_on, bodo.closes_on) == (date(2026, 5, 1), None)
    assert not closed(app.test_client().get("/k/bodo").get_data(as_text=True))
    assert [e.action for e in events(app)] == [
        "period.close",
        "period.set",
        "period.close",
        "period.open",
    ]


def test_periods_for_all_offices_at_once(app, admin):
    page = Page(admin.get("/admin/perioder"))
    assert page.status == 200 and "NAV Tromsø" in page.html
    data = page.values()
    fill(data, {"opens_from": "2026-07", "opens_to": "2026-12"})
    assert admin.post("/admin/perioder", data=data).status_code == 303
    for slug in ("bodo", "tromso"):
        assert (office(app, slug).opens_on, office(app, slug).closes_on) == (
            date(2026, 7, 1),
            date(2026, 12, 31),
        )
    stengt = office(app, "stengt")  # deactivated: left as it was
    assert (stengt.opens_on, stengt.closes_on, stengt.active) == (None, None, False)
    (event,) = events(app, "period.set")
    assert event.details["all_offices"] is True
    assert set(event.details["offices"]) == {"bodo", "tromso"}

    assert post(admin, "/admin/perioder/steng").status_code == 303
    assert all(office(app, s).closes_on == TODAY - timedelta(days=1) for s in ("bodo", "tromso"))
    assert post(admin, "/admin/perioder/apne").status_code == 303
    assert all(
        (office(app, s).opens_on, office(app, s).closes_on) == (date(2026, 5, 1), None)
        for s in ("bodo", "tromso")
    )
    assert [e.action for e in events(app)] == ["period.set", "period.close", "period.open"]

    fill(data, {"opens_from": "juli"})
    page = Page(admin.post("/admin/perioder", data=data))
    assert page.status == 200 and "for eksempel" in page.error_for("opens_from")
    assert len(events(app)) == 3


def test_the_link_follows_stigen_base_url(app, admin):
    app.config["STIGEN_BASE_URL"] = "https://stigen.example.no/app/"
    html = admin.get("/admin/kontor/bodo").get_data(as_text=True)
    assert "https://stigen.example.no/app/k/bodo" in html
    poster = admin.get("/admin/kontor/bodo/plakat.svg").get_data(as_text=True)
    assert "https://stigen.example.no/app/k/bodo" in poster


@pytest.mark.parametrize("role", ["leder", "forsker"])
def test_other_roles_get_404_even_with_a_valid_token(app, client, role, today):
    with app.app_context():
        make_account(role, role, *(["bodo"] if role == "leder" else []))
    sign_in(client, role)
    for url in (
        "/admin/kontor/bodo/deaktiver",
        "/admin/kontor/bodo/aktiver",
        "/admin/kontor/bodo/periode",
        "/admin/kontor/bodo/apne",
        "/admin/kontor/bodo/steng",
        "/admin/perioder",
        "/admin/perioder/apne",
        "/admin/perioder/steng",
        "/admin/kontor/ny",
        "/admin/kontor/bodo/endre",
    ):
        assert post(client, url, opens_from="2026-01", name="X").status_code == 404, url
    assert office(app, "bodo").active and office(app, "bodo").opens_on is None
    assert events(app) == []


def test_unknown_offices_are_404(admin):
    for url in (
        "/admin/kontor/finnes-ikke",
        "/admin/kontor/finnes-ikke/plakat",
        "/admin/kontor/finnes-ikke/qr.svg",
        "/admin/kontor/finnes-ikke/endre",
    ):
        assert admin.get(url).status_code == 404
    assert post(admin, "/admin/kontor/finnes-ikke/steng").status_code == 404


# --- flask offices / flask periods -----------------------------------------------------------


def test_the_commands_do_what_the_pages_do_audited_as_shell(app, runner, today, tmp_path):
    result = runner.invoke(
        args=[
            "offices",
            "create",
            "NAV Lødingen",
            "--municipality",
            "Lødingen",
            "--county",
            "Nordland",
            "--from",
            "2026-06",
        ]
    )
    assert result.exit_code == 0, result.output
    lodingen = office(app, "lodingen")
    assert (lodingen.name, lodingen.opens_on, lodingen.closes_on) == (
        "NAV Lødingen",
        date(2026, 6, 1),
        None,
    )
    assert runner.invoke(args=["offices", "create", "Igjen", "--slug", "lodingen"]).exit_code != 0
    assert runner.invoke(args=["offices", "create", "X", "--slug", "Bad Slug"]).exit_code != 0

    listed = runner.invoke(args=["offices", "list"]).output
    assert "lodingen" in listed and "closed" in listed and "deactivated" in listed

    assert (
        runner.invoke(
            args=["offices", "edit", "lodingen", "--name", "NAV Lødingen og Tjeldsund"]
        ).exit_code
        == 0
    )
    assert office(app, "lodingen").name == "NAV Lødingen og Tjeldsund"
    assert runner.invoke(args=["offices", "deactivate", "lodingen"]).exit_code == 0
    assert not office(app, "lodingen").active
    assert runner.invoke(args=["offices", "activate", "lodingen"]).exit_code == 0

    # Links need to know where respondents reach Stigen.
    png, svg = tmp_path / "qr.png", tmp_path / "plakat.svg"
    assert runner.invoke(args=["offices", "qr", "lodingen", "--out", str(png)]).exit_code != 0
    assert (
        runner.invoke(
            args=[
                "offices",
                "qr",
                "lodingen",
                "--out",
                str(png),
                "--base-url",
                "https://stigen.example.no",
            ]
        ).exit_code
        == 0
    )
    assert png.read_bytes().startswith(b"\x89PNG")
    app.config["STIGEN_BASE_URL"] = "https://stigen.example.no"
    result = runner.invoke(args=["offices", "poster", "lodingen", "--out", str(svg)])
    assert result.exit_code == 0, result.output
    root = ET.fromstring(svg.read_bytes())
    assert root.get("viewBox") == "0 0 210 297"
    assert "https://stigen.example.no/k/lodingen" in "".join(t.text or "" for t in root.iter())

    assert (
        runner.invoke(
            args=["periods", "open", "--office", "bodo", "--from", "2026-01", "--to", "2026-03"]
        ).exit_code
        == 0
    )
    assert office(app, "bodo").closes_on == date(2026, 3, 31)
    assert runner.invoke(args=["periods", "open", "--all", "--from", "2026-13"]).exit_code != 0
    assert runner.invoke(args=["periods", "open", "--from", "2026-01"]).exit_code != 0
    assert runner.invoke(args=["periods", "open", "--all", "--from", "2026-09"]).exit_code == 0
    assert all(office(app, s).opens_on == date(2026, 9, 1) for s in ("bodo", "tromso", "lodingen"))
    assert office(app, "stengt").opens_on is None
    assert runner.invoke(args=["periods", "close", "--office", "tromso"]).exit_code == 0
    assert office(app, "tromso").closes_on == TODAY - timedelta(days=1)

    actions = [(e.action, e.actor) for e in events(app)]
    assert actions == [
        ("office.create", "shell"),
        ("office.rename", "shell"),
        ("office.deactivate", "shell"),
        ("office.activate", "shell"),
        ("period.set", "shell"),
        ("period.set", "shell"),
        ("period.close", "shell"),
    ]
