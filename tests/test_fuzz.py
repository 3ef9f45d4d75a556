"""Abuse with hypothesis: whatever arrives in a form, a query string or a body, Stigen
answers with one of its own pages (never a 500, never a bare error), never leaves the site
after signing in, and never stores a value the questionnaire does not allow or free text
with an identifier a machine can find.

Each test builds its app once and loops inside (an inner ``@given``), so the accounts and
data are set up once per test, and every example starts a fresh browser (test client).
"""

from __future__ import annotations

import io
import json
import math
from collections import Counter
from datetime import date
from urllib.parse import quote, urlencode, urlsplit

import plotly
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from survey.config import LANGUAGES
from survey.domain.redaction import redact
from survey.domain.scoring import score
from survey.extensions import db
from survey.models import Comment, Office, Response
from survey.questionnaire import published

from .forms import Page, settle, start
from .test_dashboard import add_responses, make_account, sign_in
from .test_respond import FULL

ANSWERED = {code: value for code, value in FULL.items() if code != "hel_fritekst"}

V1 = published()[1]
LAST_PAGE = len(V1.pages) - 1
ITEMS = {item.code: item for item in V1.items}
BODY_LIMIT = 64 * 1024
PASSWORD = "riktig-passord-1"

# Respondent pages are rate-limited per address; the fuzzer is one address sending
# hundreds of pages, so the limits are lifted where the test is about the form itself.
NO_RESPONDENT_LIMITS = {
    "STIGEN_PAGE_LIMIT": "100000 per minute",
    "STIGEN_SUBMIT_LIMIT": "100000 per minute",
}


def fuzz(examples: int = 60) -> settings:
    return settings(
        max_examples=examples,
        deadline=None,
        suppress_health_check=[
            HealthCheck.function_scoped_fixture,
            HealthCheck.too_slow,
            HealthCheck.data_too_large,
        ],
    )


# --- strategies --------------------------------------------------------------------------

# Strings a careless or hostile client sends: NUL, digits str.isdigit() accepts but int()
# does not, other scripts' digits, numbers too big for any column, markup, SQL, RTL
# overrides, zero-width and combining characters, emoji, lone surrogates.
NASTY = (
    "",
    " ",
    "\x00",
    "a\x00b",
    "\x00" * 8,
    "\t",
    "\r\n",
    "\x7f",
    "\x1b[31m",
    "²",
    "³",
    "①",
    "Ⅷ",
    "٣",
    "١٢٣",
    "３",
    "𝟘",
    "⁹",
    "-1",
    "-0",
    "0",
    "+3",
    " 3 ",
    "03",
    "3.0",
    "1e3",
    "0x1f",
    "1_0",
    "NaN",
    "inf",
    "-inf",
    "True",
    "None",
    "null",
    "[]",
    "{}",
    "[1, 2]",
    "9" * 25,
    "-" + "9" * 25,
    "2147483648",
    "-9223372036854775809",
    "<script>alert(1)</script>",
    '"><img src=x onerror=alert(1)>',
    "' OR 1=1 --",
    "%",
    "%00",
    "%%",
    "_",
    "\\",
    "../../etc/passwd",
    "{{ 7*7 }}",
    "${7*7}",
    "\u202eevil\u202c",
    "שלום עולם",
    "مرحبا",
    "\u200b",
    "\ufeff",
    "e\u0301" * 50,
    "🧗‍♀️🪜",
    "👩🏽‍💻" * 40,
    "\U0010ffff",
    "\ud800",
    "x\udfffy",
    "\ud83d\ude00",
)
LONG = ("9" * 5000, "x" * 1001, "ø" * 1000, "😀" * 999 + "\n")

# Fragments that redaction must catch, and tails that might glue onto them.
IDENTIFIERS = (
    "ola.nordmann@nav.no",
    "a@b.co",
    "http://x.io/a",
    "https://nav.no",
    "www.nav.no",
    "nav.no",
    "veileder.com",
    "12345678901",
    "123456 78901",
    "123456-78901",
    "12345678",
    "+47 912 34 567",
    "0047 91234567",
    "912 34 567",
    "91 23 45 67",
    "9123 4567",
    "١٢٣٤٥٦٧٨٩٠١",
    "１２３４５６７８",
)

