"""One-time access codes: a code works once, an open office needs none, a code-only office
stores nothing without an admission, and nothing in the database links a response to the
code that let it in (on SQLite and on PostgreSQL)."""

from __future__ import annotations

import csv
import io
import re
from html import unescape

import pytest
from sqlalchemy import inspect, select, text, update

from survey.admin.code_service import new_batch
from survey.domain import access_codes
from survey.extensions import db
from survey.models import AccessCode, AuditEvent, Office, Response, SubmissionReceipt

from .conftest import on_postgres
from .forms import Page, settle
from .test_dashboard import make_account, sign_in
from .test_respond import FULL, LAST, answer_all, count, send

MIN = access_codes.BATCH_MIN_FLOOR  # the fewest codes a batch may hold, by default


def codes_only(slug: str = "bodo", n: int = MIN, batch: str = "2026-11 venterom") -> list[str]:
    """Make ``slug`` code-only and give it ``n`` new codes (canonical form)."""
    office = db.session.scalar(select(Office).where(Office.slug == slug))
    office.codes_required = True
    clear = new_batch(office, n, batch)
    db.session.commit()
    return clear


def enter_code(client, typed: str, slug: str = "bodo", **kwargs) -> Page:
    page = Page(client.get(f"/k/{slug}", **kwargs))
    assert page.status == 200 and 'name="code"' in page.html
    data = page.values()
    data["code"] = typed
    return Page(client.post(page.action, data=data, **kwargs))


def walk(client, first: Page, answers=FULL) -> Page:
    """From the first questionnaire page to the last, answering; returns it unsent."""
    page = first
    for n in range(LAST):
        assert f"Side {n + 1} av {LAST}" in page.html, page.html
        shown = {code: answers[code] for code in page.visible_items() if code in answers}
        if n == LAST - 1:
            page.pending = shown
            return page
        page = page.submit(client, ("nav", "next"), shown)
    raise AssertionError("never reached the last page")


def used_flags(app) -> list[bool]:
    with app.app_context():
        return sorted(db.session.scalars(select(AccessCode.used)))


# --- the respondent's side -----------------------------------------------------------------


def test_a_code_works_once_and_a_second_use_is_refused_kindly(app, client):
    with app.app_context():
        code = codes_only()[0]
    start = Page(client.get("/k/bodo"))
    assert 'for="code"' in start.html and 'autocomplete="off"' in start.html
    assert 'inputmode="text"' in start.html and 'name="nav" value="start"' not in start.html

    first = enter_code(
        client, " " + access_codes.display(code).lower() + " "
    )  # as typed on a phone
    assert first.status == 200 and "Side 1 av" in first.html
    assert len(first.hidden("admission")) == 1 and first.hidden("nonce")
    assert used_flags(app) == [False] * (MIN - 1) + [True]

    other = app.test_client()
    again = enter_code(other, access_codes.display(code))
    assert again.status == 200
    assert "allerede brukt" in again.html and "Side 1 av" not in again.html
    assert f'value="{access_codes.display(code)}"' in again.html  # the typed code is kept
    assert 'aria-invalid="true"' in again.html and not again.hidden("admission")
    assert used_flags(app) == [False] * (MIN - 1) + [True]


@pytest.mark.parametrize(
    "typed, message",
    [
        ("", "Skriv inn koden du har fått"),
        ("K7RM-XH4", "Koden har 8 tegn"),
        ("K7RM-XHOP", "Det finnes ingen «O» i kodene"),
        ("K7RM-XH4P", "Vi finner ikke denne koden for NAV Bodø"),
    ],
)
def test_a_mistyped_or_unknown_code_is_named_and_kept(app, client, typed, message):
    with app.app_context():
        codes_only()
    page = enter_code(client, typed)
    assert page.status == 200 and message in page.html
    assert f'value="{typed}"' in page.html and 'id="code-error"' in page.html
    assert used_flags(app) == [False] * MIN


def test_a_code_of_another_office_is_unknown_here(app, client):
    with app.app_context():
        codes_only("bodo")
        tromso_code = codes_only("tromso")[0]
    assert "Vi finner ikke denne koden" in enter_code(client, tromso_code, "bodo").html
    assert used_flags(app).count(True) == 0


