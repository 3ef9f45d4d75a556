"""The respondent's way through, every validation path, and nothing lost."""

from __future__ import annotations

import contextlib
import re

import pytest
from sqlalchemy import func, select

from survey.domain.scoring import score
from survey.extensions import db
from survey.models import Comment, Office, Response, SubmissionReceipt
from survey.questionnaire import get

from .forms import Page, settle, start

V1 = get(1)
LAST = len(V1.pages)

# A complete set of answers, by item code, as a respondent would give them.
FULL = {
    "med_stige": 6,
    "med_spurt": 5,
    "med_alvor": 4,
    "med_tiltak": 4,
    "med_plan": 3,
    "med_overhode": 2,
    "sti_navbruker": 2,
    "sti_kontoret": 1,
    "sti_tiltak": -1,
    "sti_rundt": 3,
    "sti_skjuler": 4,
    "tal_klar": 4,
    "tal_neste": 3,
    "tal_tid": 4,
    "tal_venting": 2,
    "tal_rettigheter": 2,
    "rel_lytter": 5,
    "rel_forstar": 5,
    "rel_bryr": 4,
    "rel_tillit": 4,
    "rel_gjenta": 2,
    "rel_antall": 2,
    "tilt_deltatt": ["avklaring", "jobbklubb"],
    "tilt_passet": 3,
    "tilt_nyttig": 4,
    "hel_fornoyd": 4,
    "hel_situasjon": 3,
    "hel_fritekst": "Mer tid til hver samtale.",
    "bak_alder": 2,
    "bak_varighet": 3,
}


def count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def answer_all(client, answers=FULL, slug="bodo", **kwargs) -> Page:
    """Walk every page, answering from ``answers``; returns the last page, unsent."""
    page = start(client, slug, **kwargs)
    for _ in range(LAST):
        # Branching may skip a page (the programme page without tilt_deltatt), so the
        # number on the page may run ahead of the pages walked.
        assert re.search(rf"\b(\d+) (av|of) {LAST}\b", page.html)
        shown = {code: answers[code] for code in page.visible_items() if code in answers}
        if f"{LAST} av {LAST}" in page.html or f"{LAST} of {LAST}" in page.html:
            return Page.with_answers(page, shown)
        page = page.submit(client, ("nav", "next"), shown, **kwargs)
        assert page.status == 200, page.html
    raise AssertionError("never reached the last page")


def _with_answers(page: Page, answers: dict) -> Page:
    page.pending = answers
    return page


Page.with_answers = staticmethod(_with_answers)


def send(client, page: Page, **kwargs):
    return page.submit(client, ("nav", "submit"), getattr(page, "pending", {}), **kwargs)


def test_front_page_lists_active_offices_and_searches_without_javascript(client):
    html = client.get("/").get_data(as_text=True)
    assert "NAV Bodø" in html and "NAV Tromsø" in html
    assert "NAV Stengt" not in html
    found = client.get("/?q=troms").get_data(as_text=True)
    assert "NAV Tromsø" in found and "NAV Bodø" not in found
    none = client.get("/?q=zzz").get_data(as_text=True)
    assert "Ingen kontor passer" in none
    assert "<script" not in html


def test_start_page_says_what_is_collected_before_asking_anything(client):
    html = client.get("/k/bodo").get_data(as_text=True)
    for promise in (
        "Du er anonym",
        "frivillig",
        "slutte når du vil",
        "minst 5 personer",
        "IP-adressen",
    ):
        assert promise in html
    assert 'type="radio"' not in html