plain_text = st.text(max_size=30)
any_text = st.one_of(
    plain_text, st.sampled_from(NASTY), st.text(st.characters(codec="utf-8"), max_size=30)
)
numbers = st.one_of(
    st.integers(-(10**30), 10**30),
    st.integers(-3, 12),
    st.floats(allow_nan=True, allow_infinity=True),
).map(str)
# Long, but not necessarily too long: a piece repeated up to about 20 KB of characters.
long_text = st.one_of(
    st.sampled_from(LONG),
    st.builds(
        lambda piece, n: (piece * n)[:20_000],
        st.sampled_from(("a", "ø", "🧗", "\u202e", "x ", "\x00", "12345678901 ")),
        st.integers(500, 20_000),
    ),
)
identifier_text = st.lists(
    st.one_of(
        st.sampled_from(IDENTIFIERS),
        st.sampled_from(IDENTIFIERS),
        st.sampled_from(NASTY),
        plain_text,
        st.sampled_from(("", " ", ".", "/", "-", "\n", "x", "0", "[")),
    ),
    max_size=8,
).map("".join)
free_text = st.one_of(identifier_text, identifier_text, identifier_text, long_text)
junk = st.one_of(any_text, numbers, long_text)
raw_bytes = st.sampled_from(
    (b"\xff", b"\xfe\xff", b"\xed\xa0\x80", b"\xc3", b"\x80abc", b"\xf4\x90\x80\x80", b"caf\xe9")
)
slugs = st.one_of(st.sampled_from(("bodo", "tromso", "stengt", "finnes-ikke")), any_text)


def value_for(name: str):
    """What a client might send for the field ``name``: mostly plausible, often not."""
    item = ITEMS.get(name)
    if item is not None and item.type == "text":
        own = free_text
    elif item is not None and item.type == "multi":
        own = st.sampled_from(
            [o.value for o in item.options] * 4 + [o.value.upper() for o in item.options]
        )
    elif item is not None:
        own = st.sampled_from(
            [str(v) for v in item.values] * 3 + [f" {item.values[0]} ", f"+{item.values[0]}"]
        )
    elif name == "page":
        own = st.sampled_from([str(LAST_PAGE)] * 6 + [str(n) for n in range(-2, 10)])
    elif name == "nav":
        own = st.sampled_from(["submit"] * 6 + ["next", "back", "start", "SUBMIT", "lang"])
    elif name == "lang":
        own = st.sampled_from([*LANGUAGES, "NB", "de", "nb ", "no", "nob"])
    elif name == "v":
        own = st.sampled_from(["1", "01", "2", "0", "-1", "1.0", "²", "١"])
    elif name == "nonce":
        own = st.one_of(
            st.text("0123456789abcdef", min_size=32, max_size=32),
            st.sampled_from(["0" * 32, "A" * 32, "a" * 32 + "\n", "g" * 32]),
        )
    else:
        own = any_text
    return st.one_of(own, own, own, junk, raw_bytes)


FIELDS = (*ITEMS, "page", "nav", "lang", "v", "nonce", "csrf_token")
HIDDEN = ("page", "nav", "lang", "v", "nonce", "csrf_token")
UNKNOWN_FIELDS = st.one_of(
    st.sampled_from(
        (
            "",
            "x",
            "med_stige[]",
            "tilt_deltatt[0]",
            "submit",
            "__proto__",
            "csrf_token ",
            "Page",
            "\x00",
            "🪜",
            "a" * 300,
        )
    ),
    st.text(min_size=1, max_size=20),
).filter(lambda name: name not in FIELDS)


@st.composite
def form_changes(draw):
    """Which fields to replace, and with what: an empty list drops the field, several
    values repeat the key; unknown fields are added. Half the time the form is sent as
    Send inn on the last page, so that what passes validation is stored and checked."""
    changes = {}
    if draw(st.booleans()):
        changes = {"page": [str(LAST_PAGE)], "nav": ["submit"], "hel_fritekst": [draw(free_text)]}
    names = st.one_of(st.sampled_from(FIELDS), st.sampled_from(HIDDEN))
    for name in draw(st.lists(names, unique=True, max_size=5)):
        values = value_for(name)
        changes[name] = draw(
            st.one_of(
                st.lists(values, max_size=2),
                st.lists(values, max_size=2),
                st.tuples(
                    st.one_of(values.filter(lambda v: len(v) < 100), st.sampled_from(NASTY)),
                    st.integers(2, 300),
                ).map(lambda t: [t[0]] * t[1]),
            )
        )
    for name in draw(st.lists(UNKNOWN_FIELDS, unique=True, max_size=2)):
        changes[name] = draw(st.lists(junk, min_size=1, max_size=3))
    return changes


