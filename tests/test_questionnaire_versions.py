"""Questionnaire versions: publishing from the admin pages and the shell, choosing the
live version, and every part of the app seeing it (respondents, scoring, dashboards,
export) without a restart."""

from __future__ import annotations

import io
import re
import subprocess
import sys
from dataclasses import replace
from html import unescape
from pathlib import Path

import pytest
from sqlalchemy import func, select

from survey import versions
from survey.domain.scoring import score
from survey.extensions import db
from survey.models import AuditEvent, PublishedQuestionnaire, Response, Setting
from survey.questionnaire import DIRECTORY, compare, get

from .conftest import make_app
from .forms import Page, settle
from .test_dashboard import APRIL, add_responses, make_account, sign_in
from .test_respond import FULL, answer_all, send

V1_SOURCE = (DIRECTORY / "v1.toml").read_text(encoding="utf-8")
REMOVED = "hel_situasjon"
ADDED = "bak_navno"
NEW_ITEM = """
  [[pages.items]]
  code = "bak_navno"
  type = "choice"
  dont_know = true
  text = {nb = "Hvor ofte bruker du nav.no?", nn = "Kor ofte bruker du nav.no?", en = "How often do you use nav.no?"}
  options = [
    {value = 1, label = {nb = "Sjelden", nn = "Sjeldan", en = "Rarely"}},
    {value = 2, label = {nb = "Ofte", nn = "Ofte", en = "Often"}},
  ]
"""


def v2_source(version: int = 3) -> str:
    """Version 1's file as version ``version`` (3: versions 1 and 2 are shipped), with ``hel_situasjon`` removed and
    ``bak_navno`` added at the end."""
    source = V1_SOURCE.replace("\nversion = 1\n", f"\nversion = {version}\n", 1)
    start = source.index('  [[pages.items]]\n  code = "hel_situasjon"')
    end = source.index("  [[pages.items]]", start + 10)
    source = source[:start] + source[end:]
    return source.rstrip("\n") + "\n" + NEW_ITEM


def broken_source() -> str:
    """Three faults at once: a duplicate code, an item without nn and en text, and a
    scale whose values are not consecutive."""
    source = v2_source()
    source = source.replace('code = "tal_neste"', 'code = "tal_klar"', 1)
    source = source.replace(
        'text = {nb = "Hvor ofte bruker du nav.no?", nn = "Kor ofte bruker du nav.no?", '
        'en = "How often do you use nav.no?"}',
        'text = {nb = "Hvor ofte bruker du nav.no?"}',
    )
    return source.replace(
        '{value = 1, label = {nb = "Helt uenig"', '{value = 0, label = {nb = "Helt uenig"', 1
    )


@pytest.fixture
def admin(app, client):
    with app.app_context():
        make_account("admin", "admin")
    sign_in(client, "admin")
    return client


def publish_form(client, text: str = "", upload: tuple[bytes, str] | None = None):
    page = Page(client.get("/admin/sporreskjema"))
    data = page.values()
    data["source"] = text
    if upload:
        data["file"] = (io.BytesIO(upload[0]), upload[1])
    return client.post("/admin/sporreskjema", data=data, content_type="multipart/form-data")


def make_live_form(client, number: int):
    page = Page(client.get(f"/admin/sporreskjema/{number}"))
    assert page.action == f"/admin/sporreskjema/{number}/aktiv"
    return client.post(page.action, data=page.values())


def problems_on(html: str) -> list[str]:
    block = re.search(r'<ul class="problems">(.*?)</ul>', html, re.S)
    return [unescape(p) for p in re.findall(r"<li>(.*?)</li>", block.group(1))] if block else []


def count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


# --- compare (pure) ---------------------------------------------------------------


def test_compare_lists_kept_changed_added_and_removed_items():
    import tomllib

    from survey.questionnaire import parse

    v1 = get(1)
    v2 = parse(tomllib.loads(v2_source()))
    result = compare(v1, v2)
    assert result.added == (ADDED,)
    assert result.removed == (REMOVED,)
    assert result.changed == ()
    assert len(result.kept) == len(v1.items) - 1 and "med_stige" in result.kept

    # Same code, different meaning: reversed scoring, another theme, changed options.
    page = v1.pages[1]
    items = list(page.items)
    first = items[0]
    items[0] = replace(first, reverse=not first.reverse, text=replace(first.text, nb="Ny tekst"))
    items[1] = replace(items[1], options=items[1].options[:-1])
    changed = replace(v1, pages=(v1.pages[0], replace(page, items=tuple(items)), *v1.pages[2:]))
    result = compare(v1, changed)
    assert dict(result.changed) == {first.code: ("text", "reverse"), items[1].code: ("options",)}
    assert result.added == result.removed == ()
    assert compare(v1, v1).kept == tuple(i.code for i in v1.items)


