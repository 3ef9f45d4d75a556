"""Insiders attacking the rendered pages and files (issue 11, "Proof"): every role reloads
everything it can reach before and after one more response; an LP attacker with
non-negativity and known zeros reads every figure a researcher or a leader could collect
across all releases."""

from __future__ import annotations

import csv
import io
import random
import re
from datetime import date

import pytest
from sqlalchemy import select

from survey import releases
from survey.domain import periods
from survey.domain.periods import ReportingPeriod
from survey.domain.suppression import NATIONAL, lattice
from survey.extensions import db
from survey.models import Office, ReleaseTheme, release_tally_table

from .attacker import pinned_small
from .test_dashboard import make_account, sign_in
from .test_releases import add

K = 5
TODAY = date(2026, 11, 22)


class Clock:
    today = TODAY


@pytest.fixture(autouse=True)
def clock(monkeypatch):
    Clock.today = TODAY
    monkeypatch.setattr(periods, "today_in_norway", lambda: Clock.today)
    return Clock


def normalised(body: bytes) -> bytes:
    """A page as its reader compares it: the CSRF token differs per request by design
    (it is signed with the time), nothing else may."""
    return re.sub(rb'(<input[^>]*name="csrf_token"[^>]*value=")[^"]*"', rb'\1"', body)


def seed(draw: random.Random, slugs, months) -> None:
    for slug in slugs:
        for month in months:
            count = draw.choice([0, 1, 2, 3, 4, 6, 7, 9])
            for _ in range(count):
                add(
                    slug,
                    month,
                    rung=draw.choice([2, 3, 4, 6, 7, 8]),
                    index=draw.choice([20.0, 45.0, 70.0, 90.0]),
                    measures=draw.choice(
                        [
                            ("avklaring",),
                            ("mentor",),
                            ("ingen",),
                            ("individuell_jobbstotte",),
                            ("kurs", "mentor"),
                        ]
                    ),
                    useful=draw.choice([1, 2, 4, 5]),
                    fit=draw.choice([2, 4, 5]),
                )


@pytest.fixture
def offices(app):
    with app.app_context():
        db.session.add_all(
            [Office(slug="alta", name="NAV Alta"), Office(slug="hammerfest", name="NAV Hammerfest")]
        )
        db.session.commit()
        make_account("admin", "admin")
        make_account("leder", "leder", "bodo")
        make_account("forsker", "forsker")
    return ["bodo", "tromso", "alta", "hammerfest"]


ROLE_PAGES = {
    "leder": [
        "/resultater/kontor/bodo",
        "/resultater/kontor/bodo?periode=2026-Q3",
        "/resultater/kontor/bodo?periode=2026-09",
        "/resultater/kontor/bodo?periode=2026-H1",
        "/resultater/oversikt",
        "/k/bodo/resultater",
    ],
    "forsker": [
        "/resultater/oversikt",
        "/resultater/oversikt?periode=2026-09",
        "/resultater/kontor/tromso?periode=2026-Q3",
        "/eksport/aggregert.csv?inndeling=month",
        "/eksport/aggregert.csv?inndeling=quarter",
        "/eksport/aggregert.csv?inndeling=half",
    ],
    "admin": [
        "/admin/sporreskjema",
        "/admin/sporreskjema/1",
        "/resultater/oversikt",
        "/admin/utgivelser",
    ],
    None: ["/k/bodo/resultater", "/k/tromso/resultater", "/k/alta/resultater"],
}


def fetch_all(clients) -> dict:
    pages = {}
    for role, paths in ROLE_PAGES.items():
        for path in paths:
            response = clients[role].get(path, follow_redirects=True)
            assert response.status_code == 200, (role, path)
            pages[(role, path)] = normalised(response.get_data())
    return pages


def test_one_more_response_changes_nothing_any_role_can_see(app, offices):
    """Before and after one response (through the form, and one more dated in a month
    already released): every page and file each role can reach is byte-identical, until
    the next release."""
    from .test_respond import answer_all, send

    draw = random.Random(1122)
    with app.app_context():
        seed(draw, offices, [date(2026, m, 1) for m in range(6, 12)])
    clients = {role: app.test_client() for role in ROLE_PAGES}
    for role in ("leder", "forsker", "admin"):
        assert sign_in(clients[role], role).status_code in (302, 303)
    before = fetch_all(clients)
    assert (
        b"Tallene gjelder til og med oktober 2026." in before[("leder", "/resultater/kontor/bodo")]
    )
    assert b"svar" in before[("forsker", "/resultater/oversikt")]

    respondent = app.test_client()
    assert send(respondent, answer_all(respondent)).status == 303
    with app.app_context():
        from survey import mixer

        mixer.flush()
        add("bodo", date(2026, 9, 1), rung=1, index=5.0, measures=("individuell_jobbstotte",))
    after = fetch_all(clients)
    changed = [key for key in before if before[key] != after[key]]
    assert changed == []

    # The next release adds November; everything about earlier periods stays as it was.
    Clock.today = date(2026, 12, 1)
    later = fetch_all(clients)
    assert (
        b"Tallene gjelder til og med november 2026." in later[("leder", "/resultater/kontor/bodo")]
    )
    with app.app_context():
        assert [r.through for r in releases.all_releases()][:2] == [
            date(2026, 11, 1),
            date(2026, 10, 1),
        ]
    for kind in ("month", "quarter", "half"):
        path = f"/eksport/aggregert.csv?inndeling={kind}"
        old = csv_rows(before[("forsker", path)])
        new = csv_rows(later[("forsker", path)])
        for key, row in old.items():
            assert new[key] == row, key  # an old row never moves
        for key in set(new) - set(old):  # a new row: each shown count at least k
            for column in ("responses", "ladder_n", "medvirkning_n"):
                value = new[key][column]
                assert value == "" or int(value) >= K, (key, column)