def encode(value) -> bytes:
    """A value as a browser or a script could send it: lone surrogates as the bytes a
    lax encoder writes for them."""
    return value if isinstance(value, bytes) else value.encode("utf-8", "surrogatepass")


def form_body(pairs) -> bytes:
    return urlencode([(encode(k), encode(v)) for k, v in pairs]).encode("ascii")


def received(value) -> str:
    """The value as the server decodes it (werkzeug replaces undecodable bytes)."""
    return encode(value).decode("utf-8", "replace")


# --- checks ------------------------------------------------------------------------------


def assert_friendly_page(response, lang: str | None = None) -> str:
    """One of Stigen's own HTML pages (header, footer), not a bare error, in ``lang``."""
    html = response.get_data(as_text=True)
    assert response.mimetype == "text/html", (response.status_code, html[:300])
    assert 'class="site-header"' in html and "</html>" in html, html[:500]
    if lang:
        assert f'<html lang="{lang}">' in html, (lang, html[:300])
    return html


def assert_stays_on_site(location: str | None) -> None:
    """A Location a browser follows to this site only: after what browsers do to a URL
    (strip C0 controls and spaces at the ends, drop tabs and newlines, read ``\\`` as
    ``/``) there is no scheme, no host (or our own), no ``//``."""
    if location is None:
        return
    seen = location.strip("".join(map(chr, range(33))))
    seen = seen.replace("\t", "").replace("\n", "").replace("\r", "").replace("\\", "/")
    parts = urlsplit(seen)
    if parts.scheme or parts.netloc:
        assert parts.scheme in ("http", "https") and parts.netloc == "localhost", location
    else:
        assert not seen.startswith("//") and seen.startswith("/"), location


def _new_rows(rows, key, seen: Counter) -> list:
    """The rows not yet in ``seen`` (counted by content: a mix gives every response of
    the office and period a fresh id), added to it."""
    left = Counter(seen)
    new = []
    for row in rows:
        if left[key(row)] > 0:
            left[key(row)] -= 1
        else:
            new.append(row)
            seen[key(row)] += 1
    return new


def assert_new_rows_are_valid(app, seen: Counter, languages: Counter) -> None:
    """Every response stored since ``seen`` holds only values its questionnaire allows
    and the scores they give, in a language a respondent was answering in when sent
    (``languages``); every new comment is non-empty text with nothing redaction would
    still find. (The new rows join ``seen`` first, so each is blamed once, on the example
    that stored it.)"""
    settle(app)
    with app.app_context():
        responses = _new_rows(
            db.session.scalars(select(Response)),
            lambda r: (
                "response",
                json.dumps(r.answers, sort_keys=True),
                r.language,
                r.questionnaire_version,
            ),
            seen,
        )
        comments = _new_rows(
            db.session.scalars(select(Comment)),
            lambda c: ("comment", c.body, c.item_code, c.language),
            seen,
        )
        assert Counter(r.language for r in responses) <= languages, languages
        for response in responses:
            assert response.language in LANGUAGES
            questionnaire = published()[response.questionnaire_version]
            codes = {item.code: item for item in questionnaire.items}
            assert isinstance(response.answers, dict)
            for code, value in response.answers.items():
                item = codes[code]
                assert item.type != "text", (code, value)
                if item.type == "multi":
                    chosen = set(value)
                    assert isinstance(value, list) and value, (code, value)
                    assert all(isinstance(v, str) for v in value) and len(chosen) == len(value)
                    assert chosen <= {o.value for o in item.options}, (code, value)
                    assert len(value) == 1 or not chosen & set(item.exclusive), (code, value)
                else:
                    assert type(value) is int and value in item.values, (code, value)
            assert response.rung is None or 1 <= response.rung <= 8
            assert response.band is None or 1 <= response.band <= 3
            assert set(response.theme_indices) <= set(
                published()[response.questionnaire_version].themes
            )
            for theme, index in response.theme_indices.items():
                assert not math.isnan(index) and 0 <= index <= 100, theme
            expected = score(questionnaire, response.answers)
            assert (response.rung, response.band) == (expected.rung, expected.band)
        for comment in comments:
            assert isinstance(comment.body, str) and comment.body.strip(), repr(comment.body)
            # Held until k have gathered in the office and period (survey.mixer).
            assert comment.language in LANGUAGES and comment.status in ("held", "pending")
            assert ITEMS[comment.item_code].type == "text"
            # redact() changes text exactly when one of its patterns still finds something.
            assert redact(comment.body) == comment.body, comment.body


