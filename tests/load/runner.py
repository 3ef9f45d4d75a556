"""A load runner for the respondent's way through, against real gunicorn processes.

Each simulated respondent is a browser: it opens an office link, presses Start, reads
every page's real HTML form (``tests.forms.Page``), picks valid answers at random from
the options the page offers, sometimes goes back and forward again, presses *Send inn*
and follows the 303 to the thank-you page. Some press *Send inn* twice, one after the
other or at the very same moment, as a double click or a resent form would.

Everything it did is kept: each request's step, status and duration, and each
questionnaire's nonce, office, language and the answers it expects to see stored.
"""

from __future__ import annotations

import contextlib
import http.client
import math
import os
import random
import signal
import socket
import subprocess
import sys
import threading
import time
import traceback
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from http.cookiejar import CookieJar
from pathlib import Path

from survey.questionnaire import get

from ..forms import Page
from ..http import HttpClient, _NoRedirect, _Response

ROOT = Path(__file__).resolve().parents[2]
QUESTIONNAIRE = get(1)
PAGES = len(QUESTIONNAIRE.pages)
STEPS = ("start", "page", "back", "submit", "resubmit", "takk")
TEXTS = (
    "Mer tid til hver samtale.",
    "Bra oppfølging, takk.",
    "Ventetiden var for lang.",
    "Jeg ville bli spurt oftere.",
    "",
)


# --- HTTP -------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def loopback_source() -> str:
    """A loopback address of its own for this run's client (all of 127.0.0.0/8 is
    loopback on Linux), so rate-limit keys in a shared Redis cannot meet another run's;
    127.0.0.1 where the system will not bind another."""
    for _ in range(5):
        address = "127.{}.{}.{}".format(*(random.randint(1, 254) for _ in range(3)))
        try:
            with socket.socket() as s:
                s.bind((address, 0))
            return address
        except OSError:
            continue
    return "127.0.0.1"


class _SourceHandler(urllib.request.HTTPHandler):
    """Connects from a chosen loopback address."""

    def __init__(self, source: str):
        super().__init__()
        self.source = source

    def http_open(self, req):
        return self.do_open(http.client.HTTPConnection, req, source_address=(self.source, 0))


class Abandoned(Exception):
    """The load's time is up: the respondent leaves before sending, as people do."""


@dataclass
class Record:
    step: str
    seconds: float
    status: int
    server: int


class LoadClient(HttpClient):
    """``tests.http.HttpClient`` that connects from ``source``, spreads its requests at
    random over ``bases`` (as a load balancer without sticky sessions would: the answers
    live in the form and the cookie is signed with the shared key), and times each
    request under the step named by ``step``."""

    def __init__(
        self,
        bases: list[str],
        source: str,
        records: list[Record],
        rng: random.Random,
        jar: CookieJar | None = None,
        deadline: float | None = None,
    ):
        self.bases = [b.rstrip("/") for b in bases]
        self.deadline = deadline  # time.monotonic() after which a page is not requested
        self.source = source
        self.records = records
        self.rng = rng
        self.jar = jar if jar is not None else CookieJar()
        self.step = "page"
        self.opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(self.jar), _NoRedirect(), _SourceHandler(source)
        )

    def twin(self, step: str) -> LoadClient:
        """The same browser (cookies) in a second thread: a double click."""
        other = LoadClient(
            self.bases,
            self.source,
            self.records,
            random.Random(self.rng.random()),
            self.jar,
            self.deadline,
        )
        other.step = step
        return other

    def _base(self) -> tuple[int, str]:
        index = self.rng.randrange(len(self.bases))
        return index, self.bases[index]

    def expired(self) -> bool:
        return self.deadline is not None and time.monotonic() >= self.deadline

    def _timed(self, request: urllib.request.Request, server: int) -> _Response:
        if self.step in ("start", "page", "back") and self.expired():
            raise Abandoned
        began = time.perf_counter()
        try:
            with self.opener.open(request, timeout=20) as response:
                result = _Response(response.status, response.read(), response.headers)
        except urllib.error.HTTPError as error:
            with error:  # 3xx, 4xx, 5xx: read and close, so no socket is left to the GC
                result = _Response(error.code, error.read(), error.headers)
        self.records.append(
            Record(self.step, time.perf_counter() - began, result.status_code, server)
        )
        return result

    def get(self, path: str, headers=None, environ_base=None) -> _Response:
        server, base = self._base()
        return self._timed(urllib.request.Request(base + path, headers=headers or {}), server)

    def post(self, path: str, data, headers=None, environ_base=None) -> _Response:
        server, base = self._base()
        body = urllib.parse.urlencode(list(data.items(multi=True))).encode()
        request = urllib.request.Request(base + path, data=body, headers=headers or {})
        return self._timed(request, server)


