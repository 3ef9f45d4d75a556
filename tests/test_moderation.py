"""Moderation of free text: the admin queue (risks highlighted, approve, redact, reject,
audited without the text), the gate in front of leaders (approved text only, and only
where the office's figures are shown) and researchers, and ``flask moderation``."""

from __future__ import annotations

import re
import uuid
from datetime import date
from html import unescape

import pytest
from sqlalchemy import select

from survey.extensions import db
from survey.models import AuditEvent, Comment

from .test_dashboard import APRIL, MAY, add_responses, make_account, office_id, sign_in

JULY = date(2026, 7, 1)


def add_comment(
    slug: str, month: date, body: str, status: str = "pending", version: int = 1
) -> uuid.UUID:
    comment = Comment(
        office_id=office_id(slug),
        period_start=month,
        questionnaire_version=version,
        language="nb",
        item_code="hel_fritekst",
        body=body,
        status=status,
    )
    db.session.add(comment)
    db.session.commit()
    return comment.id


def stored(comment_id: uuid.UUID) -> Comment:
    db.session.expire_all()
    return db.session.get(Comment, comment_id)


def events(action_prefix: str = "comment.") -> list[AuditEvent]:
    return [
        e
        for e in db.session.scalars(select(AuditEvent).order_by(AuditEvent.id))
        if e.action.startswith(action_prefix)
    ]


def token(html: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)


def queue_ids(html: str) -> list[str]:
    return re.findall(r"/admin/moderering/([0-9a-f-]{36})/godkjenn", html)


@pytest.fixture
def admin(client, app):
    with app.app_context():
        make_account("admin", "admin")
        make_account("leder", "leder", "bodo")
    sign_in(client, "admin")
    return client


def post(client, comment_id, action: str, **fields):
    page = client.get("/admin/moderering").get_data(as_text=True)
    return client.post(
        f"/admin/moderering/{comment_id}/{action}",
        data={"csrf_token": token(page), "side": "1", **fields},
    )


# --- the queue ------------------------------------------------------------------------


def test_the_queue_highlights_a_name_a_place_and_a_number(admin, app):
    with app.app_context():
        pending = add_comment("bodo", APRIL, "Kari på kontoret i Tromsø sa at jeg var 19 <script>")
        add_comment("bodo", APRIL, "allerede godkjent tekst", status="approved")
        add_comment("bodo", APRIL, "", status="rejected")
    html = admin.get("/admin/moderering").get_data(as_text=True)
    assert queue_ids(html) == [str(pending)]
    assert re.search(r'<mark class="risk risk-name"[^>]*>Kari</mark>', html)
    assert re.search(r'<mark class="risk risk-place"[^>]*>Tromsø</mark>', html)
    assert re.search(r'<mark class="risk risk-number"[^>]*>19</mark>', html)
    assert "<script>" not in html and "&lt;script&gt;" in html
    assert "allerede godkjent tekst" not in html
    assert "NAV Bodø · april 2026" in html and "Hva kunne NAV gjort annerledes?" in html
    counts = re.findall(r'<th scope="row">([^<]+)</th><td class="num">(\d+)</td>', html)
    assert counts == [("Venter på moderering", "1"), ("Godkjent", "1"), ("Avvist", "1")]
    index = admin.get("/admin/").get_data(as_text=True)
    assert "Moderering av fritekst" in index and "1 venter" in index


def test_flagged_text_makes_redacting_the_main_action(admin, app):
    with app.app_context():
        flagged = add_comment("bodo", APRIL, "Kari var grei")
        plain = add_comment("bodo", MAY, "veilederen var grei")
    html = admin.get("/admin/moderering").get_data(as_text=True)
    items = {cid: html[html.index(f'id="c-{cid}"') :] for cid in (str(flagged), str(plain))}
    items = {cid: text[: text.index("</article>")] for cid, text in items.items()}

    def approve_class(item):
        return re.search(
            r'godkjenn" *>.*?<button type="submit" class="([^"]+)">Godkjenn som den er', item, re.S
        ).group(1)

    assert approve_class(items[str(flagged)]) == "button secondary"
    assert '<details class="moderation-redact" open>' in items[str(flagged)]
    assert "Maskinen har markert noe i teksten" in items[str(flagged)]
    assert approve_class(items[str(plain)]) == "button"
    assert '<details class="moderation-redact">' in items[str(plain)]
    assert "Maskinen har markert noe i teksten" not in items[str(plain)]


def test_the_queue_is_ordered_by_period_then_random_id_and_paged(admin, app):
    with app.app_context():
        made = [
            (month, add_comment("bodo", month, f"tekst {n}"))
            for n, month in enumerate([MAY, APRIL, JULY] * 9)
        ]  # 27, written out of order
    expected = [str(i) for _, i in sorted(made)]
    first = admin.get("/admin/moderering").get_data(as_text=True)
    second = admin.get("/admin/moderering?side=2").get_data(as_text=True)
    assert queue_ids(first) + queue_ids(second) == expected
    assert len(queue_ids(first)) == 25 and "side=2" in first and "Neste side" not in second
    assert "Forrige side" in second