def stored(app) -> int:
    settle(app)  # submissions wait in the inbox until mixed into the counted tables
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(Response))


# --- 1. the respondent's form --------------------------------------------------------------

SUBMIT = {"nav": ["submit"], "page": [str(LAST_PAGE)]}


@pytest.mark.parametrize("app_config", [NO_RESPONDENT_LIMITS], ids=["no-limits"])
def test_any_questionnaire_form_gets_a_page_and_stores_only_valid_answers(app):
    seen: Counter = Counter()

    @fuzz()
    @given(lang=st.sampled_from(LANGUAGES), steps=st.lists(form_changes(), min_size=1, max_size=3))
    @example(lang="nb", steps=[{"v": ["²"]}])
    @example(
        lang="nn", steps=[{**SUBMIT, "hel_fritekst": ["CV: 12345678https://ola-nordmann.de/cv"]}]
    )
    @example(lang="nb", steps=[{**SUBMIT, "hel_fritekst": ["CV: ola-nordmann.no12345678901"]}])
    @example(lang="en", steps=[{**SUBMIT, "hel_fritekst": ["hei\x00du"]}])
    @example(lang="nb", steps=[{**SUBMIT, "med_stige": ["٣"], "tilt_deltatt": ["ingen", "ingen"]}])
    @example(lang="nb", steps=[{**SUBMIT, "med_stige": [""]}])
    @example(lang="nn", steps=[{**SUBMIT, "bak_alder": [" ", "2"]}])
    def check(lang, steps):
        client = app.test_client()
        client.get(f"/?lang={lang}")
        # Start from a form with every page answered, so that a submission the fuzzing
        # leaves valid counts as a response (scoring.counts_as_response) and is stored.
        page = start(client).submit(client, ("nav", "start"), ANSWERED)
        sent_in = Counter()
        for changes in steps:
            pairs = [(k, v) for k, v in page.values().items(multi=True) if k not in changes]
            pairs += [(k, v) for k, values in changes.items() for v in values]
            body = form_body(pairs)
            chosen = [received(v) for v in changes.get("lang", [])]
            switched = chosen[0] if chosen and chosen[0] in LANGUAGES else lang
            before = stored(app)
            response = client.post(
                "/k/bodo/svar", data=body, content_type="application/x-www-form-urlencoded"
            )
            status = response.status_code
            assert status in (200, 303, 400, 404, 413, 429), (status, response.data[:300])
            if len(body) > BODY_LIMIT:
                assert status == 413
            if status != 413:  # a body refused unread changes no language
                lang = switched
            if status == 303:
                assert response.headers["Location"].endswith("/k/bodo/takk")
                sent_in[lang] += 1
                assert stored(app) - before <= 1
            else:
                assert_friendly_page(response, lang)
                assert stored(app) == before
            if status == 200:
                page = Page(response)
                assert page.action == "/k/bodo/svar"
        assert_new_rows_are_valid(app, seen, sent_in)

    check()


@pytest.mark.parametrize("app_config", [NO_RESPONDENT_LIMITS], ids=["no-limits"])
def test_any_office_in_the_questionnaires_address_gets_a_page(app):
    """The slug in ``/k/<slug>/svar`` is typed by anyone: an unknown one is a 404 page, a
    closed office its closed page, never a 500 nor a "database down" 503."""

    @fuzz(40)
    @given(
        slug=slugs,
        lang=st.sampled_from(LANGUAGES),
        nav=st.sampled_from(("next", "submit", "back", "start")),
    )
    @example(slug="a\x00b", lang="nb", nav="next")
    def check(slug, lang, nav):
        client = app.test_client()
        client.get(f"/?lang={lang}")
        path = "/k/" + quote(encode(slug), safe="") + "/svar"
        response = client.post(
            path,
            data=form_body([("nav", nav), ("page", "0")]),
            content_type="application/x-www-form-urlencoded",
        )
        assert response.status_code in (200, 308, 404), (slug, response.status_code)
        if response.status_code != 308:  # werkzeug merging the slashes of "/k//svar"
            assert_friendly_page(response, lang)

    check()


