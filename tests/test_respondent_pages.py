"""Issue 13, the parts done so far: honest promises and who runs the survey, office search
with Norwegian letters, the error summary, the ladder in an order of each respondent's
own, and CSS under a content-hashed address with a year's cache."""

from __future__ import annotations

import hashlib
import random
import re
from pathlib import Path
from types import SimpleNamespace

import pytest
from sqlalchemy import select

from survey.config import defaults
from survey.extensions import db
from survey.models import Inbox, Office, Response
from survey.office_lookup import fold, matching
from survey.questionnaire import get
from survey.respond.forms import LADDER_ORDER, draw_order, ladder_order

from .forms import Page, every_choice, settle, start

V1 = get(1)
LADDER = V1.item("med_stige")
STATEMENTS = [option.value for option in LADDER.options]
STATIC = Path(__file__).resolve().parents[1] / "survey" / "static"

OWNER = {
    "STIGEN_OWNER": "NAV Testfylke",
    "STIGEN_CONTACT": "stigen@testfylke.example",
    "STIGEN_PRIVACY_CONTACT": "personvern@testfylke.example",
}


@pytest.fixture
def app_config():
    return OWNER


# --- pure: folding, matching, the ladder's order ------------------------------------------


@pytest.mark.parametrize(
    "typed, name",
    [
        ("ålesund", "NAV Ålesund"),
        ("Ålesund", "NAV Ålesund"),
        ("aalesund", "NAV Ålesund"),
        ("AALESUND", "NAV Ålesund"),
        ("alesund", "NAV Ålesund"),
        ("bodo", "NAV Bodø"),
        ("BODØ", "NAV Bodø"),
        ("tromso", "NAV Tromsø"),
        ("baerum", "NAV Bærum"),
        ("bærum", "NAV Bærum"),
        ("A\u030alesund", "NAV Ålesund"),  # å typed as a + ring
        ("mo i rana", "NAV Mo  i  Rana"),
        ("nav-bodø", "NAV Bodø"),
    ],
)
def test_folding_finds_norwegian_letters_typed_any_way(typed, name):
    assert fold(typed) in fold(name)


def test_folding_keeps_different_names_apart():
    assert fold("bodo") not in fold("NAV Tromsø")
    assert fold("ås") not in fold("NAV Bodø")
    assert fold("Ålesund") == "alesund" and fold("Bærum") == "baerum"


def test_matching_looks_at_name_and_municipality():
    offices = [
        SimpleNamespace(name="NAV Sunnmøre", municipality="Ålesund"),
        SimpleNamespace(name="NAV Bodø", municipality=None),
        SimpleNamespace(name="NAV Tromsø", municipality="Tromsø"),
    ]
    assert [o.name for o in matching("aalesund", offices)] == ["NAV Sunnmøre"]
    assert [o.name for o in matching("sunnmore", offices)] == ["NAV Sunnmøre"]
    assert [o.name for o in matching("BODO", offices)] == ["NAV Bodø"]
    assert matching("oslo", offices) == []


def test_a_carried_order_is_kept_when_it_is_a_permutation_of_the_statements():
    order = (5, 2, 8, 1, 7, 3, 6, 4)
    assert ladder_order(LADDER, ",".join(map(str, order))) == order


@pytest.mark.parametrize(
    "raw",
    [
        None,
        "",
        "1,2,3",
        "1,2,3,4,5,6,7,7",
        "1,2,3,4,5,6,7,8,9",
        "1,2,3,4,5,6,7,8,-1",
        "a,b,c,d,e,f,g,h",
        "1;2;3;4;5;6;7;8",
        "1,2,3,4,5,6,7, 8",
        "x" * 200,
    ],
)
def test_a_missing_or_tampered_order_is_drawn_anew(raw):
    order = ladder_order(LADDER, raw, random.Random(7))
    assert sorted(order) == sorted(STATEMENTS)
    assert order == draw_order(STATEMENTS, random.Random(7))  # a draw, not the raw value


def test_over_many_draws_every_statement_comes_first():
    firsts = {ladder_order(LADDER, None)[0] for _ in range(400)}
    assert firsts == set(STATEMENTS)  # misses one with probability ~8·(7/8)^400 ≈ 1e-22
    assert len({ladder_order(LADDER, None) for _ in range(50)}) > 40  # not a few fixed orders