# --- decisions --------------------------------------------------------------------------


def test_approve_keeps_the_text_and_audits_without_it(admin, app):
    with app.app_context():
        comment_id = add_comment("bodo", APRIL, "Veilederen lyttet til meg")
    response = post(admin, comment_id, "godkjenn")
    assert response.status_code == 302
    with app.app_context():
        comment = stored(comment_id)
        assert (comment.status, comment.body) == ("approved", "Veilederen lyttet til meg")
        [event] = events()
        assert (event.action, event.actor) == ("comment.approve", "admin")
        assert event.details == {"office": "bodo", "period": "2026-04"}
    assert "Veilederen lyttet" not in admin.get("/admin/revisjon").get_data(as_text=True)


def test_redact_replaces_the_body_and_the_original_is_gone(admin, app):
    with app.app_context():
        comment_id = add_comment("bodo", MAY, "Kari i Bodø var grei, ring 41234567")
    response = post(admin, comment_id, "sladd", body="[fjernet] var grei, ring 91234567")
    assert response.status_code == 302
    with app.app_context():
        comment = stored(comment_id)
        assert comment.status == "approved"
        assert comment.body == "[fjernet] var grei, ring [fjernet]"  # the phone number goes too
        assert db.session.scalar(select(Comment.id).where(Comment.body.contains("Kari"))) is None
        [event] = events()
        assert event.action == "comment.redact"
        assert event.details == {"office": "bodo", "period": "2026-05"}
        assert "Kari" not in str(event.details) and "grei" not in str(event.details)


def test_redact_with_an_empty_text_keeps_the_comment_pending_and_says_why(admin, app):
    with app.app_context():
        comment_id = add_comment("bodo", APRIL, "Kari var grei")
    response = post(admin, comment_id, "sladd", body="   ")
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "Skriv teksten som skal godkjennes, eller avvis kommentaren." in html
    assert re.search(r'<details class="moderation-redact" open>', html)
    assert 'aria-invalid="true"' in html
    with app.app_context():
        assert stored(comment_id).status == "pending" and events() == []


def test_reject_blanks_the_body(admin, app):
    with app.app_context():
        comment_id = add_comment("tromso", JULY, "Navnet mitt er Ola Nordmann")
    assert post(admin, comment_id, "avvis").status_code == 302
    with app.app_context():
        comment = stored(comment_id)
        assert (comment.status, comment.body) == ("rejected", "")
        [event] = events()
        assert event.action == "comment.reject"
        assert event.details == {"office": "tromso", "period": "2026-07"}


def test_a_comment_is_decided_once(admin, app):
    with app.app_context():
        comment_id = add_comment("bodo", APRIL, "Bra oppfølging")
    post(admin, comment_id, "avvis")
    again = post(admin, comment_id, "godkjenn")
    assert again.status_code == 302
    assert "allerede behandlet" in admin.get(again.headers["Location"]).get_data(as_text=True)
    redacted = post(admin, comment_id, "sladd", body="Ny tekst")
    assert redacted.status_code == 302
    with app.app_context():
        comment = stored(comment_id)
        assert (comment.status, comment.body) == ("rejected", "")
        assert [e.action for e in events()] == ["comment.reject"]
    assert post(admin, uuid.uuid4(), "godkjenn").status_code == 404


def test_decisions_need_the_csrf_token(admin, app):
    with app.app_context():
        comment_id = add_comment("bodo", APRIL, "Bra oppfølging")
    assert admin.post(f"/admin/moderering/{comment_id}/godkjenn").status_code == 400
    with app.app_context():
        assert stored(comment_id).status == "pending"


# --- what leaders see -----------------------------------------------------------------


def office_page(client, period: str) -> str:
    return unescape(client.get(f"/resultater/kontor/bodo?periode={period}").get_data(as_text=True))


def test_leaders_see_approved_text_only_when_the_office_has_k_responses(client, app):
    with app.app_context():
        make_account("leder", "leder", "bodo")
        add_responses("bodo", APRIL, 6)
        add_responses("bodo", MAY, 6)
        add_comment("bodo", APRIL, "Godkjent i april", status="approved")
        add_comment("bodo", MAY, "Godkjent i mai", status="approved")
        add_comment("bodo", APRIL, "Venter i april")
        add_comment("bodo", APRIL, "", status="rejected")
        add_comment("tromso", APRIL, "Godkjent fra Tromsø", status="approved")
    sign_in(client, "leder")
    quarter = office_page(client, "2026-Q2")
    assert "Kommentarer" in quarter
    assert "Godkjent i april" in quarter and "Godkjent i mai" in quarter  # every month inside
    assert "Venter i april" not in quarter and "Godkjent fra Tromsø" not in quarter
    april = office_page(client, "2026-04")
    assert "Godkjent i april" in april and "Godkjent i mai" not in april
    assert "Kommentarer vises bare" not in april