def csv_rows(body: bytes) -> dict[tuple[str, str], dict[str, str]]:
    reader = csv.DictReader(io.StringIO(body.decode("utf-8-sig")))
    return {(row["office"], row["period"]): row for row in reader}


def true_lattices(release_id: int, offices: dict[str, int]):
    """The true counts of each family over the reporting lattice, from the release."""
    rt = release_tally_table.c
    rows = [
        dict(r._mapping) for r in db.session.execute(select(rt).where(rt.release_id == release_id))
    ]
    t = ReleaseTheme
    theme_rows = db.session.execute(
        select(
            t.office_id, t.period_start, t.questionnaire_version, t.theme, t.n, t.sum, t.sumsq
        ).where(t.release_id == release_id)
    ).all()
    counts = releases.family_counts(rows, [], theme_rows)[1]
    ids = sorted(offices.values())
    return {
        family: lattice(dict(counts[family]), ids)
        for family in ("responses", "ladder", "theme:medvirkning")
    }


COLUMN_OF = {"responses": "responses", "ladder": "ladder_n", "theme:medvirkning": "medvirkning_n"}


def test_an_lp_attacker_over_every_release_pins_no_small_count(app, client, offices):
    """A researcher downloads aggregert.csv at every release (months, quarters and
    half-years) and a leader reads their office page for every period; together, with
    non-negativity and months after the last release known to be empty, no hidden count
    of 1..k-1 has an upper bound below k."""
    draw = random.Random(20261201)
    with app.app_context():
        seed(draw, offices, [date(2026, m, 1) for m in range(1, 11)])
        ids = dict(db.session.execute(select(Office.slug, Office.id)).all())
    researcher, leader = app.test_client(), app.test_client()
    sign_in(researcher, "forsker")
    sign_in(leader, "leder")
    published: dict[str, dict] = {family: {} for family in COLUMN_OF}
    for month in range(2, 12):
        Clock.today = date(2026, month, 1)
        for kind in ("month", "quarter", "half"):
            body = researcher.get(f"/eksport/aggregert.csv?inndeling={kind}").get_data()
            for (office, code), row in csv_rows(body).items():
                if office == "andre":
                    continue  # the country minus the offices shown: implied by them
                scope = NATIONAL if office == "hele_landet" else ids[office]
                cell = (scope, ReportingPeriod.parse(code))
                for family, column in COLUMN_OF.items():
                    if row[column] != "":
                        value = int(row[column])
                        assert published[family].setdefault(cell, value) == value, cell
        html = leader.get("/resultater/kontor/bodo").get_data(as_text=True)
        for code in re.findall(r'<option value="(\d{4}-(?:\d\d|Q\d|H\d))"', html):
            page = leader.get(f"/resultater/kontor/bodo?periode={code}").get_data(as_text=True)
            found = re.search(r"<strong>[^<]*</strong> ·\s*([\d\xa0 ]+) svar", page)
            if found:
                cell = (ids["bodo"], ReportingPeriod.parse(code))
                value = int(re.sub(r"\D", "", found.group(1)))
                assert published["responses"].setdefault(cell, value) == value, cell
    with app.app_context():
        last = releases.latest()
        assert last.through == date(2026, 10, 1)
        lattices = true_lattices(last.id, ids)
    assert len(published["responses"]) > 20
    for family, (counts, relations) in lattices.items():
        known = {cell: 0 for cell in counts if cell[1].start >= last.end}
        for cell, value in published[family].items():
            assert counts[cell] == value, (family, cell)  # the pages tell the truth
        found = pinned_small(published[family], relations, K, known=known, counts=counts)
        assert not found, (family, found)
        hidden_small = [
            c
            for c, n in counts.items()
            if 0 < n < K and c not in published[family] and c not in known
        ]
        assert hidden_small  # the attack had something to find
