"""Only the live version accepts answers (issue 11, "Versions"), and the version a
respondent started on while it was live, for a day after it stopped being live. A form
naming any other version gets its page back in the live version, with the answers to the
items both share, and a note; nothing is stored."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from survey import versions
from survey.extensions import db
from survey.models import Response, Setting

from .forms import settle
from .test_questionnaire_versions import ADDED, REMOVED, v2_source
from .test_respond import FULL, answer_all, send

SWITCHED = "Spørreskjemaet er byttet ut med en ny versjon"


def publish_v2(app, live: bool = False) -> None:
    """Publish version 1's file as version 3 (1 and 2 are shipped) from the shell."""
    with app.app_context():
        versions.publish(v2_source(), "shell")
        if live:
            versions.make_live(3, "shell")
        db.session.commit()


def make_live(app, number: int) -> None:
    with app.app_context():
        versions.make_live(number, "shell")
        db.session.commit()


def stored_versions(app) -> list[int]:
    """The version of every stored response, once the mixer has moved every waiting
    submission into the counted tables."""
    settle(app)
    with app.app_context():
        return sorted(db.session.scalars(select(Response.questionnaire_version)))


def retire_earlier(app, number: int, hours: float) -> None:
    """Move the moment ``number`` stopped being live back by ``hours``: time passing."""
    with app.app_context():
        setting = db.session.get(Setting, f"{versions.RETIRED_PREFIX}{number}")
        when = datetime.fromisoformat(setting.value) - timedelta(hours=hours)
        setting.value = when.isoformat()
        db.session.commit()


# --- the rule -----------------------------------------------------------------------------


def test_a_published_version_never_live_accepts_nothing(app):
    publish_v2(app)
    with app.app_context():
        assert versions.live_version() == 1
        assert versions.accepting() == frozenset({1})


def test_make_live_records_when_the_previous_version_stopped_being_live(app):
    publish_v2(app, live=True)
    with app.app_context():
        retired = db.session.get(Setting, f"{versions.RETIRED_PREFIX}1")
        when = datetime.fromisoformat(retired.value)
        assert timedelta(0) <= datetime.now(UTC) - when < timedelta(minutes=1)
        assert versions.accepting() == frozenset({1, 3})
        assert versions.accepting(now=when + versions.GRACE) == frozenset({1, 3})
        later = when + versions.GRACE + timedelta(seconds=1)
        assert versions.accepting(now=later) == frozenset({3})
        # Live again: version 1 needs no grace any more, version 3 gets one.
        versions.make_live(1, "shell")
        db.session.commit()
        assert db.session.get(Setting, f"{versions.RETIRED_PREFIX}1") is None
        assert db.session.get(Setting, f"{versions.RETIRED_PREFIX}3") is not None
        assert versions.accepting(now=later) == frozenset({1})


# --- through the form -------------------------------------------------------------------


def test_posting_a_published_never_live_version_stores_nothing_in_it(app, client):
    publish_v2(app)
    last = answer_all(client)
    assert last.hidden("v") == ["1"]
    for nav in ("submit", "next"):
        tampered = last.submit(client, ("nav", nav), {**last.pending, "v": "3"})
        assert tampered.status == 200
        assert SWITCHED in tampered.html
        assert tampered.hidden("v") == ["1"]  # back in the live version, on its first page
        assert tampered.visible_items()[0] == "med_stige"
        assert tampered.checked("med_stige") == [str(FULL["med_stige"])]
        assert tampered.hidden("bak_alder") == [str(FULL["bak_alder"])]
    assert stored_versions(app) == []
    # The page it gave back is a good form: sending it from the last page stores it in 1.
    page = tampered
    while 'value="check"' not in page.html:  # the last page leads to the check page
        page = page.submit(client, ("nav", "next"))
    assert page.submit(client, ("nav", "submit")).status == 303
    assert stored_versions(app) == [1]


def test_an_unknown_or_garbage_version_gets_the_live_one(app, client):
    last = answer_all(client)
    for version in ("9", "0", "x", ""):
        back = last.submit(client, ("nav", "submit"), {**last.pending, "v": version})
        assert back.status == 200 and SWITCHED in back.html and back.hidden("v") == ["1"]
    assert stored_versions(app) == []


def test_who_started_on_the_old_version_may_finish_within_the_grace(app):
    early, late = app.test_client(), app.test_client()
    early_last, late_last = answer_all(early), answer_all(late)  # both under way on 1
    publish_v2(app, live=True)
    retire_earlier(app, 1, hours=23)
    assert send(early, early_last).status == 303  # 23 hours on: still accepted, in 1
    assert stored_versions(app) == [1]
    retire_earlier(app, 1, hours=2)  # 25 hours on: the grace is over
    refused = send(late, late_last)
    assert refused.status == 200 and SWITCHED in refused.html
    assert refused.hidden("v") == ["3"]
    # Kept: the answers to items both versions have; gone: the one version 3 dropped.
    assert refused.checked("med_stige") == [str(FULL["med_stige"])]
    assert refused.hidden("rel_lytter") == [str(FULL["rel_lytter"])]
    assert refused.hidden(REMOVED) == [] and refused.hidden(ADDED) == []
    assert stored_versions(app) == [1]
    # Carried on in version 3, it is stored in version 3.
    page = refused
    while 'value="check"' not in page.html:  # the last page leads to the check page
        page = page.submit(
            late, ("nav", "next"), {ADDED: 2} if ADDED in page.visible_items() else {}
        )
    assert page.submit(late, ("nav", "submit")).status == 303
    assert stored_versions(app) == [1, 3]


@pytest.mark.parametrize(
    "lang, words", [("nn", "Spørjeskjemaet er bytt ut"), ("en", "The questionnaire was replaced")]
)
def test_the_note_is_in_the_respondents_language(app, client, lang, words):
    client.get(f"/?lang={lang}")
    last = answer_all(client)
    back = last.submit(client, ("nav", "submit"), {**last.pending, "v": "7"})
    assert back.status == 200 and words in back.html
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Response)) == 0