def test_leaders_see_no_text_below_k(client, app):
    with app.app_context():
        make_account("leder", "leder", "bodo")
        add_responses("bodo", APRIL, 4)  # k is 5
        add_comment("bodo", APRIL, "Godkjent men for få svar", status="approved")
    sign_in(client, "leder")
    html = office_page(client, "2026-04")
    assert "Godkjent men for få svar" not in html
    assert "Kommentarer vises bare når kontoret har nok svar i perioden" in html


def test_comments_come_in_a_shuffled_order_fixed_per_release(client, app):
    """Shuffled, so the order tells nothing of when each was written; the same on every
    request until the next release, so a reload shows nothing new (issue 11)."""
    from survey import releases

    with app.app_context():
        make_account("leder", "leder", "bodo")
        add_responses("bodo", APRIL, 6)
        for n in range(8):
            add_comment("bodo", APRIL, f"Kommentar nummer {n}", status="approved")
    sign_in(client, "leder")
    orders = {
        tuple(re.findall(r"Kommentar nummer (\d)", office_page(client, "2026-04")))
        for _ in range(5)
    }
    assert all(sorted(order) == [str(n) for n in range(8)] for order in orders)
    assert len(orders) == 1  # within a release, the page does not move
    (order,) = orders
    assert list(order) != sorted(order)  # 8! orders: the written one means no shuffle
    with app.app_context():
        add_comment("bodo", APRIL, "Kommentar nummer 8", status="approved")
        assert releases.publish("test") is not None  # a release to show it
        db.session.commit()
    later = re.findall(r"Kommentar nummer (\d)", office_page(client, "2026-04"))
    assert sorted(later) == [str(n) for n in range(9)]
    assert [n for n in later if n != "8"] != list(order)  # a new release, a new shuffle


def test_the_overview_never_shows_comments(client, app):
    with app.app_context():
        make_account("forsker", "forsker")
        add_responses("bodo", APRIL, 6)
        add_comment("bodo", APRIL, "Godkjent tekst i oversikten", status="approved")
    sign_in(client, "forsker")
    html = client.get("/resultater/oversikt?periode=2026-04").get_data(as_text=True)
    assert "NAV Bodø" in html and "Godkjent tekst i oversikten" not in html


def test_the_free_text_file_holds_approved_text_only(client, app):
    with app.app_context():
        make_account("forsker", "forsker")
        add_responses("bodo", APRIL, 6)
        add_comment("bodo", APRIL, "Godkjent for forskerne", status="approved")
        add_comment("bodo", APRIL, "Venter for forskerne")
        add_comment("bodo", APRIL, "", status="rejected")
    sign_in(client, "forsker")
    text = client.get("/eksport/fritekst.csv?bekreft=ja").get_data(as_text=True)
    lines = text.strip().splitlines()
    assert len(lines) == 2 and "Godkjent for forskerne" in lines[1] and ',"bodo",' in lines[1]
    assert "Venter for forskerne" not in text
    index = client.get("/eksport/").get_data(as_text=True)
    assert "bare fritekst som en moderator har gått gjennom og godkjent" in index


# --- flask moderation ----------------------------------------------------------------


def test_the_shell_commands_list_approve_reject_and_audit_as_shell(runner, app):
    with app.app_context():
        first = add_comment("bodo", APRIL, "Første tekst")
        second = add_comment("tromso", MAY, "Andre tekst")
    listed = runner.invoke(args=["moderation", "list", "--limit", "5"])
    assert listed.exit_code == 0
    assert str(first) in listed.output and str(second) in listed.output
    assert listed.output.index(str(first)) < listed.output.index(str(second))  # April first

    assert runner.invoke(args=["moderation", "approve", str(first)]).exit_code == 0
    assert runner.invoke(args=["moderation", "reject", str(second)]).exit_code == 0
    status = runner.invoke(args=["moderation", "status"])
    assert status.output.split("\n")[:3] == ["pending: 0", "approved: 1", "rejected: 1"]
    again = runner.invoke(args=["moderation", "approve", str(second)])
    assert again.exit_code != 0 and "rejected, not pending" in again.output
    assert runner.invoke(args=["moderation", "approve", "ikke-en-id"]).exit_code != 0
    assert runner.invoke(args=["moderation", "reject", str(uuid.uuid4())]).exit_code != 0
    with app.app_context():
        assert stored(first).status == "approved" and stored(second).body == ""
        found = [(e.action, e.actor, e.account_id, e.details) for e in events()]
        assert found == [
            ("comment.approve", "shell", None, {"office": "bodo", "period": "2026-04"}),
            ("comment.reject", "shell", None, {"office": "tromso", "period": "2026-05"}),
        ]
