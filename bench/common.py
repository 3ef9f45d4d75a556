"""What the parts of the suite share: a result row, the databases it runs on, and running
a process with its wall time and peak memory."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FLASK = [sys.executable, "-m", "flask", "--app", "app"]
SCHEMA = "stigen_bench"  # the only schema the suite creates and drops on PostgreSQL
# Load must not be throttled: the limits are raised, not switched off, so the limiter
# still runs on every request (as tests/load does).
UNTHROTTLED = {
    "STIGEN_SUBMIT_LIMIT": "1000000 per minute",
    "STIGEN_PAGE_LIMIT": "1000000 per minute",
    "STIGEN_RATELIMIT_STORAGE": "memory://",
}


@dataclass
class Row:
    """One line of the table: a figure beside its floor, measured in the same run."""

    size: int | None
    figure: str
    value: str
    floor: str = "–"
    ratio: float | None = None
    target: str = "–"
    met: bool | None = None  # None: no target for this line
    key: str = ""  # what growth compares across sizes
    number: float | None = None  # the figure as a number (seconds), for growth

    def cells(self) -> list[str]:
        size = f"{self.size:,}" if self.size else "–"
        ratio = "–" if self.ratio is None else f"{self.ratio:.2f}"
        met = "–" if self.met is None else ("met" if self.met else "**not met**")
        cells = [size, self.figure, self.value, self.floor, ratio, self.target, met]
        return [cell.replace("|", "\\|").replace("\n", " ") for cell in cells]


HEADER = ["responses", "figure", "value", "floor (same run)", "ratio", "target", "met"]


def markdown_table(rows: list[Row]) -> str:
    lines = ["| " + " | ".join(HEADER) + " |", "|---:|---|---:|---:|---:|---|---|"]
    lines += ["| " + " | ".join(row.cells()) + " |" for row in rows]
    return "\n".join(lines)


def ms(seconds: float) -> str:
    return f"{seconds * 1000:,.1f} ms"


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    return ordered[min(len(ordered) - 1, max(0, int(round(q * len(ordered) + 0.5)) - 1))]


@dataclass
class Measured:
    seconds: float
    peak_mb: float
    output: str
    returncode: int


def _children(pid: int) -> list[int]:
    found = []
    try:
        for task in os.listdir(f"/proc/{pid}/task"):
            with open(f"/proc/{pid}/task/{task}/children") as fh:
                found += [int(child) for child in fh.read().split()]
    except OSError:
        pass
    return found


def _cmdline(pid: int) -> bytes | None:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as fh:
            return fh.read()
    except OSError:
        return None


def _rss_kb(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/smaps_rollup") as fh:
            return next((int(line.split()[1]) for line in fh if line.startswith("Rss:")), 0)
    except OSError:
        return 0


def tree_rss_mb(pid: int) -> float:
    """Resident memory of a process and all its descendants, summed (shared pages count in
    each process, so this errs high). A child between fork and exec still shares its
    parent's pages and command line: it is skipped, not counted twice."""
    total, todo = 0, [(pid, None)]
    while todo:
        current, parent_cmdline = todo.pop()
        cmdline = _cmdline(current)
        if parent_cmdline is not None and cmdline == parent_cmdline:
            continue
        total += _rss_kb(current)
        todo += [(child, cmdline) for child in _children(current)]
    return total / 1024


def run_measured(command: list[str], env: dict, stdout: Path | None = None) -> Measured:
    """Run ``command`` and return its wall time and the peak resident memory of its whole
    process tree (the export renders in worker processes), sampled every 20 ms."""
    folder = Path(env.get("STIGEN_INSTANCE_PATH", tempfile.gettempdir()))
    log, errors = folder / "command.log", folder / "command.err"
    program = shutil.which(command[0]) or command[0]
    peak = 0.0
    started = time.perf_counter()
    with open(stdout or log, "wb") as out, open(errors, "wb") as err:
        process = subprocess.Popen(
            [program, *command[1:]], stdout=out, stderr=err, env=env, cwd=ROOT
        )
        while process.poll() is None:
            peak = max(peak, tree_rss_mb(process.pid))
            time.sleep(0.02)
    seconds = time.perf_counter() - started
    output = errors.read_text(errors="replace")
    if stdout is None:
        output = log.read_text(errors="replace") + output
    return Measured(seconds, peak or float("nan"), output, process.returncode)


