"""Submissions: whole questionnaires sent per second through gunicorn (Stigen's own
gunicorn.conf.py, 2 workers) over loopback by 100 concurrent respondents, beside the floor
of a bare Flask endpoint inserting one row into the same database under the same server
settings (bench/floor_app.py), driven by the same 100 client threads.

A few respondents first walk the real form (start page, Start, every page answered from
the options it offers, Send inn, thank-you page: bench/browser.py). Their requests are then
replayed by the 100 respondents, each questionnaire with a fresh nonce, so every round is a
new questionnaire stored: the server does exactly the work of a browser (the answers live
in the form), and the client, sharing the two cores with the server, does next to none.
Each respondent starts at a random step of the way, so Send inn is spread over the phase.

Saturated (no pause between requests: the most the server does; whole questionnaires per
second are the Send inns answered per second), then Send inn alone (each respondent sends
its last page again, a fresh nonce each time: one request that stores a questionnaire,
as the floor's stores a row), the floor for half as long before and after Stigen; then,
at the largest size only, paced (each respondent pauses 2–6 s before each request,
quicker than people read a page: the latency one sees while 99 others answer), Stigen and
then the floor.

Send inn is one durable write (a row in the inbox, issue 12) plus, for every
``STIGEN_MIX_BATCH``-th submission of an office × period, mixing that batch into the
counted tables in the same request: its cost is in the Send inn figure. The mixer's own
rate is measured after the servers stop (``mixer_rate``): a batch of 10 as a submission
mixes it, and a flush of ``WAITING`` submissions spread over every office's current
period, as a release or the nightly ``flask mix`` does.
"""

from __future__ import annotations

import contextlib
import http.client
import os
import random
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field

from . import browser
from .common import FLASK, ROOT, Database, Row, ms, percentile

RESPONDENTS = 100
WORKERS = "2"
FLOOR_SHARE = 0.4
P95 = 0.100


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """gunicorn -c gunicorn.conf.py ``module`` on a free loopback port, in a process group
    of its own so that stopping it stops its workers."""

    def __init__(self, database: Database, module: str, name: str):
        self.port = free_port()
        self.log = database.folder / f"gunicorn-{name}.log"
        env = {**database.env(), "STIGEN_WORKERS": WORKERS, "STIGEN_BIND": f"127.0.0.1:{self.port}"}
        with open(self.log, "wb") as out:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py", module],
                cwd=ROOT,
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        deadline = time.monotonic() + 30
        while True:
            try:
                if Client(self.port).request("GET", "/", None)[0] == 200:
                    return
            except OSError:
                pass
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"gunicorn {module} did not start:\n{self.log.read_text()}")
            time.sleep(0.1)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.process.wait(timeout=10)
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=10)


class Deadline(Exception):
    pass


@dataclass
class Load:
    """What one phase recorded: (step, seconds) of every request finished in time, and
    how many questionnaires (or floor inserts) were stored in time."""

    seconds: float
    requests: list[tuple[str, float]] = field(default_factory=list)
    stored: int = 0
    failures: list[str] = field(default_factory=list)

    def latency(self, step: str | None = None) -> tuple[float, float]:
        values = [s for name, s in self.requests if step in (None, name)]
        return percentile(values, 0.5), percentile(values, 0.95)

    def per_second(self) -> float:
        return self.stored / self.seconds


class Client:
    """One browser: its own cookies, a new connection per request (gunicorn's sync
    workers close every connection anyway)."""

    def __init__(self, port: int, cookies: dict | None = None):
        self.port = port
        self.cookies: dict[str, str] = dict(cookies or {})

    def request(self, method: str, path: str, body: bytes | None):
        headers = {}
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        if body is not None:
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
        try:
            connection.request(method, path, body=body, headers=headers)
            response = connection.getresponse()
            data = response.read()
        finally:
            connection.close()
        for cookie in response.headers.get_all("Set-Cookie") or []:
            name, _, rest = cookie.partition("=")
            self.cookies[name.strip()] = rest.split(";", 1)[0]
        return response.status, response.headers, data.decode(errors="replace")


