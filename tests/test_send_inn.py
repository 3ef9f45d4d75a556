"""Send inn without the answer form (issue 12's throughput): ``forms.posted_data`` reads a
posted page exactly as the WTForms answer form does, the office's open rule is the same in
SQL as in Python, the short way is the one a plain Send inn takes, and it stores the very
row the long way stores."""

from __future__ import annotations

import itertools
import json
from datetime import date, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select
from werkzeug.datastructures import MultiDict

from survey.extensions import db
from survey.models import Inbox, Office
from survey.questionnaire import DONT_KNOW, get
from survey.respond import forms

from .test_storage_order import UNLIMITED, prepared

QUESTIONNAIRES = [get(1), get(2)]
JUNK = st.sampled_from(["", " ", "  3 ", "x", "0", "99", "-1", "3.0", "\x00", "ingen", "12"])


def _raw_values(item, clean: bool) -> st.SearchStrategy[list[str]]:
    """What a browser (``clean``: only what the page offers), or anybody with a script,
    might send for ``item``."""
    if item.type == "text":
        longest = item.max_length if clean else item.max_length + 3
        return st.lists(
            st.text(max_size=longest)
            | st.just(" " * (item.max_length + 2))
            | st.just("a" * (longest)),
            max_size=1 if clean else 2,
        )
    values = [str(value) for value in item.values] + [f" {item.values[0]} ", ""]
    offered = st.sampled_from(values) if clean else st.sampled_from(values) | JUNK
    if item.type == "multi":
        options = [o.value for o in item.options if o.value not in item.exclusive]
        return (
            st.lists(st.sampled_from(options), unique=True)
            if clean
            else st.lists(offered, max_size=4)
        )
    return st.lists(offered, max_size=1 if clean else 2)


@st.composite
def posted(draw, questionnaire):
    clean = draw(st.booleans())
    data = MultiDict()
    for item in questionnaire.items:
        for value in draw(_raw_values(item, clean)):
            data.add(item.code, value)
    return data, clean


@pytest.fixture
def app_config():
    return {"WTF_CSRF_ENABLED": False}


@pytest.mark.parametrize("questionnaire", QUESTIONNAIRES, ids=lambda q: f"v{q.version}")
@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=st.data())
def test_posted_data_reads_a_page_as_the_answer_form_does(app, questionnaire, data):
    """None exactly when the form would not validate; otherwise each field's data, and
    the same answers stored."""
    formdata, clean = data.draw(posted(questionnaire))
    with app.test_request_context("/", method="POST"):
        form = forms.answer_form(questionnaire, "nb", formdata=formdata)
        valid = form.validate()
        read = forms.posted_data(questionnaire, formdata)
        assert (read is not None) == valid, form.errors
        assert valid or not clean  # what a page offers is always read (so both sides run)
        if valid:
            assert read == {item.code: form[item.code].data for item in questionnaire.items}
            assert forms.stored_answers(questionnaire, read) == forms.answers_of(
                form, questionnaire
            )


def test_posted_data_refuses_each_kind_of_wrong_answer():
    v1 = get(1)
    good = MultiDict({"med_stige": "3", "tilt_deltatt": "avklaring", "hel_fritekst": "ok"})
    assert forms.posted_data(v1, good) is not None
    for code, wrong in [
        ("med_stige", "9"),
        ("med_stige", "tre"),
        ("bak_alder", "3.5"),
        ("tilt_deltatt", "finnes_ikke"),
        ("hel_fritekst", "x" * (v1.item("hel_fritekst").max_length + 1)),
    ]:
        changed = good.copy()
        changed[code] = wrong  # replaces every value under ``code``
        assert forms.posted_data(v1, changed) is None, code
    exclusive = v1.item("tilt_deltatt").exclusive[0]
    both = MultiDict([("tilt_deltatt", "avklaring"), ("tilt_deltatt", exclusive)])
    assert forms.posted_data(v1, both) is None
    # "Vet ikke" where the item offers it, blank as not answered.
    assert (
        forms.posted_data(v1, MultiDict({"med_stige": str(DONT_KNOW), "med_spurt": " "}))[
            "med_spurt"
        ]
        is None
    )