def test_the_whole_flow_stores_one_response_with_its_scores(client, app):
    last = answer_all(client)
    assert last.visible_items() == ["bak_alder", "bak_varighet"]
    done = send(client, last)
    assert done.status == 303
    assert done.response.headers["Location"].endswith("/k/bodo/takk")
    thanks = client.get("/k/bodo/takk").get_data(as_text=True)
    assert "Takk for at du svarte" in thanks
    settle(app)
    with app.app_context():
        response = db.session.scalars(select(Response)).one()
        expected = {k: v for k, v in FULL.items() if k != "hel_fritekst"}
        assert response.answers == expected
        scores = score(V1, expected)
        assert (response.rung, response.band) == (6, 3)
        assert response.theme_indices["medvirkning"] == scores.theme_indices["medvirkning"]
        assert response.theme_indices["relasjon"] == scores.theme_indices["relasjon"]
        assert response.language == "nb" and response.questionnaire_version == 1
        comment = db.session.scalars(select(Comment)).one()
        # Held until k have gathered or the period ends (survey.mixer), then pending.
        assert comment.body == "Mer tid til hver samtale." and comment.status == "held"


@pytest.mark.parametrize("lang, word", [("nn", "Side"), ("en", "Page")])
def test_the_whole_flow_in_nynorsk_and_english(client, app, lang, word):
    client.get(f"/?lang={lang}")
    first = start(client)
    assert f'<html lang="{lang}">' in first.html
    assert V1.pages[0].title(lang) in first.html
    assert f"{word} 1" in first.html
    last = answer_all(client)
    assert send(client, last).status == 303
    settle(app)
    with app.app_context():
        assert db.session.scalars(select(Response.language)).one() == lang


# Half of the 21 scored items, rounded up (scoring.counts_as_response): the ladder and the
# stigma and patience pages; everything else skipped.
HALF = {"med_stige": 6, **{code: 3 for code in FULL if code.startswith(("sti_", "tal_"))}}


def test_any_question_may_be_skipped_once_half_the_scored_items_are_answered(client, app):
    """Every question but these may be skipped, and any of these could be swapped for
    another; an all-empty form is not a response (tests/test_counted_response.py)."""
    assert len(HALF) == 11
    last = answer_all(client, answers=HALF)
    assert send(client, last).status == 303
    settle(app)
    with app.app_context():
        response = db.session.scalars(select(Response)).one()
        assert response.answers == HALF and response.rung == 6
        assert "medvirkning" not in response.theme_indices
        assert "relasjon" not in response.theme_indices
        assert count(Comment) == 0


def test_a_tampered_value_is_shown_beside_its_field_and_nothing_else_is_lost(client, app):
    page = start(client)
    page = page.submit(client, answers={"med_stige": 3, "med_spurt": 99, "med_plan": "x"})
    assert page.visible_items()[0] == "med_stige"  # still on the first page
    assert page.error_for("med_spurt") == "Velg ett av alternativene."
    assert page.error_for("med_plan") == "Velg ett av alternativene."
    assert 'aria-describedby="med_spurt-error' in page.html or 'med_spurt-error"' in page.html
    assert page.checked("med_stige") == ["3"]
    fixed = page.submit(client, answers={"med_spurt": 5, "med_plan": 4})
    assert fixed.visible_items()[0].startswith("sti_")
    assert fixed.hidden("med_stige") == ["3"] and fixed.hidden("med_spurt") == ["5"]


def test_a_tampered_hidden_answer_brings_its_page_back_with_the_error(client):
    page = start(client).submit(client, answers={"med_spurt": 4})
    page = page.submit(client, answers={"sti_rundt": 2})
    assert page.visible_items()[0].startswith("tal_")
    page = page.submit(client, answers={"med_spurt": 7})  # a hidden field, altered
    assert page.visible_items()[0] == "med_stige"
    assert page.error_for("med_spurt")
    assert page.hidden("sti_rundt") == ["2"]


def test_vet_ikke_cannot_be_combined_with_measures(client):
    page = start(client)
    for _ in range(4):
        page = page.submit(client)
    assert "tilt_deltatt" in page.visible_items()
    again = page.submit(client, answers={"tilt_deltatt": ["avklaring", "vet_ikke"]})
    assert "kan ikke kombineres" in again.error_for("tilt_deltatt")
    assert again.checked("tilt_deltatt") == ["avklaring", "vet_ikke"]
    unknown = page.submit(client, answers={"tilt_deltatt": ["teleportering"]})
    assert unknown.error_for("tilt_deltatt") == "Velg blant alternativene i listen."