# --- publishing -------------------------------------------------------------------


def test_an_invalid_file_lists_every_problem_keeps_the_text_and_stores_nothing(app, admin):
    source = broken_source()
    response = publish_form(admin, source)
    html = response.get_data(as_text=True)
    assert response.status_code == 400
    problems = problems_on(html)
    assert "item tal_klar: duplicate code" in problems
    assert "item bak_navno: no nn text" in problems and "item bak_navno: no en text" in problems
    assert "scale agree5: values must be consecutive integers" in problems
    # The pasted text is still in the box, to be fixed there.
    textarea = re.search(r"<textarea[^>]*>(.*?)</textarea>", html, re.S).group(1)
    assert unescape(textarea).strip() == source.strip()
    with app.app_context():
        assert count(PublishedQuestionnaire) == 0
        assert (
            db.session.scalar(
                select(func.count())
                .select_from(AuditEvent)
                .where(AuditEvent.action == "questionnaire.publish")
            )
            == 0
        )


def test_syntax_errors_taken_numbers_and_empty_forms_are_refused(app, admin):
    response = publish_form(admin, "version = 2\ntitle = {nb = ")
    assert response.status_code == 400
    assert any(
        p.startswith("TOML-syntaksfeil") for p in problems_on(response.get_data(as_text=True))
    )

    response = publish_form(admin, V1_SOURCE)  # version 1 is shipped
    assert "Versjon 1 finnes allerede. Gi den nye versjonen et nytt nummer." in problems_on(
        response.get_data(as_text=True)
    )

    response = publish_form(admin, "")
    assert "Velg en fil eller lim inn TOML-teksten." in response.get_data(as_text=True)

    response = publish_form(admin, upload=(b"\xff\xfe not utf-8", "v2.toml"))
    assert "Filen må være tekst i UTF-8." in response.get_data(as_text=True)
    response = publish_form(admin, upload=(v2_source().encode(), "v2.txt"))
    assert "Velg en fil som slutter på .toml." in response.get_data(as_text=True)
    with app.app_context():
        assert count(PublishedQuestionnaire) == 0


def test_an_upload_over_the_limit_gets_the_form_with_a_word_on_the_size(admin):
    response = publish_form(admin, upload=(b"#" * 70_000 + b"\n", "stor.toml"))
    html = response.get_data(as_text=True)
    assert response.status_code == 413
    assert "er større enn 64 kB og ble ikke lest" in html
    assert 'name="source"' in html  # the form is there to try again


def test_the_size_page_tells_nobody_but_admins_about_versions(client):
    response = client.post("/admin/sporreskjema", data={"source": "x" * 70_000})
    assert response.status_code == 413
    assert "Versjon 1" not in response.get_data(as_text=True)


def test_publishing_a_valid_version_stores_it_but_does_not_make_it_live(app, admin):
    response = publish_form(admin, upload=(v2_source().encode(), "v2.toml"))
    assert response.status_code == 303
    assert response.headers["Location"] == "/admin/sporreskjema/3"
    page = admin.get("/admin/sporreskjema/3").get_data(as_text=True)
    assert "Versjon 3 er publisert" in page
    assert "Sammenlignet med versjon 1" in page
    assert f"<code>{ADDED}</code>" in page.split("Nye (1)")[1].split("</dd>")[0]
    assert f"<code>{REMOVED}</code>" in page.split("Fjernet (1)")[1].split("</dd>")[0]
    assert "Gjør denne versjonen aktiv" in page
    with app.app_context():
        row = db.session.get(PublishedQuestionnaire, 3)
        assert row.published_by == "admin" and row.source == v2_source()
        assert versions.live_version() == 1 and sorted(versions.available()) == [1, 2, 3]
        event = db.session.scalar(
            select(AuditEvent).where(AuditEvent.action == "questionnaire.publish")
        )
        assert (event.actor, event.details) == ("admin", {"version": 3})
    listing = admin.get("/admin/sporreskjema").get_data(as_text=True)
    assert "Publisert av admin" in listing and "Følger med Stigen (fil)" in listing

    response = publish_form(admin, v2_source())  # the same number twice
    assert "Versjon 3 finnes allerede. Gi den nye versjonen et nytt nummer." in problems_on(
        response.get_data(as_text=True)
    )


# --- going live -------------------------------------------------------------------


