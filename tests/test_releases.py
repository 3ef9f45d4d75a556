"""Releases (issue 11, point 1 and 3): the rule that decides when figures move, proved by
walking submissions one at a time and comparing every pair of consecutive releases; the
frozen copy; comments stamped by a release; measures; homogeneity; the command, the admin
page and the first-release state."""

from __future__ import annotations

import random
from datetime import date, timedelta
from itertools import pairwise

import pytest
from sqlalchemy import func, select

from survey import releases, tally
from survey.dashboard import data
from survey.domain import periods
from survey.domain.periods import ReportingPeriod, complete_through, next_complete_on
from survey.domain.scoring import band_of
from survey.domain.suppression import NATIONAL, lattice
from survey.extensions import db
from survey.models import (
    AuditEvent,
    Comment,
    Office,
    Release,
    ReleaseCell,
    ReleaseMeasure,
    ReleaseTheme,
    Response,
    release_tally_table,
)

from .test_dashboard import accounts, sign_in  # noqa: F401 - fixture

K = 5


def office_id(slug: str) -> int:
    return db.session.scalar(select(Office.id).where(Office.slug == slug))


def add(
    slug: str,
    month: date,
    rung: int = 6,
    index: float = 60.0,
    measures=("avklaring",),
    useful: int = 4,
    fit: int = 2,
    count: int = 1,
) -> None:
    """Store responses the way a mixed submission lands: the row and its tally."""
    oid = office_id(slug)
    for _ in range(count):
        response = Response(
            office_id=oid,
            period_start=month,
            questionnaire_version=1,
            language="nb",
            answers={
                "med_stige": rung,
                "tilt_deltatt": list(measures),
                "tilt_nyttig": useful,
                "tilt_passet": fit,
            },
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


class Clock:
    """Today, as the app sees it (``periods.today_in_norway``)."""

    today = date(2026, 1, 2)


@pytest.fixture(autouse=True)
def clock(monkeypatch):
    Clock.today = date(2026, 1, 2)
    monkeypatch.setattr(periods, "today_in_norway", lambda: Clock.today)
    return Clock


def publish(today: date, actor="test"):
    """Publish as on ``today``, which is then the app's today too (pages publish lazily)."""
    Clock.today = today
    release = releases.publish(actor, today=today)
    db.session.commit()
    return release


# --- the rule's dates ---------------------------------------------------------------------


def test_complete_through_months_and_weeks():
    assert complete_through(date(2026, 12, 1)) == date(2026, 11, 1)
    assert complete_through(date(2026, 11, 30)) == date(2026, 10, 1)
    # Week precision: November 2026's last Monday is the 30th; its week ends on 6 December.
    assert complete_through(date(2026, 12, 6), "week") == date(2026, 10, 1)
    assert complete_through(date(2026, 12, 7), "week") == date(2026, 11, 1)
    assert next_complete_on(date(2026, 10, 1)) == date(2026, 12, 1)
    assert next_complete_on(date(2026, 10, 1), "week") == date(2026, 12, 7)
    for day in (date(2026, 1, 1) + timedelta(days=n) for n in range(0, 400, 3)):
        for precision in ("month", "week"):
            through = complete_through(day, precision)
            assert through < day.replace(day=1)
            assert complete_through(next_complete_on(through, precision), precision) > through
            before = next_complete_on(through, precision) - timedelta(days=1)
            assert complete_through(before, precision) == through


# --- (a) the walk: consecutive releases differ by new cells of at least k ---------------


def released_cells(release_id: int) -> dict[tuple, int]:
    """(version, family, scope, period code) -> count, for every cell the release shows."""
    rt = release_tally_table.c
    rows = [
        dict(r._mapping) for r in db.session.execute(select(rt).where(rt.release_id == release_id))
    ]
    m = ReleaseMeasure
    measure_rows = db.session.execute(
        select(
            m.office_id, m.period_start, m.questionnaire_version, m.measure, m.participants
        ).where(m.release_id == release_id)
    ).all()
    t = ReleaseTheme
    theme_rows = db.session.execute(
        select(
            t.office_id, t.period_start, t.questionnaire_version, t.theme, t.n, t.sum, t.sumsq
        ).where(t.release_id == release_id)
    ).all()
    counts = releases.family_counts(rows, measure_rows, theme_rows)
    lattices = {}
    for version, families in counts.items():
        offices = sorted({o for fam in families.values() for o, _ in fam})
        for family, months in families.items():
            lattices[(version, family)] = lattice(dict(months), offices)[0]
    shown = {}
    c = ReleaseCell
    for version, family, scope, code in db.session.execute(
        select(c.questionnaire_version, c.family, c.scope, c.period).where(
            c.release_id == release_id
        )
    ):
        cell = (NATIONAL if scope == 0 else scope, ReportingPeriod.parse(code))
        shown[(version, family, scope, code)] = lattices[(version, family)].get(cell, 0)
    return shown


def test_walk_one_submission_at_a_time_consecutive_releases_differ_by_k_or_more(app):
    """Many submissions, one at a time, across months and offices, a release attempted
    after each; every pair of consecutive releases: a cell shown in both is unchanged,
    a cell shown before is shown still, a new shown cell holds at least k."""
    draw = random.Random(11)
    with app.app_context():
        slugs = ["bodo", "tromso"]
        made = []
        day = date(2026, 1, 3)
        for step in range(260):
            slug = draw.choice(slugs)
            rung = draw.choice([2, 3, 5, 6, 6, 7, 8])
            measures = draw.choice(
                [
                    ("avklaring",),
                    ("mentor", "kurs"),
                    ("ingen",),
                    ("individuell_jobbstotte",),
                    ("vet_ikke",),
                ]
            )
            month = day.replace(day=1)
            if step % 17 == 0 and made:  # late: dated in a month already released
                month = periods.add_months(made[-1].through, -draw.randrange(0, 2))
            add(
                slug,
                month,
                rung=rung,
                index=draw.uniform(10, 90),
                measures=measures,
                useful=draw.choice([1, 2, 4, 5, -1]),
                fit=draw.choice([2, 4, 5]),
            )
            release = publish(day)
            if release is not None:
                made.append(release)
            day += timedelta(days=draw.choice([0, 1, 1, 2]))
        assert day > date(2026, 8, 1) and len(made) >= 6
        ids = [r.id for r in made]
        assert ids == list(range(1, len(made) + 1))
        shown = {release_id: released_cells(release_id) for release_id in ids}
        assert any(len(cells) > 10 for cells in shown.values())
        for before, after in pairwise(ids):
            old, new = shown[before], shown[after]
            assert set(old) <= set(new), "a published cell was taken back"
            for cell, value in old.items():
                assert new[cell] == value, f"{cell} moved between releases"
            for cell in set(new) - set(old):
                assert new[cell] >= K, f"new cell {cell} holds fewer than k"
        # The frozen copy: months of an earlier release are copied verbatim.
        rt, th = release_tally_table.c, ReleaseTheme.__table__.c
        for before, after in pairwise(made):

            def rows(release, end=before.end):
                return sorted(
                    tuple(r)
                    for r in db.session.execute(
                        select(rt.office_id, rt.period_start, rt.responses, rt.rung_6).where(
                            rt.release_id == release.id, rt.period_start < end
                        )
                    )
                ) + sorted(
                    tuple(r)
                    for r in db.session.execute(
                        select(th.office_id, th.period_start, th.theme, th.n, th.sum).where(
                            th.release_id == release.id, th.period_start < end
                        )
                    )
                )

            assert rows(before) == rows(after)


def test_a_late_response_in_a_released_month_never_moves_it(app):
    with app.app_context():
        add("bodo", date(2026, 4, 1), count=7, rung=3)
        add("bodo", date(2026, 4, 1), count=3, rung=7)
        first = publish(date(2026, 5, 2))
        april = ReportingPeriod.parse("2026-04")
        assert data.snapshot(1).cell(office_id("bodo"), april).responses == 10
        add("bodo", date(2026, 4, 1), count=4)  # e.g. a repair of April's data
        add("bodo", date(2026, 5, 1), count=6, rung=2)
        add("bodo", date(2026, 5, 1), count=2, rung=6)
        second = publish(date(2026, 6, 1))
        assert second.id == first.id + 1 and second.through == date(2026, 5, 1)
        snap = data.snapshot(1)
        assert snap.release.id == second.id
        assert snap.cell(office_id("bodo"), april).responses == 10
        assert snap.cell(office_id("bodo"), ReportingPeriod.parse("2026-05")).responses == 8
        assert publish(date(2026, 6, 20)) is None  # nothing new: no release


def test_incomplete_quarters_are_not_offered(app):
    with app.app_context():
        add("bodo", date(2026, 4, 1), count=6, rung=3)
        add("bodo", date(2026, 4, 1), count=6, rung=6)
        publish(date(2026, 5, 15))
        snap = data.snapshot(1)
        assert ReportingPeriod.parse("2026-04") in snap.periods("month")
        assert snap.periods("quarter") == [] and snap.periods("half") == []


# --- (d) homogeneity and (e) measures ----------------------------------------------------


def test_an_office_quarter_on_one_rung_shows_no_ladder(app):
    with app.app_context():
        for month in (date(2026, 1, 1), date(2026, 2, 1), date(2026, 3, 1)):
            add("bodo", month, count=5, rung=6)
            add("tromso", month, count=3, rung=2)
            add("tromso", month, count=3, rung=7)
        publish(date(2026, 4, 1))
        snap = data.snapshot(1)
        q1 = ReportingPeriod.parse("2026-Q1")
        cell = snap.cell(office_id("bodo"), q1)
        assert cell.responses == 15  # the count is shown
        assert cell.ladder is None  # but not that all 15 stood on rung 6
        assert all(theme is None for theme in cell.themes.values())  # every index was 60
        # Nor can it be read as the country minus Tromsø.
        national = snap.cell(NATIONAL, q1)
        assert national.ladder is None or snap.cell(office_id("tromso"), q1).ladder is None
        pool = snap.hidden_remainder(q1)
        assert pool is None or pool.ladder is None


def test_one_response_with_ips_makes_no_measure_row_appear(client, app, accounts):
    with app.app_context():
        add("bodo", date(2026, 4, 1), count=5, rung=3, measures=("avklaring",))
        add("bodo", date(2026, 4, 1), count=5, rung=7, measures=("ingen",))
        add("bodo", date(2026, 4, 1), count=1, rung=5, measures=("individuell_jobbstotte",))
        publish(date(2026, 5, 1))
        assert (
            db.session.scalar(
                select(func.count())
                .select_from(ReleaseMeasure)
                .where(ReleaseMeasure.measure.in_(["ingen", "vet_ikke"]))
            )
            == 0
        )
    sign_in(client, "leder")
    html = client.get("/resultater/kontor/bodo?periode=2026-04").get_data(as_text=True)
    assert "11 svar" in html
    assert "Individuell jobbstøtte (IPS)</th>" not in html
    assert "Jeg har ikke vært på noe tiltak</th>" not in html
    assert 'Avklaring</th><td class="num">5<' in html


def test_usefulness_is_counted_once_per_response_that_took_part():
    from types import SimpleNamespace

    def increments(answers):
        return tally.increments(
            SimpleNamespace(
                rung=None,
                answers=answers,
                theme_indices={},
            )
        )

    row, measures, _themes = increments(
        {"tilt_deltatt": ["mentor", "kurs", "avklaring"], "tilt_nyttig": 5, "tilt_passet": 1}
    )
    assert [m["measure"] for m in measures] == ["mentor", "kurs", "avklaring"]
    assert (
        row["measured"],
        row["useful_answered"],
        row["useful_agreed"],
        row["fit_answered"],
        row["fit_agreed"],
    ) == (1, 1, 1, 1, 0)
    row, measures, _themes = increments({"tilt_deltatt": ["ingen"], "tilt_nyttig": 5})
    assert measures == [] and row["measured"] == row["useful_answered"] == 0
    row, measures, _themes = increments({"tilt_deltatt": ["vet_ikke"], "tilt_passet": 4})
    assert measures == [] and row["fit_answered"] == 0


def test_the_office_page_shows_usefulness_once_for_the_office(client, app, accounts):
    with app.app_context():
        for useful, fit, rung in (
            (5, 4, 3),
            (4, 2, 6),
            (2, 5, 7),
            (1, 4, 5),
            (5, 1, 2),
            (4, 4, 6),
            (2, 2, 3),
        ):
            add(
                "bodo",
                date(2026, 4, 1),
                rung=rung,
                useful=useful,
                fit=fit,
                measures=("mentor", "kurs"),
            )
        publish(date(2026, 5, 1))
    sign_in(client, "leder")
    html = client.get("/resultater/kontor/bodo?periode=2026-04").get_data(as_text=True)
    # 7 answered, 4 agreed that it was useful (4 and 5), 4 that it fitted: not 14 answers.
    assert (
        'Det siste tiltaket var nyttig</th><td class="num">57\u00a0%</td><td class="num">7<' in html
    )
    assert (
        'Det siste tiltaket passet for meg</th><td class="num">57\u00a0%</td><td class="num">7<'
        in html
    )


# --- comments, the first release, the command, the admin page ------------------------------


def test_leaders_read_approved_comments_only_once_a_release_stamps_them(client, app, accounts):
    with app.app_context():
        add("bodo", date(2026, 4, 1), count=4, rung=3)
        add("bodo", date(2026, 4, 1), count=4, rung=6)
        db.session.add(
            Comment(
                office_id=office_id("bodo"),
                period_start=date(2026, 4, 1),
                questionnaire_version=1,
                language="nb",
                item_code="hel_fritekst",
                body="Veilederen min lyttet.",
                status="approved",
            )
        )
        db.session.commit()
        first = publish(date(2026, 5, 1))
        assert first.summary["comments_stamped"] == 1
        first_through = first.through
        db.session.add(
            Comment(
                office_id=office_id("bodo"),
                period_start=date(2026, 4, 1),
                questionnaire_version=1,
                language="nb",
                item_code="hel_fritekst",
                body="Det tok lang tid.",
                status="approved",
            )
        )
        db.session.commit()
    sign_in(client, "leder")
    page = client.get("/resultater/kontor/bodo?periode=2026-04").get_data(as_text=True)
    assert "Veilederen min lyttet." in page and "Det tok lang tid." not in page
    with app.app_context():
        second = publish(date(2026, 5, 3))  # no new month, but a comment to show
        assert second is not None and second.through == first_through
        assert publish(date(2026, 5, 4)) is None
    page = client.get("/resultater/kontor/bodo?periode=2026-04").get_data(as_text=True)
    assert "Veilederen min lyttet." in page and "Det tok lang tid." in page


def test_before_the_first_release_pages_say_when_figures_come(client, app, accounts, monkeypatch):
    Clock.today = date(2026, 11, 20)
    with app.app_context():
        add("bodo", date(2026, 11, 1), count=9)
        assert complete_through(date(2026, 11, 20)) == date(2026, 10, 1)
    sign_in(client, "leder")
    html = client.get("/resultater/kontor/bodo").get_data(as_text=True)
    # The lazy first release covers October, which holds nothing: no figures yet.
    assert "Tallene gjelder til og med oktober 2026." in html
    assert "Neste oppdatering kommer tidligst 1. desember 2026." in html
    assert "9 svar" not in html
    with app.app_context():
        releases.drop_all()
        db.session.commit()
        monkeypatch.setattr(releases, "ensure_current", lambda *a, **k: None)
    html = client.get("/resultater/kontor/bodo").get_data(as_text=True)
    assert "Ingen tall er publisert ennå." in html
    assert "De første tallene kommer tidligst 1. desember 2026." in html
    assert "9 svar" not in html


def test_pages_publish_lazily_once_a_month_is_complete(client, app, accounts):
    Clock.today = date(2026, 5, 20)
    with app.app_context():
        add("bodo", date(2026, 4, 1), count=4, rung=3)
        add("bodo", date(2026, 4, 1), count=4, rung=6)
        add("bodo", date(2026, 5, 1), count=8, rung=6)
    sign_in(client, "leder")
    html = client.get("/resultater/kontor/bodo?periode=2026-04").get_data(as_text=True)
    assert "8 svar" in html and 'value="2026-05"' not in html
    Clock.today = date(2026, 6, 1)
    html = client.get("/resultater/kontor/bodo?periode=2026-05").get_data(as_text=True)
    assert "Tallene gjelder til og med mai 2026." in html and "8 svar" in html
    with app.app_context():
        assert [r.made_by for r in releases.all_releases()] == ["auto", "auto"]
        events = db.session.scalars(
            select(AuditEvent).where(AuditEvent.action == "release.publish")
        ).all()
        assert len(events) == 2 and events[-1].details["through"] == "2026-05-01"


def test_two_workers_publishing_at_once_make_one_release(app, monkeypatch):
    from sqlalchemy.exc import IntegrityError

    with app.app_context():
        add("bodo", date(2026, 4, 1), count=6)
        first = publish(date(2026, 5, 1))
        seen = releases.latest()
        # Another worker publishes release 2 after this one read release 1 as the newest.
        db.session.add(
            Release(
                id=2,
                made_at=first.made_at,
                through=date(2026, 5, 1),
                k=K,
                made_by="other worker",
                summary={},
            )
        )
        db.session.commit()
        monkeypatch.setattr(releases, "latest", lambda: seen)
        with pytest.raises(IntegrityError):
            releases.publish("this worker", today=date(2026, 6, 1))
        db.session.rollback()
        assert db.session.scalar(select(func.count()).select_from(Release)) == 2
        assert db.session.scalar(select(Release.made_by).where(Release.id == 2)) == "other worker"


def test_release_commands_publish_and_list(app, runner):
    with app.app_context():
        add("bodo", date(2026, 4, 1), count=6)
    result = runner.invoke(args=["releases", "publish", "--today", "2026-05-02"])
    assert result.exit_code == 0, result.output
    assert "Release 1 published: months through 2026-04" in result.output
    result = runner.invoke(args=["releases", "publish", "--today", "2026-05-03"])
    assert "Nothing new to publish." in result.output
    result = runner.invoke(args=["releases", "list"])
    assert result.output.startswith("1\tthrough 2026-04")
    with app.app_context():
        event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "release.publish"))
        assert event.actor == "shell" and event.details["through"] == "2026-04-01"
        # The log holds the rule's decisions, never a hidden cell's count.
        assert set(event.details) >= {"families", "findings", "new_months"}


