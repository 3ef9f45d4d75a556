"""Fixtures for the real-browser tests: Debian's Chromium through Playwright (never
Playwright's own download), a live Stigen on loopback, and contexts that are always
closed.

Every test in this folder is marked ``browser``. Without /usr/bin/chromium the tests are
skipped with a note on how to install it, except on CI (``CI=true``), where a missing
browser fails the run.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path
from urllib.parse import quote

import pytest
from werkzeug.serving import WSGIRequestHandler, make_server

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
TIMEOUT_MS = 15_000
PHONE = {
    "viewport": {"width": 360, "height": 740},
    "is_mobile": True,
    "has_touch": True,
    "locale": "nb-NO",
}
DESKTOP = {"viewport": {"width": 1280, "height": 900}, "locale": "nb-NO"}
SCREENSHOTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "screenshots"
# Plotly probes the page's style sheets and says so when the CSP keeps it out; harmless.
ALLOWED_CONSOLE_ERRORS = ("Cannot addRelatedStyleRule, probably due to strict CSP",)

HERE = Path(__file__).resolve().parent


def pytest_collection_modifyitems(config, items):
    for item in items:
        if HERE in Path(str(item.path)).resolve().parents:
            item.add_marker(pytest.mark.browser)


def require_chromium() -> None:
    """Skip when Debian's Chromium (or Playwright) is missing, saying how to install it;
    on CI (``CI=true``) fail instead, so that the browser tests cannot silently vanish."""
    problem = None
    if not os.access(CHROMIUM, os.X_OK):
        problem = (
            f"{CHROMIUM} is missing: install Debian's Chromium with "
            "`apt-get install chromium` to run the browser tests"
        )
    else:
        try:
            import playwright.sync_api  # noqa: F401
        except ImportError:
            problem = "Playwright for Python is missing: pip install -e '.[test]'"
    if problem is None:
        return
    if os.environ.get("CI") == "true":
        pytest.fail(problem + " (CI=true: the browser tests must run on CI)", pytrace=False)
    pytest.skip(problem)


@pytest.fixture(scope="session")
def browser():
    """Debian's Chromium, launched once per run."""
    require_chromium()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=CHROMIUM, args=CHROMIUM_ARGS, timeout=60_000
        )
        try:
            yield chromium
        finally:
            chromium.close()


class _QuietHandler(WSGIRequestHandler):
    def log_request(self, *args, **kwargs):  # keep the test output readable
        pass


class LiveServer:
    def __init__(self, app):
        self.app = app
        self.server = make_server("127.0.0.1", 0, app, threaded=True, request_handler=_QuietHandler)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        self.thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True
        )

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=10)


@pytest.fixture
def live_server(app):
    """The test app (offices bodo, tromso, stengt) served on loopback for one test."""
    with LiveServer(app) as server:
        yield server


class Problems:
    """What went wrong in a page as the browser saw it: console errors, uncaught
    exceptions, failed requests and responses with an error status."""

    def __init__(self):
        self.console, self.exceptions, self.failed, self.statuses = [], [], [], []

    def watch(self, page):
        page.on("console", self._console)
        page.on("pageerror", lambda error: self.exceptions.append(str(error)))
        page.on("requestfailed", self._failed)
        page.on(
            "response",
            lambda response: (
                response.status >= 400
                and self.statuses.append(
                    f"{response.status} {response.request.method} {response.url}"
                )
            ),
        )
        return page

    def _console(self, message):
        if message.type == "error" and not any(
            allowed in message.text for allowed in ALLOWED_CONSOLE_ERRORS
        ):
            location = message.location or {}
            self.console.append(f"{message.text} ({location.get('url', '')})")

    def _failed(self, request) -> None:
        # The favicon is fetched after the page loads; a click that leaves the page first
        # cancels it (ERR_ABORTED). Nothing failed: the browser stopped asking.
        if request.failure == "net::ERR_ABORTED" and "/static/favicon.svg" in request.url:
            return
        self.failed.append(f"{request.method} {request.url}: {request.failure}")

    def all(self) -> list[str]:
        return self.console + self.exceptions + self.failed + self.statuses