def test_new_respondents_get_the_live_version_and_started_ones_keep_theirs(app, admin):
    other = app.test_client()
    started_on_v1 = answer_all(other)  # a respondent half-way through version 1
    assert started_on_v1.hidden("v") == ["1"]

    publish_form(admin, v2_source())
    before = Page(app.test_client().get("/k/bodo"))
    assert before.hidden("v") == ["1"]  # published, not live: new respondents still get 1

    response = make_live_form(admin, 3)
    assert response.status_code == 303
    assert "Versjon 3 er nå aktiv" in admin.get("/admin/sporreskjema/3").get_data(as_text=True)
    with app.app_context():
        event = db.session.scalar(
            select(AuditEvent).where(AuditEvent.action == "questionnaire.live")
        )
        assert (event.actor, event.details) == ("admin", {"version": 3, "previous": 1})
        assert db.session.get(Setting, versions.LIVE_SETTING).value == "3"

    # The respondent who started on version 1 is stored and scored on version 1.
    assert send(other, started_on_v1).status == 303
    # A new respondent gets version 3 and is stored with it.
    newcomer = app.test_client()
    answers = {**{k: v for k, v in FULL.items() if k != REMOVED}, ADDED: 2}
    page = Page(newcomer.get("/k/bodo"))
    assert page.hidden("v") == ["3"]
    page = page.submit(newcomer, ("nav", "start"))
    while True:
        shown = {code: answers[code] for code in page.visible_items() if code in answers}
        assert REMOVED not in page.visible_items()
        # The last page: its button leads to the check page ("check"); send from it.
        if "check" in [f.get("value") for f in page.fields if f.get("name") == "nav"]:
            assert page.submit(newcomer, ("nav", "submit"), shown).status == 303
            break
        page = page.submit(newcomer, ("nav", "next"), shown)
        assert page.status == 200
    settle(app)
    with app.app_context():
        stored = {r.questionnaire_version: r for r in db.session.scalars(select(Response))}
        assert sorted(stored) == [1, 3]
        assert REMOVED in stored[1].answers and ADDED not in stored[1].answers
        assert (
            stored[1].theme_indices["relasjon"]
            == score(get(1), stored[1].answers).theme_indices["relasjon"]
        )
        assert stored[3].answers[ADDED] == 2 and REMOVED not in stored[3].answers
        assert (
            stored[3].rung == FULL["med_stige"]
            and stored[3].theme_indices.get("medvirkning") is not None
        )


# A long-running worker in its own process, as under gunicorn: it answers "which version
# does a new respondent get, and which items does it have" each time it reads a line.
WORKER = """
import re, sys
from tests.conftest import make_app
app = make_app(sys.argv[1], sys.argv[2])
client = app.test_client()
for _ in sys.stdin:
    html = client.get("/k/bodo").get_data(as_text=True)
    print(re.search(r'name="v" value="([0-9]+)"', html).group(1), flush=True)
"""


def test_another_worker_process_sees_the_new_live_version_without_a_restart(
    app, admin, database_url, tmp_path
):
    with subprocess.Popen(
        [sys.executable, "-c", WORKER, database_url, str(tmp_path / "worker")],
        cwd=Path(__file__).parent.parent,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    ) as worker:

        def ask() -> str:
            worker.stdin.write("?\n")
            worker.stdin.flush()
            return worker.stdout.readline().strip()

        try:
            assert ask() == "1"
            publish_form(admin, v2_source())
            assert ask() == "1"  # published is not live
            make_live_form(admin, 3)
            assert ask() == "3"
        finally:
            worker.stdin.close()
            worker.wait(timeout=30)
    # And in this process, a second app on the same database.
    second = make_app(database_url, tmp_path / "second")
    with second.app_context():
        assert versions.live().version == 3 and ADDED in {i.code for i in versions.live().items}
        db.session.remove()
        db.engine.dispose()


def test_a_live_setting_naming_no_version_falls_back_to_the_configured_one(app):
    with app.app_context():
        db.session.add(Setting(key=versions.LIVE_SETTING, value="9"))
        db.session.commit()
        assert versions.live_version() == 1 and versions.live().version == 1