# --- gunicorn ---------------------------------------------------------------------------


class Gunicorn:
    """One gunicorn (``gunicorn.conf.py``, ``app:app``) on loopback, in a process group
    of its own so that stopping it stops its workers too."""

    def __init__(self, env: dict, log: Path):
        self.port = int(env["STIGEN_BIND"].rsplit(":", 1)[1])
        self.base = f"http://127.0.0.1:{self.port}"
        self.log_path = log
        with open(log, "wb") as out:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py", "app:app"],
                cwd=ROOT,
                env={**os.environ, **env},
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def wait_ready(self, timeout: float = 20) -> None:
        probe = HttpClient(self.base)
        deadline = time.monotonic() + timeout
        while True:
            try:
                if probe.get("/").status_code == 200:
                    return
            except OSError:
                pass
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"gunicorn on {self.base} did not start:\n{self.log()}")
            time.sleep(0.1)

    def terminate(self) -> None:
        """Ask for a graceful stop (SIGTERM) without waiting for it."""
        if self.process.poll() is None:
            self.process.terminate()

    def stop(self, timeout: float = 10) -> None:
        """SIGTERM (graceful), then SIGKILL to the whole group after ``timeout``."""
        if self.process.poll() is None:
            self.process.terminate()
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.process.wait(timeout=timeout)
        # Workers left behind by a master that died or hung.
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=timeout)

    def problems(self) -> list[str]:
        """Lines of the log that show something went wrong inside the server."""
        markers = (
            "Traceback",
            "[ERROR]",
            "WORKER TIMEOUT",
            "could not be stored",
            "Worker was sent",
            "Exception",
        )
        return [line for line in self.log().splitlines() if any(m in line for m in markers)]


# --- one respondent ---------------------------------------------------------------------


@dataclass
class Questionnaire:
    """One questionnaire filled in: what was sent and what should be stored."""

    nonce: str
    slug: str
    lang: str
    answers: dict = field(default_factory=dict)  # code -> value as stored
    text: str | None = None  # free text, as stored (stripped)
    submits: list[int] = field(default_factory=list)  # statuses of every Send inn
    double: str = "none"  # none | sequential | concurrent

    @property
    def accepted(self) -> bool:
        return 303 in self.submits


def _options(page: Page, code: str) -> list[str]:
    return [
        f["value"]
        for f in page.fields
        if f.get("name") == code and f.get("type") in ("radio", "checkbox")
    ]


def choose(page: Page, rng: random.Random) -> dict:
    """Valid answers for the items this page shows, picked from the options it offers;
    about one in ten questions skipped, one in twenty answered "vet ikke"."""
    answers = {}
    for code in page.visible_items():
        item = QUESTIONNAIRE.item(code)
        if item.type == "text":
            answers[code] = rng.choice(TEXTS)
        elif rng.random() < 0.1:
            answers[code] = None
        elif item.type == "multi":
            offered = _options(page, code)
            exclusive = [v for v in offered if v in item.exclusive]
            others = [v for v in offered if v not in item.exclusive]
            if exclusive and rng.random() < 0.2:
                answers[code] = [rng.choice(exclusive)]
            else:
                answers[code] = rng.sample(others, rng.randint(1, min(3, len(others))))
        else:
            # "Vet ikke" only now and then: a submission counts only with half the scored
            # items answered (scoring.counts_as_response), and every one here must count.
            offered = _options(page, code)
            substantive = [v for v in offered if v != "-1"] or offered
            answers[code] = rng.choice(offered if rng.random() < 0.05 else substantive)
    return answers


def as_stored(answers: dict) -> tuple[dict, str | None]:
    """What ``answers_of`` stores for what was sent: numbers, multi-choice in the
    questionnaire's order, nothing for a skip; the free text apart."""
    stored, text = {}, None
    for code, value in answers.items():
        item = QUESTIONNAIRE.item(code)
        if item.type == "text":
            text = value.strip() or None
        elif value is None or value == []:
            continue
        elif item.type == "multi":
            order = [o.value for o in item.options]
            stored[code] = sorted(set(value), key=order.index)
        else:
            stored[code] = int(value)
    return stored, text