@dataclass
class Step:
    method: str
    path: str
    body: bytes | None
    status: int
    name: str  # "submit" for Send inn, else "page"


NONCE = re.compile(rb"nonce=[0-9a-f]{32}")


def record(port: int, slug: str) -> tuple[dict, list[Step]]:
    """One respondent's way through the real form, as (cookies, the requests it sent)."""
    client = Client(port)
    steps: list[Step] = []

    def request(method, path, body):
        status, headers, html = client.request(method, path, body)
        name = "submit" if body and body.endswith(b"nav=submit") else "page"
        steps.append(Step(method, path, body, status, name))
        return status, headers, html

    browser.walk(request, slug)
    return client.cookies, steps


def drive(
    port: int, ways: list[tuple[dict, list[Step]]], seconds: float, think=None, seed: int = 7
) -> Load:
    """``RESPONDENTS`` threads replay ``ways`` round and round for ``seconds``, each round
    a new questionnaire (a fresh nonce), each thread starting at a random step."""
    load = Load(seconds)
    lock = threading.Lock()
    deadline = time.monotonic() + seconds

    def respondent(index: int) -> None:
        rng = random.Random(seed * 1000 + index)
        cookies, steps = ways[index % len(ways)]
        client = Client(port, cookies)
        position = rng.randrange(len(steps))
        nonce = b"nonce=" + f"{rng.getrandbits(128):032x}".encode()
        while True:
            if think:
                time.sleep(rng.uniform(*think))
            if time.monotonic() >= deadline:
                return
            step = steps[position]
            if position == 0:
                nonce = b"nonce=" + f"{rng.getrandbits(128):032x}".encode()
            body = NONCE.sub(nonce, step.body) if step.body else None
            began = time.perf_counter()
            try:
                status = client.request(step.method, step.path, body)[0]
            except OSError as error:
                status, problem = 0, f"{type(error).__name__}: {error}"
            else:
                problem = f"{step.method} {step.path}: {status}, not {step.status}"
            took = time.perf_counter() - began
            with lock:
                if time.monotonic() < deadline:
                    load.requests.append((step.name, took))
                    if status != step.status:
                        load.failures.append(problem)
                    elif step.name == "submit":
                        load.stored += 1
            position = (position + 1) % len(steps)

    threads = [
        threading.Thread(target=respondent, args=(i,), daemon=True) for i in range(RESPONDENTS)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=seconds + 90)
    return load


def _create_floor_table(database: Database) -> None:
    from sqlalchemy import create_engine, text

    engine = create_engine(database.url)
    with engine.begin() as connection:
        connection.execute(
            text("CREATE TABLE IF NOT EXISTS bench_floor (id VARCHAR(32) PRIMARY KEY, body TEXT)")
        )
    engine.dispose()


def _publish_release(database: Database) -> None:
    """Publish the current release first, as a running site has it: else both booting
    workers make the first one at once, and on SQLite the one that makes it holds the
    write lock through the whole audit, so the first submissions wait past the busy
    timeout (measured here: Send inn got 503)."""
    subprocess.run(
        [*FLASK, "releases", "publish"],
        env=database.env(),
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=1800,
    )


def _slugs(database: Database) -> list[str]:
    from sqlalchemy import create_engine, text

    engine = create_engine(database.url)
    with engine.connect() as connection:
        slugs = connection.execute(text("SELECT slug FROM office ORDER BY id")).scalars().all()
    engine.dispose()
    return slugs


PACE = (2.0, 6.0)


def _start(database: Database, module: str, name: str, ways) -> tuple[Server, list]:
    server = Server(database, module, name)
    try:
        return server, ways(server.port)
    except Exception as error:
        server.stop()
        log = server.log.read_text(errors="replace")
        raise RuntimeError(f"{error}; gunicorn's log ends:\n{log[-3000:]}") from error


def _merge(first: Load, second: Load) -> Load:
    return Load(
        first.seconds + second.seconds,
        first.requests + second.requests,
        first.stored + second.stored,
        first.failures + second.failures,
    )


def pair(p: tuple[float, float]) -> str:
    return f"{ms(p[0])} / {ms(p[1])}"