def test_dashboards_and_the_export_see_the_new_version(app, admin):
    publish_form(admin, v2_source())
    make_live_form(admin, 3)
    with app.app_context():
        make_account("forsker", "forsker")
        add_responses("bodo", APRIL, 6)
        db.session.execute(db.text("UPDATE response SET questionnaire_version = 3"))
        db.session.commit()
        from survey import tally

        tally.rebuild(db.session)
        db.session.commit()
        add_responses("bodo", APRIL, 5)  # and some on version 1
    researcher = app.test_client()
    sign_in(researcher, "forsker")
    export = researcher.get("/eksport/").get_data(as_text=True)
    assert re.search(r'<option value="3"[^>]*selected', export)  # the live one by default
    overview = researcher.get("/resultater/oversikt").get_data(as_text=True)
    assert re.search(r'<option value="3"[^>]*selected', overview)  # the newest with data
    assert re.search(r'<option value="1"', overview)
    office = researcher.get("/resultater/kontor/bodo?versjon=1").get_data(as_text=True)
    assert re.search(r'<option value="1"[^>]*selected', office)
    codebook = researcher.get("/eksport/kodebok?versjon=3").get_data(as_text=True)
    assert ADDED in codebook and REMOVED not in codebook
    listing = admin.get("/admin/sporreskjema").get_data(as_text=True)
    row = re.search(r"Versjon 3</a></th>(.*?)</tr>", listing, re.S).group(1)
    assert "Aktiv" in row and re.search(r'<td class="num">6</td>\s*$', row.strip())


def test_a_version_page_shows_every_item_in_every_language(admin):
    html = admin.get("/admin/sporreskjema/1").get_data(as_text=True)
    v1 = get(1)
    for item in v1.items:
        assert f"<code>{item.code}</code>" in html
    assert unescape(v1.item("med_spurt").text.nn) in unescape(html)
    assert unescape(v1.item("med_spurt").text.en) in unescape(html)
    assert "Gjør denne versjonen aktiv" not in html  # it is the live one
    assert admin.get("/admin/sporreskjema/7").status_code == 404
    assert (
        admin.post(
            "/admin/sporreskjema/7/aktiv", data=Page(admin.get("/admin/sporreskjema/1")).values()
        ).status_code
        == 404
    )


# --- the shell --------------------------------------------------------------------


def test_flask_questionnaire_commands(app, runner, tmp_path):
    broken = tmp_path / "broken.toml"
    broken.write_text(broken_source(), encoding="utf-8")
    result = runner.invoke(args=["questionnaire", "publish", str(broken)])
    assert result.exit_code != 0 and "nothing was published" in result.output
    assert "item tal_klar: duplicate code" in result.output

    good = tmp_path / "v2.toml"
    good.write_text(v2_source(), encoding="utf-8")
    result = runner.invoke(args=["questionnaire", "publish", str(good)])
    assert result.exit_code == 0, result.output
    assert "Published version 3" in result.output and f"added: {ADDED}" in result.output

    result = runner.invoke(args=["questionnaire", "live", "3"])
    assert result.exit_code == 0 and "Version 3 is live (was 1)" in result.output
    result = runner.invoke(args=["questionnaire", "live", "5"])
    assert result.exit_code == 1 and "There is no questionnaire version 5." in result.output
    result = runner.invoke(args=["questionnaire", "publish", str(good)])
    assert "Versjon 3 finnes allerede" in result.output and result.exit_code == 1

    listing = runner.invoke(args=["questionnaire", "list"]).output
    assert re.search(r"^3 \(live\)\t30 items\t0 responses\tpublished by shell", listing, re.M)
    assert re.search(r"^1\t30 items\t0 responses\tshipped", listing, re.M)
    shown = runner.invoke(args=["questionnaire", "show", "1"]).output
    assert "med_stige  ladder" in shown and f"removed: {REMOVED}" not in shown
    assert f"added: {ADDED}" not in shown and f"removed: {ADDED}" in shown
    with app.app_context():
        events = db.session.execute(
            select(AuditEvent.action, AuditEvent.actor, AuditEvent.details).order_by(AuditEvent.id)
        ).all()
        assert [tuple(e) for e in events] == [
            ("questionnaire.publish", "shell", {"version": 3}),
            ("questionnaire.live", "shell", {"version": 3, "previous": 1}),
        ]


@pytest.mark.parametrize(
    "source",
    [
        'version = 2\npages = "x"',
        "version = 2\nscales = 3",
        "version = 2\n[[pages]]\nitems = [3]",
        "version = true",
        v2_source().replace("max_length = 1000", 'max_length = "mange"'),
        v2_source().replace("[themes.stigma]", "[themes.trivsel]"),
        v2_source(40000),
    ],
)
def test_files_in_the_wrong_shape_are_problems_not_errors(app, source):
    """Valid TOML that does not fit the format is a listed problem, never a crash."""
    with app.app_context(), pytest.raises(versions.QuestionnaireError) as raised:
        versions.publish(source, "shell")
    assert raised.value.problems and all(isinstance(p, str) for p in raised.value.problems)
    with app.app_context():
        assert count(PublishedQuestionnaire) == 0