# --- 2. query strings on every GET route ---------------------------------------------------

GET_ROUTES = (
    "/",
    "/k/{slug}",
    "/k/{slug}/svar",
    "/k/{slug}/takk",
    "/personvern",
    "/logg-inn",
    "/resultater/",
    "/resultater/oversikt",
    "/resultater/kontor/{slug}",
    "/eksport/",
    "/eksport/svar.csv",
    "/eksport/svar-info.txt",
    "/eksport/fritekst.csv",
    "/eksport/aggregert.csv",
    "/eksport/kodebok",
    "/eksport/kodebok.csv",
    "/admin/revisjon",
)
PARAMETERS = (
    "q",
    "lang",
    "periode",
    "versjon",
    "sorter",
    "kontor",
    "format",
    "inndeling",
    "handling",
    "side",
    "next",
    "bekreft",
)
# Names a framework might treat specially (url_for's own keywords, view arguments).
SPECIAL_KEYS = (
    "slug",
    "endpoint",
    "values",
    "_method",
    "_external",
    "_anchor",
    "_scheme",
    "version",
    "filename",
)
PLAUSIBLE = (
    "nb",
    "nn",
    "en",
    "2026-01",
    "2026-Q1",
    "2026-H1",
    "2025-12",
    "2025-Q4",
    "2026-13",
    "2026-Q5",
    "0000-01",
    "0001-01",
    "9999-12",
    "9999-Q4",
    "9999-H2",
    "２０２６-Q1",
    "1",
    "2",
    "0",
    "²",
    "١",
    "9" * 30,
    "navn",
    "svar",
    "median",
    "reell",
    "stigma",
    "medvirkning",
    "excel",
    "csv",
    "month",
    "quarter",
    "half",
    "ja",
    "JA",
    "bodo",
    "tromso",
    "stengt",
    "export.responses",
    "export.free_text",
    "login.failed",
    "/resultater/",
    "//evil.example",
    "https://evil.example",
)
query_values = st.one_of(st.sampled_from(PLAUSIBLE), st.sampled_from(PLAUSIBLE), junk, raw_bytes)
query_keys = st.one_of(
    st.sampled_from(PARAMETERS),
    st.sampled_from(PARAMETERS),
    st.sampled_from(SPECIAL_KEYS),
    any_text,
)
ROLES = ("anonym", "leder", "forsker", "admin")