def failed(load: Load) -> str:
    if not load.failures:
        return ""
    return f" ({len(load.failures)} failed, e.g. {load.failures[0][:60]})"


def measure(database: Database, size: int, seconds: float = 4.0, paced: bool = True) -> list[Row]:
    _create_floor_table(database)
    _publish_release(database)
    slugs = _slugs(database)[:3]

    def floor(port: int):
        return [({}, [Step("POST", "/floor", b"rung=4&band=2&nav=submit", 204, "submit")])]

    walked: list = []

    def questionnaires(port: int):
        walked[:] = [record(port, slug) for slug in slugs]
        return walked

    # Both servers run at once (an idle one costs nothing); the floor is taken before and
    # after the app's saturated phase, so that a slower spell of the machine (another
    # process, the disk flushing) weighs on both alike.
    servers = []
    try:
        stigen, stigen_ways = _start(database, "app:app", "stigen", questionnaires)
        servers.append(stigen)
        bare, bare_ways = _start(database, "bench.floor_app:app", "floor", floor)
        servers.append(bare)
        before = drive(bare.port, bare_ways, seconds / 2)
        app = drive(stigen.port, stigen_ways, seconds)
        # Send inn alone: each respondent sends its last page again and again, each time
        # with a fresh nonce, so each is a new questionnaire stored (one request, as the
        # floor's).
        sends = [
            (cookies, [step for step in steps if step.name == "submit"])
            for cookies, steps in stigen_ways
        ]
        send = drive(stigen.port, sends, seconds / 2)
        base = _merge(before, drive(bare.port, bare_ways, seconds / 2))
        if paced:
            app_paced = drive(stigen.port, stigen_ways, 2 * seconds, think=PACE)
            base_paced = drive(bare.port, bare_ways, 2 * seconds, think=PACE)
    finally:
        for server in servers:
            server.stop()

    mixing = mixer_rate(database)
    per = len(walked[0][1])
    rate, floor_rate = app.per_second(), base.per_second()
    request_rate = len(app.requests) / app.seconds
    rows = [
        Row(
            size,
            f"submissions: whole questionnaires/s (Send inn answered), {RESPONDENTS} "
            f"respondents without pause ({per} requests each)",
            f"{rate:,.1f}/s{failed(app)}",
            f"bare insert: {floor_rate:,.0f}/s",
            rate / floor_rate,
            f"≥ {FLOOR_SHARE} × floor",
            rate / floor_rate >= FLOOR_SHARE and not app.failures,
            key="submissions: whole questionnaire",
            number=floor_rate / max(rate, 1e-9),
        ),
        Row(
            size,
            "submissions: Send inn alone (the last page, a fresh nonce each time), "
            f"{RESPONDENTS} respondents without pause",
            f"{send.per_second():,.0f}/s{failed(send)}",
            f"bare insert: {floor_rate:,.0f}/s",
            send.per_second() / floor_rate,
            f"≥ {FLOOR_SHARE} × floor",
            send.per_second() / floor_rate >= FLOOR_SHARE and not send.failures,
            key="submissions: Send inn alone",
            number=floor_rate / max(send.per_second(), 1e-9),
        ),
        Row(
            size,
            "submissions: questionnaire requests/s (every step), saturated",
            f"{request_rate:,.0f}/s",
            f"bare insert: {floor_rate:,.0f}/s",
            request_rate / floor_rate,
        ),
        Row(
            size,
            "submissions: p50 / p95 of every request, saturated (mostly queueing: "
            f"{RESPONDENTS} waiting on 2 workers)",
            pair(app.latency()),
            f"bare insert: {pair(base.latency())}",
            app.latency()[1] / base.latency()[1],
        ),
    ]
    rows += [
        Row(
            size,
            f"mixer: submissions mixed per second by a flush ({mixing['mixed']:,} "
            f"waiting in {mixing['groups']} office × periods already holding "
            f"{mixing['held']:,} responses, "
            + (
                "all rewritten in a new order)"
                if mixing["reorders"]
                else "which stay: new rows land at random keys)"
            ),
            f"{mixing['mixed'] / mixing['seconds']:,.0f}/s",
            f"rows rewritten: {mixing['rewritten'] / mixing['seconds']:,.0f}/s"
            if mixing["reorders"]
            else "–",
        ),
        Row(
            size,
            "mixer: one batch of 10 mixed right after a submission (in its request), "
            f"its office × period holding {mixing['batch_held']:,} responses",
            ms(mixing["batch_seconds"]),
            f"per submission: {ms(mixing['batch_seconds'] / 10)}",
        ),
    ]
    if paced:
        submit, every = app_paced.latency("submit"), app_paced.latency()
        floor_p = base_paced.latency()
        rows.append(
            Row(
                size,
                f"submissions: p50 / p95 of every request, {RESPONDENTS} respondents pausing "
                f"{PACE[0]:g}–{PACE[1]:g} s ({len(app_paced.requests) / app_paced.seconds:.0f} "
                f"requests/s; Send inn alone: {pair(submit)})",
                pair(every) + failed(app_paced),
                f"bare insert: {pair(floor_p)}",
                every[1] / floor_p[1],
                f"p95 < {P95 * 1000:.0f} ms",
                every[1] < P95 and submit[1] < P95 and not app_paced.failures,
            )
        )
    return rows


