"""Stigen installed, not checked out (issue 15): build the wheel, install it into a fresh
virtualenv in a temporary folder with the pinned dependencies (constraints.txt), and from
a folder outside the checkout migrate a fresh database with ``stigen db upgrade``, make
an office and an account with ``stigen``, serve with gunicorn and the shipped config
(``-c python:survey.gunicorn_conf 'survey:create_app()'``, the Dockerfile's entry
point), check the probes, answer one questionnaire and sign in. These are the steps the
Dockerfile runs (docs/deploy.md). Slow (a build and an install): marked ``wheel``.

Also: constraints.txt pins every dependency CI installs, within pyproject.toml's range."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import time
import tomllib
import zipfile
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from .conftest import POSTGRES_URL
from .forms import Page
from .http import HttpClient
from .test_gunicorn import free_port
from .test_respond import answer_all, send

ROOT = Path(__file__).resolve().parent.parent
LOCK_COMMAND = ".venv/bin/pip freeze --exclude-editable > constraints.txt"
# What the build needs of the checkout (the rest, .venv, .git, instance/, is left out).
SOURCES = (
    "pyproject.toml",
    "setup.py",
    "README.md",
    "survey",
    "templates",
    "translations",
    "migrations",
)


def pins() -> dict[str, str]:
    found = {}
    for line in (ROOT / "constraints.txt").read_text().splitlines():
        if "==" in line and not line.startswith("#"):
            name, version = line.split("==", 1)
            found[re.sub(r"[-_.]+", "-", name).lower()] = version.strip()
    return found


def test_the_constraints_pin_every_dependency_within_its_range():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    extras = project["optional-dependencies"]
    # What CI installs: the app, the test extra and the redis extra it includes (not bench).
    wanted = [*project["dependencies"], *extras["test"], *extras["redis"]]
    pinned = pins()
    for line in wanted:
        requirement = Requirement(line)
        name = re.sub(r"[-_.]+", "-", requirement.name).lower()
        if name == "stigen":
            continue
        assert name in pinned, f"{name} is not in constraints.txt: run `{LOCK_COMMAND}`"
        assert requirement.specifier.contains(pinned[name], prereleases=True), (
            f"constraints.txt pins {name}=={pinned[name]}, outside {requirement.specifier}: "
            f"run `{LOCK_COMMAND}`"
        )


def run(*args, **kwargs) -> subprocess.CompletedProcess:
    done = subprocess.run([str(a) for a in args], capture_output=True, text=True, **kwargs)
    assert done.returncode == 0, f"{args}:\n{done.stdout}\n{done.stderr}"
    return done


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    """(venv bin folder, wheel path): the wheel built from a copy of the checkout, in a
    fresh virtualenv, dependencies as pinned."""
    base = tmp_path_factory.mktemp("wheel")
    source = base / "source"
    for name in SOURCES:
        path = ROOT / name
        if path.is_dir():
            shutil.copytree(
                path, source / name, ignore=shutil.ignore_patterns("__pycache__", "*.pyc")
            )
        else:
            source.mkdir(exist_ok=True)
            shutil.copy(path, source / name)
    run(sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", base / "dist", source)
    wheel = next((base / "dist").glob("stigen-*.whl"))
    run(sys.executable, "-m", "venv", base / "venv")
    bin_dir = base / "venv" / "bin"
    run(
        bin_dir / "python",
        "-m",
        "pip",
        "install",
        "-q",
        "-c",
        ROOT / "constraints.txt",
        f"{wheel}[redis]",
    )
    return bin_dir, wheel


def test_the_wheel_carries_templates_translations_and_migrations(installed):
    _, wheel = installed
    names = zipfile.ZipFile(wheel).namelist()
    for needed in (
        "survey/templates/base.html",
        "survey/templates/respond/page.html",
        "survey/translations/en/LC_MESSAGES/messages.mo",
        "survey/translations/nn/LC_MESSAGES/messages.mo",
        "survey/migrations/env.py",
        "survey/migrations/alembic.ini",
        "survey/migrations/versions/0001_initial.py",
        "survey/questionnaires/v1.toml",
        "survey/gunicorn_conf.py",
    ):
        assert needed in names, needed
    assert not [n for n in names if "__pycache__" in n or n.endswith(".pyc")]
    migrations = sorted(p.name for p in (ROOT / "migrations" / "versions").glob("*.py"))
    assert (
        sorted(n.rsplit("/", 1)[1] for n in names if n.startswith("survey/migrations/versions/"))
        == migrations
    )


@pytest.fixture
def fresh_postgres():
    """A database of its own on the test server, dropped afterwards (the suite's own
    stays migrated for the other tests)."""
    url = make_url(POSTGRES_URL)
    name = f"{url.database}_wheel"
    admin = create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    yield url.set(database=name).render_as_string(hide_password=False)
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def database(request, tmp_path):
    if request.param == "sqlite":
        return "sqlite:///" + str(tmp_path / "installed.db")
    if not POSTGRES_URL:
        pytest.skip("needs TEST_DATABASE_URL (the PostgreSQL pass of .ci/run)")
    return request.getfixturevalue("fresh_postgres")


@pytest.mark.wheel
def test_an_installed_wheel_migrates_serves_takes_an_answer_and_signs_in(
    installed, database, tmp_path
):
    bin_dir, _ = installed
    work = tmp_path / "elsewhere"  # outside the checkout: nothing of it is importable
    work.mkdir()
    port = free_port()
    env = {
        "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}",
        "HOME": str(tmp_path),
        "DATABASE_URL": database,
        "SECRET_KEY": "wheel-test",
        "STIGEN_INSTANCE_PATH": str(work / "instance"),
        "STIGEN_BIND": f"127.0.0.1:{port}",
        "STIGEN_LOG_FORMAT": "json",
    }
    where = run(
        bin_dir / "python", "-c", "import survey; print(survey.__file__)", cwd=work, env=env
    ).stdout
    assert where.startswith(str(bin_dir.parent)), where

    run(bin_dir / "stigen", "db", "upgrade", cwd=work, env=env)
    run(bin_dir / "stigen", "offices", "create", "NAV Bodø", "--slug", "bodo", cwd=work, env=env)
    run(
        bin_dir / "stigen",
        "users",
        "create",
        "forsker",
        "--role",
        "forsker",
        "--password",
        "riktig-passord-1",
        cwd=work,
        env=env,
    )

    log = tmp_path / "gunicorn.log"
    with open(log, "wb") as out:
        server = subprocess.Popen(
            [bin_dir / "gunicorn", "-c", "python:survey.gunicorn_conf", "survey:create_app()"],
            cwd=work,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        client = HttpClient(f"http://127.0.0.1:{port}")
        deadline = time.monotonic() + 60
        while True:
            try:
                if client.get("/isready").status_code == 200:
                    break
            except OSError:
                pass
            if time.monotonic() > deadline or server.poll() is not None:
                pytest.fail("the installed Stigen did not get ready:\n" + log.read_text())
            time.sleep(0.3)
        assert client.get("/isalive").status_code == 200
        # Templates and the compiled English catalogue, from the installed package.
        english = client.get("/k/bodo?lang=en").get_data(as_text=True)
        assert "NAV Bodø" in english and 'lang="en"' in english
        assert send(client, answer_all(client)).status == 303

        staff = HttpClient(f"http://127.0.0.1:{port}")
        page = Page(staff.get("/logg-inn"))
        data = page.values()
        data["username"], data["password"] = "forsker", "riktig-passord-1"
        signed_in = staff.post("/logg-inn", data=data)
        assert signed_in.status_code in (302, 303), signed_in.get_data(as_text=True)[:500]
        assert staff.get("/eksport/").status_code == 200
    finally:
        server.terminate()
        server.wait(timeout=30)
    logged = log.read_text()
    lines = [json.loads(line) for line in logged.splitlines() if line.strip()]
    assert any(line.get("path") == "/logg-inn" for line in lines), logged