@pytest.mark.parametrize("app_config", [NO_RESPONDENT_LIMITS], ids=["no-limits"])
def test_any_query_string_on_any_get_route_gets_a_page(app):
    with app.app_context():
        make_account("leder", "leder", "bodo")
        make_account("forsker", "forsker")
        make_account("admin", "admin")
        for month in (date(2025, 11, 1), date(2025, 12, 1), date(2026, 1, 1)):
            add_responses("bodo", month, 6)
            add_responses("tromso", month, 7, rung=3, index=40.0)
        office = db.session.scalar(select(Office).where(Office.slug == "bodo"))
        db.session.add(
            Comment(
                office_id=office.id,
                period_start=date(2026, 1, 1),
                questionnaire_version=1,
                language="nb",
                item_code="hel_fritekst",
                body="=1+2 Mer tid",
            )
        )
        db.session.commit()
    clients = {"anonym": app.test_client()}
    for role in ROLES[1:]:
        clients[role] = app.test_client()
        assert sign_in(clients[role], role).status_code == 302

    @fuzz(80)
    @given(
        role=st.sampled_from(ROLES),
        route=st.sampled_from(GET_ROUTES),
        slug=slugs,
        version=st.one_of(st.just(plotly.__version__), any_text),
        query=st.lists(
            st.tuples(
                query_keys,
                st.one_of(
                    st.lists(query_values, min_size=1, max_size=3),
                    st.tuples(query_values, st.integers(2, 100)).map(lambda t: [t[0]] * t[1]),
                ),
            ),
            max_size=5,
        ),
    )
    @example(
        role="admin", route="/admin/revisjon", slug="bodo", version="", query=[("side", ["²"])]
    )
    @example(
        role="admin", route="/admin/revisjon", slug="bodo", version="", query=[("side", ["9" * 30])]
    )
    @example(
        role="forsker",
        route="/resultater/oversikt",
        slug="bodo",
        version="",
        query=[("versjon", ["²"])],
    )
    @example(
        role="forsker",
        route="/eksport/kodebok",
        slug="bodo",
        version="",
        query=[("periode", ["9999-12"])],
    )
    @example(
        role="forsker", route="/eksport/", slug="bodo", version="", query=[("periode", ["0000-01"])]
    )
    @example(role="anonym", route="/k/{slug}", slug="bodo", version="", query=[("slug", ["x"])])
    @example(role="anonym", route="/", slug="bodo", version="", query=[("_method", ["POST"])])
    @example(role="anonym", route="/", slug="bodo", version="", query=[("endpoint", ["x"])])
    @example(
        role="forsker",
        route="/eksport/kodebok",
        slug="bodo",
        version="",
        query=[("_method", ["POST"])],
    )
    @example(
        role="leder", route="/resultater/oversikt", slug="bodo", version="", query=[("slug", ["x"])]
    )
    @example(role="anonym", route="/", slug="bodo", version="", query=[("q", ["\x00"])])
    @example(role="anonym", route="/k/{slug}", slug="a\x00b", version="", query=[])
    @example(
        role="forsker", route="/eksport/", slug="bodo", version="", query=[("kontor", ["\x00"])]
    )
    def check(role, route, slug, version, query):
        path = route.format(
            slug=quote(encode(slug), safe=""), version=quote(encode(version), safe="")
        )
        pairs = [(key, value) for key, values in query for value in values]
        with clients[role].get(path, query_string=form_body(pairs).decode()) as response:
            response.get_data()  # a streamed download runs to its end
            status = response.status_code
            assert status < 500, (status, response.data[:300])
            if status >= 400:
                assert_friendly_page(response)
            if 300 <= status < 400:
                assert_stays_on_site(response.headers.get("Location"))

    check()


# --- 3. signing in -------------------------------------------------------------------------

REDIRECTS = (
    "/resultater/oversikt",
    "/resultater/kontor/bodo?periode=2026-Q1",
    "/",
    "",
    "//evil.example",
    "///evil.example",
    "////evil.example",
    "/\\evil.example",
    "\\\\evil.example",
    "/\t/evil.example",
    "\t//evil.example",
    " //evil.example",
    "/\n/evil.example",
    "/\r/evil.example",
    "\x00//evil.example",
    "/%2F/evil.example",
    "/%5Cevil.example",
    "https://evil.example",
    "http:evil.example",
    "HTTPS://evil.example",
    "javascript:alert(1)",
    "data:text/html,x",
    "evil.example",
    ".//evil.example",
    "/\u3000/evil.example",
    "/\uff0fevil.example",
    "/\x7f/evil.example",
    "/@evil.example",
    "/resultater/\x00",
    "/" + "a" * 5000,
)
# Sign-ins that succeed use accounts nobody fails on, so the per-username limit (5 failures)
# never locks them and the redirect after signing in is reached; failures use others.
SIGNING_IN = st.tuples(
    st.sampled_from(("leder", " Leder ", "LEDER", "admin", "Admin\t")), st.just(PASSWORD)
)
FAILING = st.tuples(
    st.one_of(st.sampled_from(("forsker", "FORSKER ", "leder\x00", "ingen", "")), junk),
    st.one_of(st.sampled_from(("", "feil", PASSWORD + " ", PASSWORD.upper())), junk),
)
KEEP = None