def test_free_text_over_the_limit_is_refused_but_kept(client):
    page = start(client)
    for _ in range(5):
        page = page.submit(client)
    assert "hel_fritekst" in page.visible_items()
    long_text = "Veldig lang tekst. " * 60  # 1140 characters
    again = page.submit(client, answers={"hel_fritekst": long_text})
    assert "høyst 1000 tegn" in again.error_for("hel_fritekst")
    assert long_text.strip() in again.html


def test_back_keeps_answers_from_later_pages(client):
    page = start(client).submit(client, answers={"med_stige": 5})
    page = page.submit(client, answers={"sti_navbruker": 4})
    assert page.visible_items()[0].startswith("tal_")
    page = page.submit(client, ("nav", "back"), answers={"tal_klar": 2})
    assert page.visible_items()[0].startswith("sti_")
    assert page.checked("sti_navbruker") == ["4"]
    page = page.submit(client, ("nav", "back"))
    assert page.checked("med_stige") == ["5"]
    assert page.hidden("tal_klar") == ["2"]


def test_switching_language_keeps_every_answer(client):
    page = start(client).submit(client, answers={"med_stige": 8, "med_spurt": 2})
    assert page.visible_items()[0].startswith("sti_")
    switched = page.submit(client, ("lang", "nn"), answers={"sti_skjuler": 5, "sti_rundt": 1})
    assert '<html lang="nn">' in switched.html
    assert V1.pages[1].title("nn") in switched.html
    assert switched.checked("sti_skjuler") == ["5"] and switched.checked("sti_rundt") == ["1"]
    assert switched.hidden("med_stige") == ["8"]
    english = switched.submit(client, ("lang", "en"))
    assert '<html lang="en">' in english.html and english.checked("sti_rundt") == ["1"]
    # The choice sticks for the pages that follow.
    assert '<html lang="en">' in english.submit(client).html


def test_an_expired_or_missing_csrf_token_costs_no_answers(client, app):
    page = start(client).submit(client, answers={"med_stige": 2})
    stale = page.submit(client, answers={"sti_navbruker": 5}, drop=["csrf_token"])
    assert stale.visible_items()[0] == "sti_navbruker"  # same page, not lost, not advanced
    assert "Svarene dine er tatt vare på" in stale.html
    assert stale.checked("sti_navbruker") == ["5"] and stale.hidden("med_stige") == ["2"]
    assert stale.submit(client).visible_items()[0].startswith("tal_")


def test_a_new_session_mid_questionnaire_costs_no_answers(client, app):
    page = start(client).submit(client, answers={"med_stige": 7})
    fresh = app.test_client()  # the session cookie is gone, as after a browser restart
    resumed = page.submit(fresh, answers={"sti_rundt": 3})
    assert "Svarene dine er tatt vare på" in resumed.html
    assert resumed.checked("sti_rundt") == ["3"] and resumed.hidden("med_stige") == ["7"]


def test_a_double_click_or_resent_form_is_stored_once(client, app):
    last = answer_all(client)
    assert send(client, last).status == 303
    assert send(client, last).status == 303  # the same form again, e.g. a double click
    settle(app)
    with app.app_context():
        assert count(Response) == 1
        assert count(SubmissionReceipt) == 1
        assert count(Comment) == 1


def test_two_respondents_are_two_responses(client, app):
    for _ in range(2):
        assert send(client, answer_all(client)).status == 303
    settle(app)
    with app.app_context():
        assert count(Response) == 2


def test_submit_is_only_accepted_from_the_last_page(client, app):
    page = start(client)
    moved = page.submit(client, ("nav", "submit"))
    assert moved.status == 200
    settle(app)
    with app.app_context():
        assert count(Response) == 0


def test_unknown_office_gets_a_friendly_page_in_the_respondents_language(client):
    response = client.get("/k/finnes-ikke?lang=nn")
    assert response.status_code == 404
    html = response.get_data(as_text=True)
    assert '<html lang="nn">' in html and 'href="/"' in html
    assert client.post("/k/finnes-ikke/svar").status_code == 404


