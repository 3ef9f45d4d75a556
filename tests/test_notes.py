""" "Dette gjør vi": leaders write, change and delete notes for their own office only;
researchers read; every change is audited; the ``flask notes`` command does the same."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import select

from survey.domain import periods
from survey.extensions import db
from survey.models import ActionNote, AuditEvent

from .forms import Page
from .test_dashboard import make_account, office_id, sign_in

NOTES = "/resultater/kontor/{slug}/dette-gjor-vi"


def add_note(
    slug: str,
    you_said: str = "Vi vil vite mer om tiltakene.",
    we_do: str = "Alle får en oversikt over tiltakene i første samtale.",
    written_on: date = date(2026, 9, 1),
) -> int:
    note = ActionNote(
        office_id=office_id(slug), written_on=written_on, you_said=you_said, we_do=we_do
    )
    db.session.add(note)
    db.session.commit()
    return note.id


@pytest.fixture
def accounts(app):
    with app.app_context():
        make_account("admin", "admin")
        make_account("leder", "leder", "bodo")
        make_account("leder2", "leder", "tromso")
        make_account("forsker", "forsker")


@pytest.fixture
def today(monkeypatch):
    day = date(2031, 2, 3)
    monkeypatch.setattr(periods, "today_in_norway", lambda: day)
    return day


def events(app, action: str) -> list[AuditEvent]:
    with app.app_context():
        return list(db.session.scalars(select(AuditEvent).where(AuditEvent.action == action)))


def all_notes(app) -> list[ActionNote]:
    with app.app_context():
        return list(db.session.scalars(select(ActionNote).order_by(ActionNote.id)))


def write(client, slug: str, you_said: str, we_do: str) -> Page:
    page = Page(client.get(NOTES.format(slug=slug)))
    assert page.status == 200, page.html
    data = page.values()
    data["you_said"], data["we_do"] = you_said, we_do
    return Page(client.post(page.action, data=data))


# --- writing ---------------------------------------------------------------------------


def test_a_leader_adds_a_note_for_their_office_dated_today_and_audited(
    app, client, accounts, today
):
    sign_in(client, "leder")
    response = write(client, "bodo", "  Dere venter lenge på svar. ", "Vi svarer innen to dager.")
    assert response.status == 302
    [note] = all_notes(app)
    assert note.you_said == "Dere venter lenge på svar."  # trimmed
    assert note.we_do == "Vi svarer innen to dager."
    assert note.written_on == today
    with app.app_context():
        assert note.office_id == office_id("bodo")
    [event] = events(app, "note.create")
    assert event.actor == "leder"
    assert event.details == {"office": "bodo", "note": note.id}
    listing = client.get(NOTES.format(slug="bodo")).get_data(as_text=True)
    assert "Notatet er lagt til" in listing and "Vi svarer innen to dager." in listing


@pytest.mark.parametrize(
    ("you_said", "we_do", "field", "message"),
    [
        ("", "Vi gjør noe.", "you_said", "Skriv hva de unge sa."),
        ("Dere sa noe.", "   \n ", "we_do", "Skriv hva kontoret gjør."),
        ("x" * 601, "Vi gjør noe.", "you_said", "høyst 600 tegn"),
        ("Dere sa noe.", "y" * 700, "we_do", "Nå er den 700 tegn"),
    ],
)
def test_bad_input_is_refused_with_a_message_and_the_typed_text_is_kept(
    app, client, accounts, you_said, we_do, field, message
):
    sign_in(client, "leder")
    page = write(client, "bodo", you_said, we_do)
    assert page.status == 400
    assert message in page.error_for(field)
    typed = {f["name"]: f["value"] for f in page.fields if f["tag"] == "textarea"}
    other = "we_do" if field == "you_said" else "you_said"
    assert typed[other].strip() == {"you_said": you_said, "we_do": we_do}[other].strip()
    if field == "you_said" and you_said:
        assert typed["you_said"].strip() == you_said  # the over-long text is not lost
    assert all_notes(app) == [] and events(app, "note.create") == []


def test_exactly_600_characters_and_control_characters_are_fine(app, client, accounts):
    sign_in(client, "leder")
    assert write(client, "bodo", "a" * 600, "Vi\x00 gjør\r\nnoe.").status == 302
    [note] = all_notes(app)
    assert note.you_said == "a" * 600 and note.we_do == "Vi gjør\nnoe."


def test_a_leader_edits_a_note_and_it_keeps_its_date(app, client, accounts):
    with app.app_context():
        note_id = add_note("bodo")
    sign_in(client, "leder")
    page = Page(client.get(f"{NOTES.format(slug='bodo')}/{note_id}"))
    assert page.status == 200
    data = page.values()
    assert data["you_said"].strip() == "Vi vil vite mer om tiltakene."  # the form starts filled in
    data["we_do"] = "Vi har laget en brosjyre om tiltakene."
    assert client.post(page.action, data=data).status_code == 302
    [note] = all_notes(app)
    assert note.we_do == "Vi har laget en brosjyre om tiltakene."
    assert note.written_on == date(2026, 9, 1)
    [event] = events(app, "note.update")
    assert event.details == {"office": "bodo", "note": note_id}

    data["we_do"] = ""
    again = Page(client.post(page.action, data=data))
    assert again.status == 400 and again.error_for("we_do") == "Skriv hva kontoret gjør."
    assert all_notes(app)[0].we_do == "Vi har laget en brosjyre om tiltakene."


def test_deleting_asks_first_then_deletes_and_is_audited(app, client, accounts):
    with app.app_context():
        note_id = add_note("bodo")
    sign_in(client, "leder")
    listing = client.get(NOTES.format(slug="bodo")).get_data(as_text=True)
    confirm_url = f"{NOTES.format(slug='bodo')}/{note_id}/slett"
    assert f'href="{confirm_url}"' in listing  # a plain link to the confirmation page
    confirm = Page(client.get(confirm_url))
    assert confirm.status == 200 and "Slette notatet?" in confirm.html
    assert len(all_notes(app)) == 1  # asking deletes nothing
    assert client.post(confirm.action, data=confirm.values()).status_code == 302
    assert all_notes(app) == []
    [event] = events(app, "note.delete")
    assert event.details == {"office": "bodo", "note": note_id}


def test_another_offices_leader_gets_404_for_everything(app, client, accounts):
    with app.app_context():
        note_id = add_note("bodo")
    sign_in(client, "leder2")
    base = NOTES.format(slug="bodo")
    for url in (base, f"{base}/{note_id}", f"{base}/{note_id}/slett"):
        assert client.get(url).status_code == 404, url
    # Even with a valid CSRF token from their own office's page.
    own = Page(client.get(NOTES.format(slug="tromso")))
    data = own.values()
    data["you_said"], data["we_do"] = "Dere sa noe.", "Vi gjør noe."
    for url in (base, f"{base}/{note_id}", f"{base}/{note_id}/slett"):
        assert client.post(url, data=data).status_code == 404, url
    # A note of another office, reached through one's own office, is missing too.
    for url in (
        f"/resultater/kontor/tromso/dette-gjor-vi/{note_id}",
        f"/resultater/kontor/tromso/dette-gjor-vi/{note_id}/slett",
    ):
        assert client.get(url).status_code == 404
        assert client.post(url, data=data).status_code == 404
    [note] = all_notes(app)
    assert note.you_said == "Vi vil vite mer om tiltakene."
    assert note.office_id != office_id_of(app, "tromso")
    for action in ("note.create", "note.update", "note.delete"):
        assert events(app, action) == []
    assert client.get("/resultater/kontor/finnes-ikke/dette-gjor-vi").status_code == 404


def office_id_of(app, slug: str) -> int:
    with app.app_context():
        return office_id(slug)


def test_a_researcher_reads_but_cannot_write(app, client, accounts):
    with app.app_context():
        note_id = add_note("bodo")
    sign_in(client, "forsker")
    page = Page(client.get(NOTES.format(slug="bodo")))
    assert page.status == 200
    assert "Vi vil vite mer om tiltakene." in page.html
    assert 'name="you_said"' not in page.html  # no form to write with
    assert "/slett" not in page.html
    data = {"csrf_token": page.hidden("csrf_token")[0], "you_said": "a", "we_do": "b"}
    assert client.post(NOTES.format(slug="bodo"), data=data).status_code == 404
    assert client.get(f"{NOTES.format(slug='bodo')}/{note_id}").status_code == 404
    assert client.get(f"{NOTES.format(slug='bodo')}/{note_id}/slett").status_code == 404
    assert len(all_notes(app)) == 1


def test_an_admin_writes_for_any_office(app, client, accounts):
    sign_in(client, "admin")
    assert write(client, "tromso", "Dere sa noe.", "Vi gjør noe.").status == 302
    [note] = all_notes(app)
    assert note.office_id == office_id_of(app, "tromso")
    assert events(app, "note.create")[0].actor == "admin"


def test_the_office_page_links_to_the_notes_and_the_public_page(app, client, accounts):
    sign_in(client, "leder")
    html = client.get("/resultater/kontor/bodo").get_data(as_text=True)
    assert 'href="/resultater/kontor/bodo/dette-gjor-vi"' in html
    assert 'href="/k/bodo/resultater"' in html


def test_notes_are_listed_newest_first(app, client, accounts):
    with app.app_context():
        add_note("bodo", you_said="Eldst", written_on=date(2026, 1, 5))
        add_note("bodo", you_said="Nyest", written_on=date(2026, 10, 5))
        add_note("bodo", you_said="Midt i", written_on=date(2026, 5, 5))
    sign_in(client, "leder")
    html = client.get(NOTES.format(slug="bodo")).get_data(as_text=True)
    assert html.index("Nyest") < html.index("Midt i") < html.index("Eldst")


# --- flask notes -----------------------------------------------------------------------


def test_notes_command_adds_and_lists_audited_as_shell(app, runner, today):
    result = runner.invoke(
        args=[
            "notes",
            "add",
            "--office",
            "bodo",
            "--you-said",
            "Dere vil ha faste veiledere.",
            "--we-do",
            "Vi gir alle én fast.",
        ]
    )
    assert result.exit_code == 0, result.output
    [note] = all_notes(app)
    assert note.written_on == today and note.account_id is None
    [event] = events(app, "note.create")
    assert event.actor == "shell" and event.details == {"office": "bodo", "note": note.id}
    listed = runner.invoke(args=["notes", "list", "--office", "bodo"])
    assert listed.exit_code == 0
    assert "Dere vil ha faste veiledere." in listed.output
    assert "Vi gir alle én fast." in listed.output
    assert "No notes" in runner.invoke(args=["notes", "list", "--office", "tromso"]).output


@pytest.mark.parametrize(
    "args",
    [
        ["--office", "finnes-ikke", "--you-said", "a", "--we-do", "b"],
        ["--office", "bodo", "--you-said", "  ", "--we-do", "b"],
        ["--office", "bodo", "--you-said", "a", "--we-do", "b" * 601],
    ],
)
def test_notes_command_refuses_bad_input(app, runner, args):
    result = runner.invoke(args=["notes", "add", *args])
    assert result.exit_code != 0
    assert all_notes(app) == [] and events(app, "note.create") == []
