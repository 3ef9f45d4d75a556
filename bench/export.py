"""Export speed at scale: rows per second and peak memory of `flask export responses`
(run as its own process, so its memory is its own), beside the floor of the database's own
CSV dump of the same rows (`sqlite3 -csv` or `COPY … TO STDOUT`), in the same run.

    DATABASE_URL=sqlite:///$PWD/instance/bench.db .venv/bin/python bench/export.py --seed 1000000

Prints a table; it measures, it does not pass or fail.
"""

from __future__ import annotations

import argparse
import os
import re
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def run(command: list[str], out: Path | None = None, env=None) -> tuple[float, str]:
    started = time.perf_counter()
    with open(out, "wb") if out else open(os.devnull, "wb") as sink:
        done = subprocess.run(command, stdout=sink if out else subprocess.PIPE,
                              stderr=subprocess.PIPE, env=env, cwd=ROOT, check=True)
    return time.perf_counter() - started, (done.stdout or b"").decode() + done.stderr.decode()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=0, help="responses to add if empty")
    args = parser.parse_args()
    os.environ.setdefault("STIGEN_INSTANCE_PATH", str(ROOT / "bench" / ".instance"))
    env = {**os.environ}
    flask = [sys.executable, "-m", "flask", "--app", "app"]

    from sqlalchemy import func, select

    from survey import create_app
    from survey.demo.commands import ensure_offices, seed_responses
    from survey.extensions import db
    from survey.models import Response

    app = create_app()
    with app.app_context():
        from flask_migrate import upgrade

        upgrade()
        total = db.session.scalar(select(func.count()).select_from(Response))
        if not total and args.seed:
            seconds = seed_responses(ensure_offices(250), args.seed, months=24)
            print(f"seeded {args.seed:,} responses in {seconds:.1f} s")
            total = args.seed
        url = db.engine.url
        dialect = db.engine.dialect.name

    with tempfile.TemporaryDirectory() as folder:
        out = Path(folder) / "svar.csv"
        before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
        seconds, output = run([*flask, "export", "responses", "--out", str(out)], env=env)
        peak_mb = max(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, before) / 1024
        rows = int(re.search(r"([\d,]+) rows", output).group(1).replace(",", ""))
        size_mb = out.stat().st_size / 1e6
        floor_out = Path(folder) / "floor.csv"
        if dialect == "sqlite":
            floor, _ = run(["sqlite3", "-csv", "-header", url.database, "SELECT * FROM response"],
                           out=floor_out)
            floor_name = "sqlite3 -csv"
        else:
            floor, _ = run(["psql", "-h", url.host or "127.0.0.1", "-p", str(url.port or 5432),
                            "-U", url.username, url.database, "-c",
                            "COPY (SELECT * FROM response) TO STDOUT WITH CSV HEADER"], out=floor_out)
            floor_name = "COPY … TO STDOUT"
        floor_mb = floor_out.stat().st_size / 1e6

    print(f"Export, {dialect}, {total:,} responses (wall time including process start)\n")
    print("| what | rows | seconds | rows/s | peak MB | file MB | ratio to floor |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    print(f"| flask export responses (shuffled, suppressed) | {rows:,} | {seconds:.1f} | "
          f"{rows / seconds:,.0f} | {peak_mb:.0f} | {size_mb:.0f} | {floor / seconds:.2f} |")
    print(f"| floor: {floor_name} | {total:,} | {floor:.1f} | {total / floor:,.0f} | – | "
          f"{floor_mb:.0f} | 1.00 |")


if __name__ == "__main__":
    main()