def _expect_page(page: Page, n: int, nonce: str | None, what: str) -> None:
    assert page.status == 200, f"{what}: status {page.status}\n{page.html[:500]}"
    assert page.hidden("page") == [str(n)], f"{what}: expected page {n}, got {page.hidden('page')}"
    assert "notice-error" not in page.html, f"{what}: an error notice\n{page.html[:2000]}"
    if nonce is not None:
        assert page.hidden("nonce") == [nonce], f"{what}: the nonce changed"


def _expect_checked(page: Page, answers: dict, what: str) -> None:
    for code, value in answers.items():
        if QUESTIONNAIRE.item(code).type == "text":
            assert page.values().get(code, "") == value, f"{what}: {code} lost"
        else:
            want = [] if value is None else sorted(value if isinstance(value, list) else [value])
            assert sorted(page.checked(code)) == want, f"{what}: {code} lost"


def fill_in(
    client: LoadClient, slug: str, lang: str, rng: random.Random, back: float = 0.1
) -> tuple[Page, dict, str]:
    """Start page → Start → every page answered; returns the last page (unsent), its
    answers, and the form's nonce."""
    client.step = "start"
    first = Page(client.get(f"/k/{slug}?lang={lang}"))
    assert first.status == 200, f"start page: status {first.status}"
    assert f'<html lang="{lang}">' in first.html, "start page: wrong language"
    nonce = first.hidden("nonce")[0]
    client.step = "page"
    page = first.submit(client, ("nav", "start"))
    _expect_page(page, 0, nonce, "after Start")
    chosen: dict = {}
    for n in range(PAGES):
        answers = choose(page, rng)
        chosen.update(answers)
        if n == PAGES - 1:
            return page, chosen, nonce
        if n > 0 and rng.random() < back:
            # Back, check nothing was lost both ways, then forward again.
            client.step = "back"
            previous = page.submit(client, ("nav", "back"), answers)
            _expect_page(previous, n - 1, nonce, f"back from page {n}")
            earlier = {c: chosen[c] for c in previous.visible_items()}
            _expect_checked(previous, earlier, f"back to page {n - 1}")
            client.step = "page"
            page = previous.submit(client, ("nav", "next"))
            _expect_page(page, n, nonce, f"forward again to page {n}")
            _expect_checked(page, answers, f"forward again to page {n}")
            answers = {}
        client.step = "page"
        page = page.submit(client, ("nav", "next"), answers)
        _expect_page(page, n + 1, nonce, f"page {n + 1}")
    raise AssertionError("never reached the last page")


def respond(
    client: LoadClient,
    slug: str,
    lang: str,
    rng: random.Random,
    double: str,
    out: list[Questionnaire],
) -> None:
    """One whole questionnaire, sent once or twice (``double``), and the thank-you page.
    The questionnaire joins ``out`` before it is sent, so that one whose later steps
    fail still counts for what the database should hold."""
    last, chosen, nonce = fill_in(client, slug, lang, rng)
    if client.expired():
        raise Abandoned
    # From here on the questionnaire is sent, and the respondent goes on to the end.
    stored, text = as_stored(chosen)
    done = Questionnaire(nonce, slug, lang, stored, text, double=double)
    out.append(done)
    send = ("nav", "submit")
    if double == "concurrent":
        twin = client.twin("resubmit")
        client.step = "submit"
        barrier = threading.Barrier(2, timeout=20)
        sent: list = [None, None]

        def press(index, who):
            try:
                barrier.wait()
                sent[index] = last.submit(who, send, chosen)
            except Exception as error:  # noqa: BLE001 - reported below, not by the thread
                sent[index] = error

        other = threading.Thread(target=press, args=(1, twin))
        other.start()
        press(0, client)
        other.join(timeout=30)
        for result in sent:
            if isinstance(result, Page):
                done.submits.append(result.status)
        for result in sent:
            if isinstance(result, BaseException):
                raise result
        assert None not in sent, "a double click's second request never returned"
        results = sent
    else:
        client.step = "submit"
        results = [last.submit(client, send, chosen)]
        done.submits.append(results[0].status)
        if double == "sequential":
            client.step = "resubmit"
            results.append(last.submit(client, send, chosen))
            done.submits.append(results[1].status)
    for result in results:
        assert result.status == 303, f"Send inn: status {result.status}\n{result.html[:2000]}"
        location = result.response.headers["Location"]
        assert location.endswith(f"/k/{slug}/takk"), f"Send inn went to {location}"
    client.step = "takk"
    thanks = client.get(f"/k/{slug}/takk")
    assert thanks.status_code == 200, f"thank-you page: status {thanks.status_code}"