def test_the_owner_and_contacts_have_demo_defaults(tmp_path, monkeypatch):
    for key in OWNER:
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("SECRET_KEY", "test")
    found = defaults(str(tmp_path))
    assert found["STIGEN_OWNER"] == "NAV (demo)"
    assert "@" in found["STIGEN_CONTACT"] and "@" in found["STIGEN_PRIVACY_CONTACT"]
    monkeypatch.setenv("STIGEN_OWNER", "NAV Vestland")
    assert defaults(str(tmp_path))["STIGEN_OWNER"] == "NAV Vestland"


# --- office search, on both databases --------------------------------------------------------


@pytest.mark.parametrize("typed", ["ålesund", "Ålesund", "ÅLESUND", "aalesund", "Aalesund"])
def test_office_search_finds_aalesund_however_it_is_typed(client, app, typed):
    with app.app_context():
        db.session.add(Office(slug="alesund", name="NAV Ålesund", municipality="Ålesund"))
        db.session.commit()
    html = client.get("/", query_string={"q": typed}).get_data(as_text=True)
    assert "NAV Ålesund" in html and "NAV Bodø" not in html
    assert 'name="q"' in html and "<script" not in html  # still the plain GET form


@pytest.mark.parametrize(
    "typed, found, not_found",
    [
        ("bodo", "NAV Bodø", "NAV Tromsø"),
        ("BODØ", "NAV Bodø", "NAV Tromsø"),
        ("tromso", "NAV Tromsø", "NAV Bodø"),
        ("Tromsø", "NAV Tromsø", "NAV Bodø"),
    ],
)
def test_office_search_folds_o_slash(client, typed, found, not_found):
    html = client.get("/", query_string={"q": typed}).get_data(as_text=True)
    assert found in html and not_found not in html


def test_office_search_never_shows_an_inactive_office(client):
    html = client.get("/", query_string={"q": "stengt"}).get_data(as_text=True)
    assert "NAV Stengt" not in html and "Ingen kontor passer" in html


# --- honest promises, who runs it ----------------------------------------------------------


def text_of(html: str) -> str:
    return " ".join(re.sub(r"<[^>]+>", " ", html).split())


@pytest.mark.parametrize("path", ["/k/bodo", "/personvern"])
def test_start_and_privacy_pages_name_who_runs_it_and_whom_to_ask(client, path):
    html = client.get(path).get_data(as_text=True)
    assert "Undersøkelsen drives av NAV Testfylke." in text_of(html)
    assert 'href="mailto:stigen@testfylke.example"' in html
    assert 'href="mailto:personvern@testfylke.example"' in html
    english = client.get(path + "?lang=en").get_data(as_text=True)
    assert "The survey is run by NAV Testfylke." in text_of(english)


def test_the_start_page_says_who_reads_free_text_and_when(client):
    text = text_of(client.get("/k/bodo").get_data(as_text=True))
    assert "Kontoret ser bare samlede tall" not in text  # the old, untrue promise
    assert "bare som samlede tall, bare når minst 5 personer har svart" in text
    assert "leser en moderator først og fjerner navn, tall og steder" in text
    assert (
        "lederne ved kontoret lese ordrett, men først når tallene for kontoret og "
        "måneden er publisert" in text
    )
    nynorsk = text_of(client.get("/k/bodo?lang=nn").get_data(as_text=True))
    assert "leiarane ved kontoret lese ordrett" in nynorsk


def test_the_privacy_page_says_who_reads_free_text_and_that_figures_come_monthly(client):
    text = text_of(client.get("/personvern").get_data(as_text=True))
    assert "Kontoret ser bare samlede tall" not in text
    assert "Moderatoren fjerner navn, tall og steder" in text
    assert "lese ordrett, men først når tallene for kontoret og måneden er publisert" in text
    assert "Tallene publiseres i månedlige utgivelser, og bare for hele måneder som er over" in text
    english = text_of(client.get("/personvern?lang=en").get_data(as_text=True))
    assert "monthly releases" in english and "word for word" in english


def walk_to(client, code: str) -> Page:
    """From the start, press Next until the page that shows item ``code``."""
    page = start(client)
    while code not in page.visible_items():
        page = page.submit(client)
        assert page.status == 200
    return page