def test_the_open_rule_is_the_same_in_sql_as_in_python(app):
    """``Office.is_open_on`` read by the submission's INSERT … SELECT and by the pages."""
    day = date(2026, 5, 14)
    edges = [None, day - timedelta(days=1), day, day + timedelta(days=1)]
    with app.app_context():
        offices = []
        for n, (active, opens, closes) in enumerate(itertools.product([True, False], edges, edges)):
            offices.append(
                Office(slug=f"k{n}", name=f"K{n}", active=active, opens_on=opens, closes_on=closes)
            )
        db.session.add_all(offices)
        db.session.commit()
        for on in (day - timedelta(days=1), day, day + timedelta(days=1)):
            in_sql = set(
                db.session.scalars(
                    select(Office.slug).where(Office.slug.like("k%"), Office.is_open_on(on))
                )
            )
            in_python = {office.slug for office in offices if office.is_open_on(on)}
            assert in_sql == in_python
            assert 0 < len(in_python) < len(offices)


def _inbox_rows():
    rows = db.session.execute(
        select(
            Inbox.office_id,
            Inbox.period_start,
            Inbox.questionnaire_version,
            Inbox.language,
            Inbox.answers,
            Inbox.texts,
        )
    ).all()
    return [
        (*row[:4], json.dumps(row[4], sort_keys=True), json.dumps(row[5], sort_keys=True))
        for row in rows
    ]


@pytest.mark.parametrize("app_config", [UNLIMITED | {"STIGEN_MIX_BATCH": 10_000}])
def test_a_plain_send_inn_takes_the_short_way_and_stores_what_the_long_way_stores(
    app, client, monkeypatch
):
    action, data = prepared(client, 7)
    built = []
    real_form = forms.answer_form
    monkeypatch.setattr(
        "survey.respond.views.answer_form", lambda *a, **k: built.append(1) or real_form(*a, **k)
    )
    assert client.post(action, data=data).status_code == 303
    assert built == []  # no form was built: the short way stored it
    with app.app_context():
        short = _inbox_rows()
        db.session.query(Inbox).delete()
        db.session.commit()

    monkeypatch.setattr("survey.respond.views._sent_as_is", lambda slug: None)
    data["nonce"] = "f" * 32
    assert client.post(action, data=data).status_code == 303
    assert built  # the long way built the form
    with app.app_context():
        assert _inbox_rows() == short and len(short) == 1


@pytest.mark.parametrize("app_config", [UNLIMITED | {"STIGEN_MIX_BATCH": 10_000}])
def test_whatever_the_short_way_refuses_the_long_way_answers(app, client):
    """A closed office, an office that asks for codes, a wrong answer, a Send inn sent
    twice: the same outcome as before the short way existed."""
    action, data = prepared(client, 8)
    assert client.post(action, data=data).status_code == 303
    again = client.post(action, data=data)  # a resent form: stored once, thanked again
    assert again.status_code == 303
    with app.app_context():
        assert db.session.query(Inbox).count() == 1

    wrong = data.copy()
    wrong["nonce"], wrong["med_spurt"] = "e" * 32, "7"
    page = client.post(action, data=wrong)
    assert page.status_code == 200 and "Velg ett av alternativene" in page.get_data(as_text=True)

    with app.app_context():
        office = db.session.scalar(select(Office).where(Office.slug == "bodo"))
        office.codes_required = True
        db.session.commit()
    coded = data.copy()
    coded["nonce"] = "d" * 32
    page = client.post(action, data=coded)
    assert page.status_code == 200 and 'name="code"' in page.get_data(as_text=True)

    with app.app_context():
        office = db.session.scalar(select(Office).where(Office.slug == "bodo"))
        office.codes_required, office.active = False, False
        db.session.commit()
    coded["nonce"] = "c" * 32
    page = client.post(action, data=coded)
    assert page.status_code == 200
    with app.app_context():
        assert db.session.query(Inbox).count() == 1  # nothing more stored