def test_closed_office_gets_a_friendly_closed_page(client, app):
    html = client.get("/k/stengt").get_data(as_text=True)
    assert "stengt" in html.lower() and 'type="radio"' not in html
    posted = client.post("/k/stengt/svar", data={"nav": "start"})
    assert "stengt" in posted.get_data(as_text=True).lower()
    settle(app)
    with app.app_context():
        assert count(Response) == 0


def test_get_on_the_questionnaire_goes_to_the_start_page(client):
    response = client.get("/k/bodo/svar")
    assert response.status_code == 302 and response.headers["Location"].endswith("/k/bodo")


def test_questionnaire_pages_are_accessible_by_construction(client):
    page = start(client)
    html = page.html
    assert html.count("<fieldset") == len(V1.pages[0].items)
    assert html.count("<legend") == len(V1.pages[0].items)
    assert 'class="skip-link"' in html
    # every radio has a label tied to it
    import re

    for input_id in re.findall(r'<input type="radio" id="([^"]+)"', html):
        assert f'<label for="{input_id}">' in html
    # Works without JavaScript: the one script is the deferred enhancement, nothing inline.
    assert re.findall(r"<script[^>]*>.*?</script>", html, re.S) == [
        re.search(
            r'<script src="/static/js/respond\.js\?v=[0-9a-f]{16}" defer></script>', html
        ).group(0)
    ]


def test_a_failed_save_stores_nothing_and_keeps_every_answer(client, app, database_url):
    """The database refuses the write (locked by another process): a friendly page,
    nothing half-written, every answer still in the form, and a resend works."""
    last = answer_all(client)
    with _database_locked(app, database_url):
        failed = send(client, last)
    assert failed.status == 503
    assert "ingenting er lagret" in failed.html
    for code in ("bak_alder", "bak_varighet"):
        assert failed.checked(code) == [str(FULL[code])]
    assert failed.hidden("med_stige") == ["6"]
    assert failed.hidden("tilt_deltatt") == ["avklaring", "jobbklubb"]
    settle(app)
    with app.app_context():
        assert count(Response) == count(Comment) == count(SubmissionReceipt) == 0
    retried = failed.submit(client, ("nav", "submit"))
    assert retried.status == 303
    settle(app)
    with app.app_context():
        assert count(Response) == count(Comment) == count(SubmissionReceipt) == 1


class _database_locked:
    """Hold a lock that keeps every writer out, from another connection, as another
    process would."""

    def __init__(self, app, url):
        self.app, self.url = app, url

    def __enter__(self):
        from sqlalchemy import create_engine, text

        if self.url.startswith("sqlite"):
            self.engine = create_engine(self.url)
            self.connection = self.engine.connect()
            self.connection.exec_driver_sql("BEGIN EXCLUSIVE")
        else:
            self.engine = create_engine(self.url)
            self.connection = self.engine.connect()
            self.connection.execute(text("BEGIN"))
            self.connection.execute(text("LOCK TABLE submission_receipt IN ACCESS EXCLUSIVE MODE"))
        from sqlalchemy import event

        sqlite = self.url.startswith("sqlite")
        with self.app.app_context():
            db.engine.dispose()  # new connections, which wait only briefly for the lock

            @event.listens_for(db.engine, "connect")
            def _short_lock_timeout(dbapi_connection, record):
                cursor = dbapi_connection.cursor()
                cursor.execute(
                    "PRAGMA busy_timeout = 200" if sqlite else "SET lock_timeout = '200ms'"
                )
                cursor.close()
                if not sqlite:  # kept for the connection's life, not only until a rollback
                    dbapi_connection.commit()

        return self

    def __exit__(self, *exc):
        self.connection.rollback()
        self.connection.close()
        self.engine.dispose()
        with self.app.app_context():
            db.engine.dispose()