class Browsing:
    """Opens contexts and pages on the live server and closes every one of them."""

    def __init__(self, browser, server: LiveServer):
        self.browser, self.server = browser, server
        self.contexts = []
        self.problems = Problems()

    def page(self, options=PHONE, **extra):
        context = self.browser.new_context(base_url=self.server.url, **{**options, **extra})
        self.contexts.append(context)
        context.set_default_timeout(TIMEOUT_MS)
        context.set_default_navigation_timeout(TIMEOUT_MS)
        page = context.new_page()
        page.set_default_timeout(TIMEOUT_MS)
        return self.problems.watch(page)

    def phone(self, **extra):
        return self.page(PHONE, **extra)

    def desktop(self, **extra):
        return self.page(DESKTOP, **extra)

    def close(self):
        while self.contexts:
            self.contexts.pop().close()


@pytest.fixture
def browsing(browser, live_server):
    """Pages in fresh contexts against ``live_server``; closed before the server stops."""
    session = Browsing(browser, live_server)
    try:
        yield session
    finally:
        session.close()


def screenshot(page, name: str) -> Path:
    """Save a full-page screenshot under test-artifacts/screenshots/ (git-ignored)."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def sign_in(
    page, username: str, next_url: str = "/personvern", password: str = "riktig-passord-1"
) -> None:
    """Sign in through the real form and land on ``next_url``."""
    page.goto("/logg-inn?next=" + quote(next_url, safe="/"))
    page.fill("#username", username)
    page.fill("#password", password)
    with page.expect_navigation():
        page.click("form.stack button[type=submit]")
    assert page.url.endswith(next_url), page.url


# --- the questionnaire, as a respondent works it ----------------------------------------


def _questionnaire():
    from survey.questionnaire import get

    return get(1)


def page_codes(index: int) -> list[str]:
    """Item codes shown on questionnaire page ``index`` (0-based)."""
    return [item.code for item in _questionnaire().pages[index].items]


def page_count() -> int:
    return len(_questionnaire().pages)


def page_title(index: int, lang: str) -> str:
    return _questionnaire().pages[index].title(lang)


def press(page, name: str) -> None:
    """Press a visible button by its accessible name and wait for the page it loads."""
    with page.expect_navigation():
        page.get_by_role("button", name=name, exact=True).click()


def expect_page(page, index: int, lang: str = "nb") -> None:
    """The browser shows questionnaire page ``index`` in ``lang``."""
    total = page_count()
    assert page.locator("html").get_attribute("lang") == lang
    assert page.locator("h1").inner_text() == page_title(index, lang)
    progress = page.locator(".progress-text").inner_text()
    assert progress.endswith(f"{index + 1} {'of' if lang == 'en' else 'av'} {total}"), progress


def option(page, code: str, value):
    return page.locator(f'input[name="{code}"][value="{value}"]')


def choose(page, code: str, value) -> None:
    """Answer by clicking the option's label, as a finger would."""
    for v in value if isinstance(value, list) else [value]:
        box = option(page, code, v)
        page.locator(f'label[for="{box.get_attribute("id")}"]').click()
        assert box.is_checked(), (code, v)


def answer_page(page, index: int, answers: dict) -> None:
    for code in page_codes(index):
        if code not in answers:
            continue
        if page.locator(f'textarea[name="{code}"]').count():
            page.locator(f'textarea[name="{code}"]').fill(answers[code])
        else:
            choose(page, code, answers[code])


def checked_values(page, code: str) -> list[str]:
    boxes = page.locator(f'input[name="{code}"]:is([type=radio], [type=checkbox])')
    return [box.get_attribute("value") for box in boxes.all() if box.is_checked()]


def assert_answers_shown(page, index: int, answers: dict) -> None:
    """Every answer for page ``index`` is checked (or typed) in the form on screen."""
    for code in page_codes(index):
        if page.locator(f'textarea[name="{code}"]').count():
            assert page.locator(f'textarea[name="{code}"]').input_value() == answers.get(
                code, ""
            ), code
            continue
        want = answers.get(code)
        want = (
            [] if want is None else [str(v) for v in (want if isinstance(want, list) else [want])]
        )
        assert sorted(checked_values(page, code)) == sorted(want), code


def stored_responses(app):
    from sqlalchemy import select

    from survey import mixer
    from survey.extensions import db
    from survey.models import Comment, Response

    with app.app_context():
        # Submissions wait in the inbox until a batch is mixed (survey.mixer): mix them all,
        # as a release or the nightly ``flask mix --all`` does.
        mixer.flush()
        responses = [(r.answers, r.language, r.rung) for r in db.session.scalars(select(Response))]
        comments = [c.body for c in db.session.scalars(select(Comment))]
    return responses, comments