# --- the mixer ------------------------------------------------------------------------------

WAITING = 2000  # submissions put in the inbox for the flush measurement


def mixer_rate(database: Database) -> dict:
    """The mixer's rate, measured in a process of its own on the benchmark's database
    (``_mix_here``): a batch of 10 as a submission mixes it, then a flush of ``WAITING``
    submissions spread over the demo offices' current periods."""
    import json

    done = subprocess.run(
        [sys.executable, "-c", "from bench.submissions import _mix_here; _mix_here()"],
        cwd=ROOT,
        env=database.env(),
        capture_output=True,
        text=True,
        timeout=1800,
    )
    if done.returncode:
        raise RuntimeError(f"mixer measurement failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def _mix_here() -> None:
    import hashlib
    import json
    import secrets as random_source

    from sqlalchemy import func, insert, select

    from survey import create_app, mixer
    from survey.domain.periods import coarse_date, today_in_norway
    from survey.extensions import db
    from survey.models import Inbox, Response

    app = create_app()
    with app.app_context():
        mixer.flush()  # what the submission phases left waiting
        period = coarse_date(today_in_norway(), app.config["STIGEN_DATE_PRECISION"])
        sample = db.session.execute(
            select(
                Response.office_id,
                Response.questionnaire_version,
                Response.language,
                Response.answers,
            ).limit(WAITING)
        ).all()
        db.session.rollback()

        def waiting(rows) -> None:
            db.session.execute(
                insert(Inbox),
                [
                    {
                        "nonce_hash": hashlib.sha256(random_source.token_bytes(16)).hexdigest(),
                        "office_id": office_id,
                        "period_start": period,
                        "questionnaire_version": version,
                        "language": language,
                        "answers": answers,
                        "texts": {"hel_fritekst": "Mer tid til hver samtale."}
                        if n % 3 == 0
                        else {},
                        "batch_id": None,
                    }
                    for n, (office_id, version, language, answers) in enumerate(rows)
                ],
            )
            db.session.commit()

        def held(offices) -> int:
            found = db.session.scalar(
                select(func.count())
                .select_from(Response)
                .where(Response.office_id.in_(offices), Response.period_start == period)
            )
            db.session.rollback()
            return found

        one = sample[0][0]
        waiting([row for row in sample if row[0] == one][:10] or sample[:10])
        batch_held = held([one])
        began = time.perf_counter()
        mixer.mix(one, period)
        batch_seconds = time.perf_counter() - began

        waiting(sample)
        offices = sorted({row[0] for row in sample})
        before = held(offices)
        began = time.perf_counter()
        mixed = mixer.flush()
        seconds = time.perf_counter() - began
        print(
            json.dumps(
                {
                    "mixed": mixed,
                    "seconds": seconds,
                    "groups": len(offices),
                    "held": before,
                    "rewritten": held(offices),
                    "batch_seconds": batch_seconds,
                    "batch_held": batch_held,
                    "reorders": db.engine.dialect.name == "postgresql",
                }
            )
        )