def test_sign_in_never_fails_and_never_leaves_the_site(app):
    with app.app_context():
        make_account("leder", "leder", "bodo")
        make_account("forsker", "forsker")
        make_account("admin", "admin")

    @fuzz()
    @given(
        credentials=st.one_of(SIGNING_IN, SIGNING_IN, FAILING),
        next_in_link=st.one_of(st.sampled_from(REDIRECTS), junk, raw_bytes),
        next_in_form=st.one_of(
            st.just(KEEP), st.sampled_from(REDIRECTS), st.sampled_from(REDIRECTS), junk, raw_bytes
        ),
        csrf=st.one_of(st.just(KEEP), st.just(KEEP), st.just(KEEP), st.just(""), any_text),
        address=st.one_of(st.sampled_from(("10.0.0.1", "10.0.0.2")), st.ip_addresses(v=4).map(str)),
    )
    @example(
        credentials=("leder\x00", PASSWORD),
        next_in_link="/",
        next_in_form=KEEP,
        csrf=KEEP,
        address="10.0.0.9",
    )
    @example(
        credentials=("leder", PASSWORD),
        next_in_link="/",
        next_in_form="/\t/evil.example",
        csrf=KEEP,
        address="10.0.0.8",
    )
    @example(
        credentials=("leder", PASSWORD),
        next_in_link="//evil.example",
        next_in_form=KEEP,
        csrf="",
        address="10.0.0.7",
    )
    def check(credentials, next_in_link, next_in_form, csrf, address):
        client = app.test_client()
        link = client.get("/logg-inn", query_string=form_body([("next", next_in_link)]).decode())
        assert link.status_code == 200
        page = Page(link)
        for carried in page.hidden("next"):
            if carried:
                assert_stays_on_site(carried)
        data = page.values()
        data["username"], data["password"] = credentials
        if next_in_form is not KEEP:
            data["next"] = next_in_form
        if csrf is not KEEP:
            data["csrf_token"] = csrf
        response = client.post(
            "/logg-inn",
            data=form_body(data.items(multi=True)),
            content_type="application/x-www-form-urlencoded",
            environ_base={"REMOTE_ADDR": address},
        )
        status = response.status_code
        assert status in (200, 302, 400, 401, 413, 429), (status, response.data[:300])
        if status == 302:
            assert_stays_on_site(response.headers["Location"])
        else:
            assert_friendly_page(response)

    check()


def test_a_missing_or_wrong_csrf_token_on_a_staff_form_gets_a_friendly_page(app):
    """A sign-in page left open until the session is gone, or a forged form: refused
    with 400, on one of Stigen's own pages in the visitor's language."""
    with app.app_context():
        make_account("leder", "leder", "bodo")
    client = app.test_client()
    client.get("/?lang=nn")
    for token in (None, "", "feil", "\x00"):
        data = {"username": "leder", "password": PASSWORD}
        if token is not None:
            data["csrf_token"] = token
        response = client.post("/logg-inn", data=data)
        assert response.status_code == 400
        assert_friendly_page(response, "nn")
    assert sign_in(client, "leder").status_code == 302
    response = client.post("/logg-ut")
    assert response.status_code == 400
    assert_friendly_page(response, "nn")


# --- 3b. a reset link and the provider's return --------------------------------------------


def _reset_token(app, username: str) -> str:
    from survey.auth.accounts import start_reset
    from survey.models import Account

    with app.app_context():
        account = db.session.scalar(select(Account).where(Account.username == username))
        token = start_reset(account)
        db.session.commit()
    return token


def test_any_reset_link_or_new_password_gets_a_page(app):
    """Whatever link and passwords arrive, a page of Stigen's own; a new password is saved
    only from a live link, typed the same twice and 10 to 200 characters without NUL."""
    from survey.models import Account

    with app.app_context():
        make_account("leder", "leder", "bodo")

    @fuzz()
    @given(
        link=st.one_of(st.just(KEEP), st.just(KEEP), any_text, raw_bytes),
        password=st.one_of(
            st.sampled_from(("nytt-passord-1", "kort", "x" * 201, "nytt\x00passord-1")), junk
        ),
        same=st.booleans(),
        csrf=st.one_of(st.just(KEEP), st.just(KEEP), st.just(""), any_text),
    )
    @example(link=KEEP, password="nytt-passord-1", same=True, csrf=KEEP)
    @example(link=KEEP, password="nytt-passord-1", same=True, csrf="")
    def check(link, password, same, csrf):
        client = app.test_client()
        token = _reset_token(app, "leder")
        lenke = token if link is KEEP else link
        path = "/logg-inn/ny-passord?" + form_body([("lenke", lenke)]).decode()
        shown = client.get(path)
        assert shown.status_code in (200, 404), shown.status_code
        assert_friendly_page(shown)
        if shown.status_code == 404:
            return
        data = Page(shown).values()
        data["password"] = password
        data["confirm"] = password if same else password + "x"
        if csrf is not KEEP:
            data["csrf_token"] = csrf
        response = client.post(
            path,
            data=form_body(data.items(multi=True)),
            content_type="application/x-www-form-urlencoded",
        )
        status = response.status_code
        assert status in (200, 302, 400, 404, 413), (status, response.data[:300])
        with app.app_context():
            account = db.session.scalar(select(Account).where(Account.username == "leder"))
            saved = isinstance(password, str) and account.check_password(password)
        if status == 302:
            assert response.headers["Location"] == "/logg-inn" and saved
            assert same and 10 <= len(password) <= 200 and "\x00" not in password
        else:
            assert not saved
            assert_friendly_page(response)

    check()