def test_the_free_text_question_says_who_reads_it(client):
    page = walk_to(client, "hel_fritekst")
    text = text_of(page.html)
    assert "Hvem leser det du skriver?" in text
    assert (
        "Godkjent tekst kan lederne ved kontoret lese ordrett, men først når tallene "
        "for kontoret og måneden er publisert" in text
    )
    # The note stands right before the question it is about.
    note = page.html.index("free-text-note")
    assert note < page.html.index('for="hel_fritekst"')
    assert page.html.count("free-text-note") == 1
    assert "free-text-note" not in start(client).html  # pages without free text


# --- the error summary -----------------------------------------------------------------------


def test_a_page_with_errors_starts_with_a_summary_linking_to_each_field(client):
    page = start(client).submit(client, answers={"med_stige": 3, "med_spurt": 99, "med_plan": "x"})
    html = page.html
    title = re.search(r"<title>(.*?)</title>", html, re.S).group(1).strip()
    assert title.startswith("Feil: " + V1.pages[0].title("nb"))
    summary = re.search(r'<div class="error-summary"(.*?)</div>', html, re.S)
    assert summary, html
    opening = summary.group(1)[: summary.group(1).index(">")]
    assert 'tabindex="-1"' in opening and "autofocus" in opening and 'role="alert"' in opening
    links = re.findall(r'<a href="#([^"]+)">([^<]*)</a>', summary.group(1))
    assert [target for target, _ in links] == ["med_spurt", "med_plan"]
    for target, label in links:
        assert f'id="{target}"' in html  # the link has somewhere to go
        assert "Velg ett av alternativene." in label
    # First in the content: before the form, its language buttons and the heading.
    main = html.index('<main id="main"')
    assert main < html.index('class="error-summary"') < html.index("<form") < html.index("<h1")
    # The messages beside the fields are as before, and the view's notice is in the box.
    assert page.error_for("med_spurt") == "Velg ett av alternativene."
    assert "Noe må rettes før du kan gå videre" in summary.group(1)
    assert html.count('role="alert"') == 1
    # The script that moves focus where autofocus is not honoured, under a hashed address.
    assert re.search(r'<script src="/static/js/respond\.js\?v=[0-9a-f]{16}" defer>', html)


@pytest.mark.parametrize("lang, word", [("nn", "Feil: "), ("en", "Error: ")])
def test_the_title_says_error_in_each_language(client, lang, word):
    page = start(client).submit(client, ("lang", lang))
    page = page.submit(client, answers={"med_spurt": 99})
    title = re.search(r"<title>(.*?)</title>", page.html, re.S).group(1).strip()
    assert title.startswith(word + V1.pages[0].title(lang))
    assert 'class="error-summary"' in page.html


def test_a_free_text_error_links_to_the_text_box(client):
    page = walk_to(client, "hel_fritekst")
    page = page.submit(client, answers={"hel_fritekst": "x" * 1001})
    assert re.search(r'<div class="error-summary".*?<a href="#hel_fritekst">', page.html, re.S)
    assert '<textarea id="hel_fritekst"' in page.html


def test_no_summary_and_no_error_title_without_errors(client):
    first = start(client)
    for page in (first, first.submit(client), first.submit(client, ("lang", "en"))):
        title = re.search(r"<title>(.*?)</title>", page.html, re.S).group(1).strip()
        assert not title.startswith(("Feil", "Error")) and "error-summary" not in page.html
        # No script is needed: the one there is the deferred enhancement, nothing inline.
        assert re.findall(r"<script[^>]*>", page.html) == [
            re.search(
                r'<script src="/static/js/respond\.js\?v=[0-9a-f]{16}" defer>', page.html
            ).group(0)
        ]


# --- the ladder in each respondent's own order -------------------------------------------


def shown_order(page: Page) -> list[int]:
    return [
        int(f["value"])
        for f in page.fields
        if f.get("name") == "med_stige" and f.get("type") == "radio"
    ]


def carried_order(page: Page) -> list[int]:
    (raw,) = page.hidden(LADDER_ORDER)
    return [int(value) for value in raw.split(",")]


def test_over_many_respondents_every_statement_is_shown_first(app):
    firsts = set()
    for _ in range(150):  # each a new browser: misses one with probability ~2e-8
        page = start(app.test_client())
        order = shown_order(page)
        assert sorted(order[:-1]) == sorted(STATEMENTS) and order[-1] == -1  # "vet ikke" last
        assert order[:-1] == carried_order(page)
        firsts.add(order[0])
    assert firsts == set(STATEMENTS)