def test_a_full_questionnaire_with_a_code_keeps_its_admission_through_everything(app, client):
    with app.app_context():
        code = codes_only()[0]
    page = enter_code(client, code)
    admission = page.hidden("admission")
    page = page.submit(client, ("nav", "next"), {"med_stige": 6})
    page = page.submit(client, ("lang", "nn"))  # language switch
    assert page.hidden("admission") == admission and 'lang="nn"' in page.html
    page = page.submit(client, ("lang", "nb"))
    page = page.submit(client, ("nav", "back"))
    page = page.submit(client, ("nav", "next"), drop=("csrf_token",))  # an expired token
    assert "trykke en gang til" in page.html and page.hidden("admission") == admission
    page = page.submit(client, ("nav", "next"), {"med_stige": "tull"})  # a validation error
    assert page.hidden("admission") == admission
    page = page.submit(client, ("nav", "start"), {"med_stige": 6})
    last = walk(client, page)
    assert last.hidden("admission") == admission
    assert send(client, last).status == 303
    settle(app)
    with app.app_context():
        assert count(Response) == 1 and count(SubmissionReceipt) == 1
    # The admission is spent: the same code in the same browser is now refused.
    assert "allerede brukt" in enter_code(client, code).html


def test_a_reload_after_the_code_was_accepted_does_not_lose_the_way_in(app, client):
    with app.app_context():
        code = codes_only()[0]
    form = Page(client.get("/k/bodo"))
    data = form.values()
    data["code"] = code
    first = Page(client.post(form.action, data=data))
    reloaded = Page(client.post(form.action, data=data))  # the browser sends it again
    assert "Side 1 av" in reloaded.html
    assert reloaded.hidden("admission") == first.hidden("admission")
    assert reloaded.hidden("nonce") == first.hidden("nonce")
    # Back on the start page, the same browser gets its Start button, no code form.
    start = Page(client.get("/k/bodo"))
    assert start.hidden("admission") == first.hidden("admission")
    assert 'name="code"' not in start.html
    assert send(client, walk(client, start.submit(client, ("nav", "start")))).status == 303
    settle(app)
    with app.app_context():
        assert count(Response) == 1


def test_an_expired_token_on_the_code_form_spends_nothing_and_keeps_the_code(app, client):
    with app.app_context():
        code = codes_only()[0]
    page = Page(client.get("/k/bodo"))
    data = page.values()
    data.pop("csrf_token")
    data["code"] = code
    again = Page(client.post(page.action, data=data))
    assert again.status == 200 and "trykke en gang til" in again.html
    assert f'value="{code}"' in again.html and used_flags(app) == [False] * MIN
    data = again.values()
    assert "Side 1 av" in Page(client.post(again.action, data=data)).html


def test_an_open_office_works_as_before_without_a_code(app, client):
    with app.app_context():
        codes_only("tromso")
    page = Page(client.get("/k/bodo"))
    assert 'name="code"' not in page.html and 'name="nav" value="start"' in page.html
    assert send(client, answer_all(client)).status == 303
    # A code form sent to an open office just leads to its start page.
    assert client.post("/k/bodo/kode", data={"code": "K7RM-XH4P"}).status_code == 303
    settle(app)
    with app.app_context():
        assert count(Response) == 1


def forged(app, office_id: int, nonce: str, key: str = "test") -> str:
    return access_codes.admission(key, office_id, nonce)


def test_a_code_only_office_stores_nothing_without_a_genuine_admission(app, client):
    with app.app_context():
        code = codes_only()[0]
        bodo = db.session.scalar(select(Office.id).where(Office.slug == "bodo"))
        tromso = db.session.scalar(select(Office.id).where(Office.slug == "tromso"))
    # The open office's way in, pointed at the code-only office.
    last = answer_all(client, slug="tromso")
    nonce = last.hidden("nonce")[0]
    last.action = "/k/bodo/svar"
    attempts = {
        "none": None,
        "empty": "",
        "forged with another key": forged(app, bodo, nonce, key="not-the-key"),
        "for another office": forged(app, tromso, nonce),
        "for another form": forged(app, bodo, "f" * 32),
        "garbage": "x" * 600,
    }
    for name, admission in attempts.items():
        refused = last.submit(client, ("nav", "submit"), {**last.pending, "admission": admission})
        assert refused.status == 200, name
        assert "Skriv inn koden din" in refused.html and 'name="code"' in refused.html, name
        refused = last.submit(client, ("nav", "next"), {"admission": admission})
        assert refused.status == 200 and 'name="code"' in refused.html, name
    settle(app)
    with app.app_context():
        assert count(Response) == 0 and count(SubmissionReceipt) == 0
    # An admission signed with the key for this office and this form is let through, and
    # the code stays unused: the questionnaire checks the signature, never a code.
    sent = last.submit(
        client, ("nav", "submit"), {**last.pending, "admission": forged(app, bodo, nonce)}
    )
    assert sent.status == 303
    assert used_flags(app) == [False] * MIN and code