# --- many respondents ---------------------------------------------------------------------


@dataclass
class LoadResult:
    title: str
    threads: int
    questionnaires: list[Questionnaire]
    records: list[Record]
    failures: list[str]
    seconds: float
    seed: int
    abandoned: int = 0

    @property
    def accepted(self) -> list[Questionnaire]:
        return [q for q in self.questionnaires if q.accepted]

    def server_errors(self) -> list[Record]:
        return [r for r in self.records if r.status >= 500]

    def table(self) -> str:
        def pct(values: list[float], q: float) -> float:
            return values[max(0, math.ceil(q * len(values)) - 1)] * 1000

        lines = [
            f"{self.title}: {self.threads} concurrent respondents, seed {self.seed}",
            f"{'step':<10}{'requests':>9}{'p50 ms':>9}{'p95 ms':>9}{'max ms':>9}",
        ]
        for step in (*STEPS, "all"):
            values = sorted(r.seconds for r in self.records if step in ("all", r.step))
            if values:
                lines.append(
                    f"{step:<10}{len(values):>9}{pct(values, 0.5):>9.0f}"
                    f"{pct(values, 0.95):>9.0f}{values[-1] * 1000:>9.0f}"
                )
        accepted = len(self.accepted)
        doubles = sum(q.double != "none" for q in self.accepted)
        servers = sorted({r.server for r in self.records})
        spread = ", ".join(f"#{s}: {sum(r.server == s for r in self.records)}" for s in servers)
        lines.append(
            f"{accepted} submissions stored in {self.seconds:.1f} s: "
            f"{accepted / self.seconds:.1f} submissions/s, "
            f"{len(self.records) / self.seconds:.0f} requests/s; "
            f"{doubles} sent twice, {self.abandoned} left unsent at the deadline; "
            f"requests per instance {spread}"
        )
        return "\n".join(lines)


def run_load(
    bases: list[str],
    source: str,
    title: str,
    threads: int = 40,
    seconds: float = 15,
    max_submissions: int = 400,
    slugs=("bodo", "tromso"),
    seed: int | None = None,
) -> LoadResult:
    """``threads`` respondents, each completing questionnaires one after another until
    ``seconds`` have passed or ``max_submissions`` questionnaires have been begun. At
    the deadline a questionnaire not yet sent is left (nothing of it is stored), unless
    it is the respondent's first; one being sent is finished."""
    seed = random.randrange(2**32) if seed is None else seed
    records: list[Record] = []
    questionnaires: list[Questionnaire] = []
    failures: list[str] = []
    lock = threading.Lock()
    begun, abandoned = [0], [0]
    deadline = time.monotonic() + seconds

    def slot() -> bool:
        with lock:
            if time.monotonic() >= deadline or begun[0] >= max_submissions:
                return False
            begun[0] += 1
            return True

    def respondent(index: int) -> None:
        rng = random.Random(seed * 1000 + index)
        failed, rounds = 0, 0
        while failed < 3 and slot():
            # A new browser each time. Every respondent's first questionnaire is finished
            # whatever the time, so that each kind of sending is always tried at least once.
            client = LoadClient(bases, source, records, rng, deadline=deadline if rounds else None)
            # One in five sends twice; in the first round, for sure, threads 0, 10, 20 …
            # one after the other and threads 1, 11, 21 … as a double click.
            roll = rng.random() if rounds else (index % 10) / 10 + 0.05
            double = "sequential" if roll < 0.1 else "concurrent" if roll < 0.2 else "none"
            lang = rng.choices(("nb", "nn", "en"), (6, 2, 2))[0]
            try:
                respond(client, rng.choice(slugs), lang, rng, double, questionnaires)
            except Abandoned:
                with lock:
                    abandoned[0] += 1
            except Exception:  # noqa: BLE001 - every failure is reported by the test
                failed += 1
                with lock:
                    failures.append(traceback.format_exc(limit=3))
            rounds += 1

    began = time.perf_counter()
    workers = [threading.Thread(target=respondent, args=(i,), daemon=True) for i in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=max(1.0, deadline - time.monotonic()) + 60)
    elapsed = time.perf_counter() - began
    stuck = sum(worker.is_alive() for worker in workers)
    if stuck:
        failures.append(f"{stuck} respondent threads were still running after the deadline")
    return LoadResult(
        title, threads, questionnaires, records, failures, elapsed, seed, abandoned[0]
    )