class Database:
    """Where one pass of the suite keeps its data, made anew for every size."""

    name = ""

    def __init__(self, folder: Path):
        self.folder = folder  # the instance folder: secret key, logs, SQLite files

    def env(self) -> dict:
        return {
            **os.environ,
            "DATABASE_URL": self.url,
            "STIGEN_INSTANCE_PATH": str(self.folder),
            "SECRET_KEY": "stigen-bench-secret",
            "FLASK_DEBUG": "0",
            **UNTHROTTLED,
        }

    def reset(self, size: int) -> None:
        raise NotImplementedError

    def migrate(self) -> None:
        done = subprocess.run(
            [*FLASK, "db", "upgrade"], env=self.env(), cwd=ROOT, capture_output=True, text=True
        )
        if done.returncode:
            raise RuntimeError(f"flask db upgrade failed:\n{done.stderr[-2000:]}")


class SQLite(Database):
    name = "SQLite"
    dialect = "sqlite"

    def reset(self, size: int) -> None:
        for old in self.folder.glob("stigen-*.db*"):
            old.unlink()
        self.path = self.folder / f"stigen-{size}.db"
        self.url = f"sqlite:///{self.path}"

    def version(self) -> str:
        import sqlite3

        return f"SQLite {sqlite3.sqlite_version}"

    def floor_csv(self, out: Path) -> tuple[str, Measured]:
        if not shutil.which("sqlite3"):
            return "sqlite3 CLI not installed", None
        return "`sqlite3 -csv`", run_measured(
            ["sqlite3", "-csv", "-header", str(self.path), "SELECT * FROM response"],
            self.env(),
            stdout=out,
        )

    def close(self) -> None:
        for old in self.folder.glob("stigen-*.db*"):
            old.unlink()


class PostgreSQL(Database):
    """The schema ``stigen_bench`` in the database ``DATABASE_URL`` names: dropped and
    made anew for every size; nothing else in that database is read or written."""

    name = "PostgreSQL"
    dialect = "postgresql"

    def __init__(self, folder: Path, url: str):
        from sqlalchemy.engine import make_url

        from survey.config import normalise_url

        super().__init__(folder)
        base = make_url(normalise_url(url))
        self.base = base
        self.url = base.update_query_dict({"options": f"-csearch_path={SCHEMA}"}).render_as_string(
            hide_password=False
        )

    def _admin(self, sql: str) -> None:
        from sqlalchemy import create_engine, text

        engine = create_engine(self.base)
        try:
            with engine.begin() as connection:
                connection.execute(text(sql))
        finally:
            engine.dispose()

    def reset(self, size: int) -> None:
        self._admin(f"DROP SCHEMA IF EXISTS {SCHEMA} CASCADE; CREATE SCHEMA {SCHEMA}")

    def close(self) -> None:
        self._admin(f"DROP SCHEMA IF EXISTS {SCHEMA} CASCADE")

    def version(self) -> str:
        from sqlalchemy import create_engine, text

        engine = create_engine(self.base)
        try:
            with engine.connect() as connection:
                return "PostgreSQL " + connection.execute(text("SHOW server_version")).scalar()
        finally:
            engine.dispose()

    def psql(self) -> tuple[list[str], dict]:
        url = self.base
        env = {**self.env(), "PGOPTIONS": f"-c search_path={SCHEMA}"}
        if url.password:
            env["PGPASSWORD"] = url.password
        return (
            [
                "psql",
                "-X",
                "-q",
                "-h",
                url.host or "127.0.0.1",
                "-p",
                str(url.port or 5432),
                "-U",
                url.username or "postgres",
                url.database,
            ],
            env,
        )

    def floor_csv(self, out: Path) -> tuple[str, Measured]:
        if not shutil.which("psql"):
            return "psql not installed", None
        command, env = self.psql()
        return "`COPY … TO STDOUT`", run_measured(
            [*command, "-c", "COPY (SELECT * FROM response) TO STDOUT WITH CSV HEADER"],
            env,
            stdout=out,
        )


def timed(call, repeat: int) -> list[float]:
    """Wall times of ``repeat`` calls, in seconds."""
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        call()
        times.append(time.perf_counter() - started)
    return times


def staff_pages(app):
    """A client signed in as the benchmark's administrator (made if missing), and a
    factory of calls that GET a path and check it answered 200."""
    from sqlalchemy import select

    from survey.extensions import db
    from survey.models import Account

    with app.app_context():
        if db.session.scalar(select(Account).where(Account.username == "bench")) is None:
            account = Account(username="bench", role="admin")
            account.set_password("bench-password")
            db.session.add(account)
            db.session.commit()
    client = app.test_client()
    client.post("/logg-inn", data={"username": "bench", "password": "bench-password"})

    def get(path):
        def call():
            response = client.get(path)
            assert response.status_code == 200, (path, response.status_code)

        return call

    return get