@pytest.mark.parametrize("app_config", [UNLIMITED | {"STIGEN_MIX_BATCH": 10_000}])
def test_the_short_way_asks_the_database_which_version_is_live(app, client, monkeypatch):
    """The short way reads the posted page with the versions this process saw last and
    asks nothing first, so its one INSERT checks that the version is live now. Another
    worker making version 2 live (the process has not asked since) sends a version-1
    Send inn the long way: stored as version 1 in its day of grace, and after that day not
    stored, the respondent shown version 2's questions."""
    from datetime import UTC, datetime

    from survey import versions
    from survey.models import Setting

    built = []
    real_form = forms.answer_form
    monkeypatch.setattr(
        "survey.respond.views.answer_form", lambda *a, **k: built.append(1) or real_form(*a, **k)
    )
    action, data = prepared(client, 3)
    built.clear()  # the pages drawn on the way
    with app.app_context():
        assert set(versions.last_seen()) >= {1, 2}  # the walk asked: the process knows both
        versions.make_live(2)  # as another worker would: in the database only
        db.session.commit()
    assert client.post(action, data=data).status_code == 303
    assert built  # the INSERT refused the short way: version 1 is no longer live
    with app.app_context():
        assert db.session.scalars(select(Inbox.questionnaire_version)).all() == [1]
        # A day and more later, version 1's grace is over.
        retired = db.session.get(Setting, versions.RETIRED_PREFIX + "1")
        retired.value = (datetime.now(UTC) - versions.GRACE - timedelta(hours=1)).isoformat()
        db.session.commit()
    built.clear()
    data["nonce"] = "a" * 32
    page = client.post(action, data=data)
    assert page.status_code == 200 and built
    with app.app_context():
        assert db.session.query(Inbox).count() == 1  # nothing more stored


def test_with_the_database_away_each_app_falls_back_on_what_it_saw_itself(app, tmp_path):
    """``for_respondent`` serves the questionnaire's pages with the database away (the
    versions table unreadable: a real error from the real database): what this app saw
    last when it has asked before (version 2 live), and the shipped files with the
    configured version in an app that never asked, never another app's record."""
    from sqlalchemy import text

    from survey import versions

    from .conftest import make_app

    def unreadable(flask_app, away: bool):
        with flask_app.app_context():
            names = ("setting", "setting_away") if away else ("setting_away", "setting")
            db.session.execute(text(f"ALTER TABLE {names[0]} RENAME TO {names[1]}"))
            db.session.commit()

    with app.app_context():
        versions.make_live(2)
        db.session.commit()
        assert versions.for_respondent()[1:] == (2, frozenset({1, 2}))
    fresh = make_app(app.config["SQLALCHEMY_DATABASE_URI"], tmp_path / "fresh")
    unreadable(app, away=True)
    try:
        with app.app_context():
            found, live, accepting = versions.for_respondent()
            assert (live, accepting) == (2, frozenset({1, 2})) and set(found) >= {1, 2}
            assert versions.last_seen() is found
        with fresh.app_context():
            configured = fresh.config["STIGEN_QUESTIONNAIRE_VERSION"]
            assert versions.for_respondent()[1:] == (configured, frozenset({configured}))
            assert versions.last_seen() is None
        unreadable(app, away=False)
        with fresh.app_context():
            assert versions.for_respondent()[1] == 2  # back: it asks, and learns
            assert set(versions.last_seen()) >= {1, 2}
    finally:
        with app.app_context():
            if "setting_away" in db.inspect(db.engine).get_table_names():
                unreadable(app, away=False)
        with fresh.app_context():
            db.session.remove()
            db.engine.dispose()