def test_the_order_is_drawn_on_the_start_page_and_carried_into_the_questionnaire(client):
    start_page = Page(client.get("/k/bodo"))
    drawn = carried_order(start_page)
    assert sorted(drawn) == sorted(STATEMENTS)
    first = start_page.submit(client, ("nav", "start"))
    assert shown_order(first)[:-1] == drawn


def test_back_reload_and_language_switch_keep_the_respondents_order(client):
    first = start(client)
    order = shown_order(first)
    second = first.submit(client, answers={"med_stige": order[0]})
    assert carried_order(second) == order[:-1]
    back = second.submit(client, ("nav", "back"))
    assert shown_order(back) == order and back.checked("med_stige") == [str(order[0])]
    reloaded = back.submit(client, ("nav", "back"))  # the form sent again: still page 1
    assert shown_order(reloaded) == order
    nynorsk = reloaded.submit(client, ("lang", "nn"))
    assert shown_order(nynorsk) == order and nynorsk.checked("med_stige") == [str(order[0])]
    errors = nynorsk.submit(client, answers={"med_spurt": 99})
    assert shown_order(errors) == order  # a page with errors keeps it too


def test_a_tampered_order_is_replaced_by_a_fresh_one_and_no_answer_is_lost(client):
    first = start(client).submit(client, ("nav", "next"), {"med_stige": 4}, drop=())
    page = first.submit(
        client, ("nav", "back"), {LADDER_ORDER: "1,1,1,1,1,1,1,1"}, drop=(LADDER_ORDER,)
    )
    assert sorted(shown_order(page)[:-1]) == sorted(STATEMENTS)
    assert page.checked("med_stige") == ["4"]


def test_nothing_about_the_order_is_stored(client, app):
    page = start(client)
    for _ in range(len(V1.pages) - 1):
        page = page.submit(client, answers=every_choice(page))
    assert page.submit(client, ("nav", "submit"), every_choice(page)).status == 303
    settle(app)  # into the counted tables, as a release does
    with app.app_context():
        (row,) = db.session.scalars(select(Response)).all()
        assert "med_stige" in row.answers  # the ladder's answer, and only answers
        assert set(row.answers) <= {item.code for item in V1.items}
        assert LADDER_ORDER not in repr(row.answers)
        for table in (Inbox.__table__, Response.__table__):
            assert not any("order" in column.name for column in table.columns), table


# --- CSS under a content-hashed address, cached for a year ------------------------------


def test_css_has_a_content_hashed_address_and_a_years_cache(client):
    html = client.get("/").get_data(as_text=True)
    href = re.search(r'<link rel="stylesheet" href="([^"]+)"', html).group(1)
    digest = hashlib.sha256((STATIC / "css" / "stigen.css").read_bytes()).hexdigest()[:16]
    assert href == f"/static/css/stigen.css?v={digest}"
    response = client.get(href)
    assert response.status_code == 200 and b".error-summary" in response.data
    assert response.headers["Cache-Control"] == "public, max-age=31536000, immutable"
    response.close()
    for stale in ("/static/css/stigen.css", "/static/css/stigen.css?v=0000000000000000"):
        response = client.get(stale)
        assert "immutable" not in response.headers.get("Cache-Control", ""), stale
        response.close()


def test_a_missing_static_file_gets_no_hash_and_no_long_cache(client, app):
    with app.test_request_context():
        from flask import url_for

        assert url_for("static", filename="css/finnes-ikke.css") == "/static/css/finnes-ikke.css"
        assert url_for("static", filename="../survey/config.py").endswith("config.py")
    response = client.get("/static/css/finnes-ikke.css?v=abc")
    assert response.status_code == 404
    assert "immutable" not in response.headers.get("Cache-Control", "")


def test_the_thank_you_link_is_a_tap_target(client):
    html = client.get("/k/bodo/takk").get_data(as_text=True)
    assert re.search(r'<p class="tap-link"><a href="/[^"]+">', html), html
    css = (STATIC / "css" / "stigen.css").read_text()
    assert re.search(r"\.tap-link a \{[^}]*min-height: 44px", css)