def test_admin_page_lists_releases_and_publishes_now(client, app, accounts):
    from .forms import Page

    with app.app_context():
        add("bodo", date(2026, 4, 1), count=6)
    sign_in(client, "admin")
    page = client.get("/admin/utgivelser")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and "Publiser nå" in html
    form = Page(page).values()
    answer = client.post("/admin/utgivelser", data=form, follow_redirects=True)
    html = answer.get_data(as_text=True)
    assert "er publisert" in html or "Ingenting nytt" in html
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Release)) >= 1
    other = app.test_client()
    sign_in(other, "leder")
    assert other.get("/admin/utgivelser").status_code in (302, 403, 404)
    assert other.post("/admin/utgivelser", data=form).status_code in (302, 400, 403, 404)


def test_admin_questionnaire_counts_come_from_the_release(client, app, accounts):
    with app.app_context():
        add("bodo", date(2026, 4, 1), count=6)
        add("tromso", date(2026, 4, 1), count=6)
        publish(date(2026, 5, 1))
        assert data.snapshot(1).published_total() == 12
        add("bodo", date(2026, 4, 1), count=2)
    sign_in(client, "admin")
    html = client.get("/admin/sporreskjema/1").get_data(as_text=True)
    assert "Svar med denne versjonen: 12" in html


def test_snapshot_reads_no_live_tally(app, monkeypatch):
    """Pages read the release: no suppression is worked out per request."""
    from survey import caching
    from survey.dashboard import data as data_module
    from survey.domain import suppression

    with app.app_context():
        add("bodo", date(2026, 4, 1), count=6)
        publish(date(2026, 5, 1))

        def refuse(*args, **kwargs):
            raise AssertionError("protect() called while serving a release")

        monkeypatch.setattr(data_module, "protect", refuse)
        monkeypatch.setattr(suppression, "protect", refuse)
        caching.clear(app)  # build the snapshot afresh, from the release
        snap = data_module.snapshot(1)
        period = ReportingPeriod.parse("2026-04")
        assert snap.cell(office_id("bodo"), period).responses == 6
        assert snap.cell(NATIONAL, period).responses == 6