def test_any_return_from_the_provider_gets_a_page_and_signs_nobody_in(app, oidc_provider):
    """Whatever comes back to the SSO return address (a real provider behind it; a sign-in
    under way or not, this browser's state or not, junk codes, errors, issuers): one of
    Stigen's pages, and nobody signed in."""
    from survey.auth import oidc

    oidc.forget()
    app.config.update(oidc_provider.config())
    keys = st.sampled_from(
        ("code", "state", "iss", "error", "error_description", "session_state", "code")
    )

    @fuzz(40)
    @given(
        started=st.booleans(),
        own_state=st.booleans(),
        query=st.lists(
            st.tuples(keys, st.one_of(any_text, raw_bytes, st.just(oidc_provider.issuer))),
            max_size=5,
        ),
    )
    @example(started=True, own_state=True, query=[("code", "abc")])
    @example(started=True, own_state=True, query=[("code", "abc"), ("iss", "https://evil")])
    def check(started, own_state, query):
        client = app.test_client()
        pairs = list(query)
        if started:
            location = client.get("/logg-inn/sso").headers["Location"]
            if own_state:
                state = dict(p.split("=", 1) for p in urlsplit(location).query.split("&"))
                pairs = [(k, v) for k, v in pairs if k != "state"] + [("state", state["state"])]
        response = client.get("/logg-inn/sso/tilbake", query_string=form_body(pairs).decode())
        assert response.status_code == 401, (response.status_code, response.data[:300])
        assert_friendly_page(response)
        assert client.get("/resultater/oversikt").status_code == 302  # not signed in

    check()


# --- 4. a body over the limit ----------------------------------------------------------------

TOO_BIG = {
    "nb": "Det du sendte, var for stort",
    "nn": "Det du sende, var for stort",
    "en": "What you sent was too big",
}
POST_ROUTES = ("/k/bodo/svar", "/k/stengt/svar", "/k/finnes-ikke/svar", "/logg-inn", "/logg-ut")


def test_a_body_over_the_limit_gets_a_friendly_413_in_the_visitors_language(app):
    # Bodies stay under 500 KB: above that werkzeug's test client spools the request
    # into a temporary file that it never closes (a ResourceWarning, not Stigen's).
    with app.app_context():
        make_account("leder", "leder", "bodo")

    @fuzz(40)
    @given(
        lang=st.sampled_from(LANGUAGES),
        path=st.sampled_from(POST_ROUTES),
        signed_in=st.booleans(),
        size=st.integers(BODY_LIMIT + 1, 200_000),
        kind=st.sampled_from(("form", "repeated", "multipart", "file", "raw")),
    )
    @example(lang="en", path="/k/bodo/svar", signed_in=False, size=100_000, kind="form")
    def check(lang, path, signed_in, size, kind):
        client = app.test_client()
        if signed_in:
            assert sign_in(client, "leder").status_code == 302
        client.get(f"/?lang={lang}")
        if kind == "form":
            request = {"data": {"hel_fritekst": "a" * size, "nav": "submit"}}
        elif kind == "repeated":
            request = {
                "data": ("nav=next&" * (size // 9 + 1)).encode(),
                "content_type": "application/x-www-form-urlencoded",
            }
        elif kind == "multipart":
            request = {"data": {"hel_fritekst": "ø" * size}, "content_type": "multipart/form-data"}
        elif kind == "file":
            request = {"data": {"vedlegg": (io.BytesIO(b"\x00" * size), "x.bin")}}
        else:
            request = {"data": b"\xff" * size, "content_type": "application/octet-stream"}
        response = client.post(path, **request)
        assert response.status_code == 413, (path, kind, response.status_code)
        html = assert_friendly_page(response, lang)
        assert TOO_BIG[lang] in html

    check()