@pytest.mark.parametrize("app_config", [{"STIGEN_SUBMIT_LIMIT": "2 per minute"}])
def test_too_many_submissions_from_one_address_get_a_friendly_page_with_answers_kept(client, app):
    for _ in range(2):
        assert send(client, answer_all(client)).status == 303
    last = answer_all(client)
    limited = send(client, last)
    assert limited.status == 429
    assert "vente et par minutter" in limited.html
    assert limited.checked("bak_alder") == [str(FULL["bak_alder"])]
    assert limited.hidden("med_stige") == ["6"] and limited.hidden("hel_fritekst")
    settle(app)
    with app.app_context():
        assert count(Response) == 2
    # Another address is not held back.
    other = app.test_client()
    assert (
        send(
            other,
            answer_all(other, environ_base={"REMOTE_ADDR": "10.9.8.7"}),
            environ_base={"REMOTE_ADDR": "10.9.8.7"},
        ).status
        == 303
    )


@pytest.mark.parametrize("app_config", [{"STIGEN_PAGE_LIMIT": "3 per minute"}])
def test_moving_between_pages_is_limited_too_without_losing_answers(client):
    page = start(client).submit(client, answers={"med_stige": 4})
    page = page.submit(client, answers={"sti_rundt": 2})
    limited = page.submit(client, answers={"tal_klar": 5})
    assert limited.status == 429
    assert limited.checked("tal_klar") == ["5"] and limited.hidden("med_stige") == ["4"]


class _Proxy:
    """A TCP relay on loopback to the real database server, which the test can stop and
    start again: the database "goes away" as a stopped server or a cut network would."""

    def __init__(self, target_port: int):
        import socket
        import threading

        self.socket, self.threading = socket, threading
        self.target_port = target_port
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.links: list = []
        self.open = True
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            if not self.open:
                client.close()
                continue
            server = self.socket.create_connection(("127.0.0.1", self.target_port))
            self.links += [client, server]
            for a, b in ((client, server), (server, client)):
                self.threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    @staticmethod
    def _pipe(source, sink):
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass
        finally:
            for end in (source, sink):
                with contextlib.suppress(OSError):
                    end.close()

    def stop(self):
        self.open = False
        for link in self.links:
            with contextlib.suppress(OSError):
                link.shutdown(self.socket.SHUT_RDWR)
        self.links.clear()

    def start(self):
        self.open = True

    def close(self):
        self.stop()
        self.listener.close()


def test_the_database_going_away_mid_questionnaire_loses_nothing(database_url, tmp_path):
    """The database server stops (PostgreSQL) or its file disappears (SQLite) while the
    respondent is on the last page: a friendly page, every answer still in the form,
    nothing half-written; when it is back, the same form is stored once."""
    import os
    import shutil

    from sqlalchemy import make_url

    from .conftest import make_app

    proxy = None
    if database_url.startswith("sqlite"):
        url = database_url
    else:
        proxy = _Proxy(make_url(database_url).port or 5432)
        url = (
            make_url(database_url)
            .set(host="127.0.0.1", port=proxy.port)
            .render_as_string(hide_password=False)
        )
    app = make_app(url, tmp_path / "instance")
    try:
        with app.app_context():
            db.session.add(Office(slug="bodo", name="NAV Bodø"))
            db.session.commit()
        client = app.test_client()
        last = answer_all(client)
        path = database_url.removeprefix("sqlite:///")
        with app.app_context():
            db.engine.dispose()
        if proxy:
            proxy.stop()
        else:
            shutil.move(path, path + ".away")
        gone = send(client, last)
        assert gone.status == 503 and "ingenting er lagret" in gone.html
        assert gone.checked("bak_alder") == [str(FULL["bak_alder"])]
        assert gone.hidden("med_stige") == ["6"] and gone.hidden("hel_fritekst")
        if proxy:
            proxy.start()
        else:
            with app.app_context():
                db.engine.dispose()
            os.remove(path)  # the empty file SQLite made while the real one was away
            shutil.move(path + ".away", path)
        assert gone.submit(client, ("nav", "submit")).status == 303
        settle(app)
        with app.app_context():
            assert count(Response) == count(SubmissionReceipt) == count(Comment) == 1
    finally:
        with app.app_context():
            db.session.remove()
            db.engine.dispose()
        if proxy:
            proxy.close()