@pytest.mark.parametrize("app_config", [{"STIGEN_CODE_LIMIT": "3 per minute"}])
def test_guessing_is_limited_with_a_friendly_page_and_good_codes_do_not_count(app, client):
    with app.app_context():
        good = codes_only()
    for code in good[:4]:  # accepted codes are not guesses
        assert "Side 1 av" in enter_code(app.test_client(), code).html
    for guess in ("K7RM-XH4P", "K7RM-XH4A", "K7RM-XH4C"):
        assert enter_code(client, guess).status == 200
    limited = enter_code(client, "K7RM-XH4D")
    assert limited.status == 429
    assert "Vent noen minutter" in limited.html and 'value="K7RM-XH4D"' in limited.html
    assert enter_code(client, good[4]).status == 429  # held back, and not spent
    assert used_flags(app).count(False) == MIN - 4
    # Another address is not held back.
    other = enter_code(app.test_client(), good[4], environ_base={"REMOTE_ADDR": "10.1.2.3"})
    assert "Side 1 av" in other.html


# --- nothing links a response to its code ----------------------------------------------------


def every_value(table: str) -> list[tuple[str, object]]:
    columns = [c["name"] for c in inspect(db.engine).get_columns(table)]
    rows = db.session.execute(text(f'SELECT * FROM "{table}"')).all()
    return [(column, value) for row in rows for column, value in zip(columns, row, strict=True)]


def test_the_database_holds_no_link_from_a_response_to_its_code(app, client):
    with app.app_context():
        clear = codes_only()
        make_account("admin", "admin")
    code = next(c for c in clear if re.search("[A-Z]", c))
    digest = access_codes.code_hash(code, "test")
    assert send(client, walk(client, enter_code(client, access_codes.display(code)))).status == 303
    forms_of_it = {code, access_codes.display(code), code.lower(), digest}
    settle(app)
    with app.app_context():
        assert count(Response) == 1
        columns = {c["name"] for c in inspect(db.engine).get_columns("access_code")}
        assert columns == {"code_hash", "office_id", "batch", "used"}
        tables = inspect(db.engine).get_table_names()
        for table in tables:
            for column, value in every_value(table):
                if table == "access_code" and column == "code_hash" and value == digest:
                    continue  # the one place the hash may be
                shown = str(value)
                assert not any(f in shown for f in forms_of_it), (table, column)
        # The response and its receipt share no value with the code's row but the office.
        code_row = dict(
            db.session.execute(
                text("SELECT * FROM access_code WHERE code_hash = :h"), {"h": digest}
            )
            .mappings()
            .one()
        )
        assert code_row["used"] in (True, 1) and code_row["batch"] == "2026-11 venterom"
        response_values = {str(v) for _, v in every_value("response")}
        receipt_values = {str(v) for _, v in every_value("submission_receipt")}
        assert not (response_values | receipt_values) & {code, digest, str(code_row["batch"])}
        if on_postgres():
            code_xmin = db.session.scalar(
                text("SELECT xmin::text FROM access_code WHERE code_hash = :h"), {"h": digest}
            )
            response_xmin = db.session.scalar(text("SELECT xmin::text FROM response"))
            receipt_xmin = db.session.scalar(text("SELECT xmin::text FROM submission_receipt"))
            assert code_xmin != response_xmin and code_xmin != receipt_xmin
            # Every code row of the office was rewritten with the used one: the table
            # cannot tell which code was used when.
            xmins = set(db.session.scalars(text("SELECT xmin::text FROM access_code")))
            assert xmins == {code_xmin}


@pytest.mark.skipif(not on_postgres(), reason="xmin is PostgreSQL's")
def test_on_postgres_two_redemptions_leave_every_code_row_with_the_latest_xmin(app):
    with app.app_context():
        clear = codes_only()
    for code in clear[:2]:
        assert "Side 1 av" in enter_code(app.test_client(), code).html
    with app.app_context():
        assert len(set(db.session.scalars(text("SELECT xmin::text FROM access_code")))) == 1


# --- administration ---------------------------------------------------------------------------


@pytest.fixture
def admin(app, client):
    with app.app_context():
        make_account("admin", "admin")
    sign_in(client, "admin")
    return client


def generate_form(client, count_: str, batch: str, kind: str, slug: str = "bodo"):
    page = Page(client.get(f"/admin/kontor/{slug}/koder"))
    assert page.status == 200
    data = page_values_for(page.html, "koder/lag")
    data.update({"count": count_, "batch": batch, "format": kind})
    return data


def page_values_for(html: str, action_end: str) -> dict:
    """The hidden values of the first form on ``html`` whose action ends with ``action_end``."""
    match = re.search(
        rf'<form method="post" action="[^"]*{re.escape(action_end)}"(.*?)</form>', html, re.S
    )
    assert match, action_end
    values = {}
    for tag in re.findall(r"<input[^>]*>", match.group(1)):
        attrs = dict(re.findall(r'([\w-]+)="([^"]*)"', tag))
        if attrs.get("type") == "hidden":
            values[attrs["name"]] = unescape(attrs.get("value", ""))
    return values


def test_admin_generates_a_csv_batch_whose_codes_each_work_once(app, admin):
    data = generate_form(admin, str(MIN), "2026-11 SMS", "csv")
    response = admin.post("/admin/kontor/bodo/koder/lag", data=data)
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert response.headers["Cache-Control"] == "no-store"
    assert "attachment" in response.headers["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(response.get_data(as_text=True))))
    assert rows[0] == ["code", "batch", "office", "link"]
    shown = [row[0] for row in rows[1:]]
    assert len(shown) == len(set(shown)) == MIN
    assert all(
        row[1:3] == ["2026-11 SMS", "NAV Bodø"] and row[3].endswith("/k/bodo") for row in rows[1:]
    )
    assert all(re.fullmatch(r"[A-Z0-9]{4}-[A-Z0-9]{4}", c) for c in shown)
    # A reload sends the same form again: no second batch.
    again = admin.post("/admin/kontor/bodo/koder/lag", data=data)
    assert again.status_code == 303
    with app.app_context():
        assert count(AccessCode) == MIN
        events = db.session.scalars(
            select(AuditEvent).where(AuditEvent.action == "codes.generate")
        ).all()
        assert [e.details for e in events] == [
            {"office": "bodo", "batch": "2026-11 SMS", "count": MIN, "format": "csv"}
        ]
        db.session.execute(update(Office).values(codes_required=True))
        db.session.commit()
    for code in shown:
        assert "Side 1 av" in enter_code(app.test_client(), code).html
        assert "allerede brukt" in enter_code(app.test_client(), code).html
    settle(app)
    with app.app_context():
        assert count(Response) == 0 and used_flags(app) == [True] * MIN
        for event in db.session.scalars(select(AuditEvent)):
            assert not any(
                c in str(event.details) or c.replace("-", "") in str(event.details) for c in shown
            )


def test_admin_gets_a_printable_sheet_that_warns_it_is_the_only_copy(app, admin):
    page = Page(admin.get("/admin/kontor/bodo/koder"))
    assert "kan ikke vises igjen" in page.html
    data = generate_form(admin, "30", "venterom", "ark")
    response = admin.post("/admin/kontor/bodo/koder/lag", data=data)
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and response.headers["Cache-Control"] == "no-store"
    shown = re.findall(r'<span class="code-card-code">([A-Z0-9-]+)</span>', html)
    assert len(set(shown)) == 30
    assert html.count("/k/bodo</span>") == 30 and "Skriv ut eller lagre denne siden nå" in html
    excel = admin.post(
        "/admin/kontor/bodo/koder/lag", data=generate_form(admin, str(MIN), "excel", "excel")
    )
    assert excel.data.startswith("\ufeffcode;batch;office;link".encode())
    overview = admin.get("/admin/kontor/bodo/koder").get_data(as_text=True)
    assert re.search(r"venterom</th><td class=\"num\">0</td><td class=\"num\">30</td>", overview)


@pytest.mark.parametrize(
    "count_, batch, message",
    [
        ("0", "x", "Skriv et antall fra 20 til 5000"),
        ("5001", "x", "Skriv et antall fra 20 til 5000"),
        ("mange", "x", "Skriv et antall fra 20 til 5000"),
        ("20", "  ", "Gi bunken et navn"),
        ("20", "x" * 81, "høyst 80 tegn"),
        ("1", "Ola Nordmann", "En bunke må ha minst 20 koder, så den aldri kan peke ut én person"),
        ("19", "x", "En bunke må ha minst 20 koder"),
    ],
)
def test_admin_generate_form_refuses_bad_input_and_keeps_it(app, admin, count_, batch, message):
    response = admin.post(
        "/admin/kontor/bodo/koder/lag", data=generate_form(admin, count_, batch, "csv")
    )
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and message in html
    assert f'value="{count_}"' in html
    with app.app_context():
        assert count(AccessCode) == 0


def test_admin_switches_mode_and_deletes_a_batchs_unused_codes(app, admin):
    page = admin.get("/admin/kontor/bodo/koder").get_data(as_text=True)
    data = page_values_for(page, "koder/modus")
    data["mode"] = "codes"
    assert admin.post("/admin/kontor/bodo/koder/modus", data=data).status_code == 303
    with app.app_context():
        assert db.session.scalar(select(Office.codes_required).where(Office.slug == "bodo"))
        bodo = db.session.scalar(select(Office).where(Office.slug == "bodo"))
        clear = new_batch(bodo, MIN, "gammel")
        new_batch(bodo, MIN, "ny")
        db.session.commit()
    enter_code(app.test_client(), clear[0])
    page = admin.get("/admin/kontor/bodo/koder").get_data(as_text=True)
    assert "ingen kan svare nå" not in page
    data = page_values_for(page, "koder/slett")  # the first delete form: batch "gammel"
    assert data["batch"] == "gammel"
    assert admin.post("/admin/kontor/bodo/koder/slett", data=data).status_code == 303
    with app.app_context():
        left = db.session.execute(
            select(AccessCode.batch, AccessCode.used).order_by(AccessCode.batch)
        ).all()
        assert left == [("gammel", True)] + [("ny", False)] * MIN
        details = [
            (e.action, e.details)
            for e in db.session.scalars(select(AuditEvent).order_by(AuditEvent.id))
        ]
        assert details == [
            ("codes.mode", {"office": "bodo", "codes_required": True}),
            ("codes.delete", {"office": "bodo", "batch": "gammel", "count": MIN - 1}),
        ]
    data = page_values_for(
        admin.get("/admin/kontor/bodo/koder").get_data(as_text=True), "koder/modus"
    )
    data["mode"] = "open"
    admin.post("/admin/kontor/bodo/koder/modus", data=data)
    assert 'name="code"' not in app.test_client().get("/k/bodo").get_data(as_text=True)
    overview = admin.get("/admin/koder").get_data(as_text=True)
    assert "/admin/kontor/bodo/koder" in overview and "åpen lenke" in overview


# --- flask codes -------------------------------------------------------------------------------


def test_flask_codes_generate_status_and_mode(app, runner, tmp_path):
    out = tmp_path / "koder.csv"
    result = runner.invoke(
        args=[
            "codes",
            "generate",
            "--office",
            "bodo",
            "--count",
            str(MIN),
            "--batch",
            "sms nov",
            "--out",
            str(out),
            "--base-url",
            "https://stigen.example.no",
        ]
    )
    assert result.exit_code == 0, result.output
    rows = list(csv.reader(io.StringIO(out.read_text(encoding="utf-8"))))
    assert len({row[0] for row in rows[1:]}) == MIN
    assert rows[1][3] == "https://stigen.example.no/k/bodo"
    assert (out.stat().st_mode & 0o777) == 0o600
    again = runner.invoke(
        args=[
            "codes",
            "generate",
            "--office",
            "bodo",
            "--count",
            str(MIN),
            "--batch",
            "x",
            "--out",
            str(out),
        ]
    )
    assert again.exit_code != 0 and "exists" in again.output
    mode = runner.invoke(args=["codes", "mode", "--office", "bodo", "--codes-only"])
    assert mode.exit_code == 0 and "codes only" in mode.output
    status = runner.invoke(args=["codes", "status"])
    assert "bodo: codes only" in status.output
    assert f"'sms nov': 0 used, {MIN} unused" in status.output
    assert "tromso" not in status.output
    assert "Side 1 av" in enter_code(app.test_client(), rows[1][0]).html
    after = runner.invoke(args=["codes", "status", "--office", "bodo"]).output
    assert f"1 used, {MIN - 1} unused" in after
    assert runner.invoke(args=["codes", "status", "--office", "nowhere"]).exit_code != 0
    with app.app_context():
        events = [
            (e.actor, e.action, e.details)
            for e in db.session.scalars(select(AuditEvent).order_by(AuditEvent.id))
        ]
    assert events == [
        (
            "shell",
            "codes.generate",
            {"office": "bodo", "batch": "sms nov", "count": MIN, "format": "csv"},
        ),
        ("shell", "codes.mode", {"office": "bodo", "codes_required": True}),
    ]


def test_only_admins_may_touch_codes_even_with_a_valid_token(app, client):
    with app.app_context():
        make_account("leder", "leder", "bodo")
        make_account("forsker", "forsker")
    for username in ("leder", "forsker"):
        staff = app.test_client()
        sign_in(staff, username)
        token = Page(staff.get("/resultater/")).hidden("csrf_token") or re.findall(
            r'name="csrf_token" value="([^"]+)"', staff.get("/").get_data(as_text=True)
        )
        assert token
        for action, data in (
            ("lag", {"count": "5", "batch": "x", "format": "csv"}),
            ("modus", {"mode": "codes"}),
            ("slett", {"batch": "x"}),
        ):
            response = staff.post(
                f"/admin/kontor/bodo/koder/{action}", data={"csrf_token": token[0], **data}
            )
            assert response.status_code == 404, (username, action)
    with app.app_context():
        assert count(AccessCode) == 0
        assert not db.session.scalar(select(Office.codes_required).where(Office.slug == "bodo"))


# --- the smallest batch (issue 12: a batch of one, labelled with a name, is a person) -------


def test_a_batch_below_the_minimum_is_refused_everywhere(app, admin, runner, tmp_path):
    from survey.admin.code_service import BatchTooSmall

    with app.app_context():
        bodo = db.session.scalar(select(Office).where(Office.slug == "bodo"))
        with pytest.raises(BatchTooSmall):
            new_batch(bodo, MIN - 1, "Kari")
    page = admin.get("/admin/kontor/bodo/koder").get_data(as_text=True)
    assert f'min="{MIN}"' in page and f"Minst {MIN} koder i hver bunke" in page
    assert "Skriv aldri navn på personer" in page
    out = tmp_path / "koder.csv"
    result = runner.invoke(
        args=[
            "codes",
            "generate",
            "--office",
            "bodo",
            "--count",
            "1",
            "--batch",
            "Ola Nordmann",
            "--out",
            str(out),
        ]
    )
    assert result.exit_code != 0
    assert f"En bunke må ha minst {MIN} koder, så den aldri kan peke ut én person" in result.output
    assert not out.exists()
    with app.app_context():
        assert count(AccessCode) == 0 and count(AuditEvent) == 0


@pytest.mark.parametrize("app_config", [{"STIGEN_CODE_BATCH_MIN": 30}])
def test_the_minimum_can_be_raised(app, admin, runner, tmp_path):
    refused = admin.post(
        "/admin/kontor/bodo/koder/lag", data=generate_form(admin, "25", "venterom", "csv")
    )
    assert refused.status_code == 200 and "minst 30 koder" in refused.get_data(as_text=True)
    result = runner.invoke(
        args=[
            "codes",
            "generate",
            "--office",
            "bodo",
            "--count",
            "29",
            "--batch",
            "x",
            "--out",
            str(tmp_path / "k.csv"),
        ]
    )
    assert result.exit_code != 0 and "minst 30 koder" in result.output
    ok = admin.post("/admin/kontor/bodo/koder/lag", data=generate_form(admin, "30", "x", "csv"))
    assert ok.status_code == 200 and ok.mimetype == "text/csv"
    with app.app_context():
        assert count(AccessCode) == 30


@pytest.mark.parametrize("configured", [0, 1, 19])
def test_the_minimum_can_never_be_set_below_twenty(database_url, tmp_path, configured):
    from .conftest import make_app

    with pytest.raises(RuntimeError, match="STIGEN_CODE_BATCH_MIN"):
        make_app(database_url, tmp_path, STIGEN_CODE_BATCH_MIN=configured)


def test_the_printed_sheet_says_not_to_name_people(app, admin):
    sheet = admin.post(
        "/admin/kontor/bodo/koder/lag", data=generate_form(admin, str(MIN), "venterom", "ark")
    )
    html = sheet.get_data(as_text=True)
    note = "skriv ikke navn på lappene eller på arket"
    assert note in html
    # Outside the intro, which print hides (every div opened there is closed before the
    # note), above the codes: on the paper itself.
    between = html[html.index('<div class="sheet-intro">') : html.index(note)]
    assert between.count("<div") == between.count("</div>")
    assert html.index(note) < html.index('class="code-sheet"')
