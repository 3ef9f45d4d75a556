"""Fixtures: ``app``, ``client``, ``runner``, on SQLite by default or on the PostgreSQL
named by ``TEST_DATABASE_URL`` (``.ci/run`` runs the suite on both)."""

from __future__ import annotations

import os
import shutil

import pytest
from flask_migrate import upgrade
from sqlalchemy import create_engine, text

from survey import create_app
from survey.config import normalise_url
from survey.extensions import db
from survey.models import Office

POSTGRES_URL = normalise_url(os.environ.get("TEST_DATABASE_URL", ""))


def on_postgres() -> bool:
    return bool(POSTGRES_URL)


def _reset_postgres(url: str) -> None:
    engine = create_engine(url)
    with engine.begin() as connection:
        connection.execute(text("DROP SCHEMA public CASCADE"))
        connection.execute(text("CREATE SCHEMA public"))
    engine.dispose()


def make_app(database_url: str, instance_path, **config):
    os.environ["STIGEN_INSTANCE_PATH"] = str(instance_path)
    # A gathered batch is mixed in the request, so a test reads a settled state right
    # after the submission; tests/test_mixer_background.py runs the worker's mixing
    # thread (the default), as do the browser and load tests.
    return create_app(
        {
            "TESTING": True,
            "SQLALCHEMY_DATABASE_URI": database_url,
            "SECRET_KEY": "test",
            "STIGEN_MIX_IN_BACKGROUND": False,
            **config,
        }
    )


@pytest.fixture(scope="session")
def migrated_database(tmp_path_factory):
    """A database migrated once per run: a template file on SQLite, the schema on
    PostgreSQL."""
    instance = tmp_path_factory.mktemp("instance")
    if on_postgres():
        _reset_postgres(POSTGRES_URL)
        url = POSTGRES_URL
    else:
        url = "sqlite:///" + str(tmp_path_factory.mktemp("db") / "template.db")
    app = make_app(url, instance)
    with app.app_context():
        upgrade()
        db.engine.dispose()
    return url


@pytest.fixture
def database_url(migrated_database, tmp_path):
    if on_postgres():
        yield migrated_database
        engine = create_engine(migrated_database)
        # Every table the app defines (and Alembic's own stays): new tables need no edit here.
        tables = ", ".join(t.name for t in db.metadata.sorted_tables)
        with engine.begin() as connection:
            connection.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
        engine.dispose()
    else:
        path = tmp_path / "stigen.db"
        shutil.copy(migrated_database.removeprefix("sqlite:///"), path)
        yield "sqlite:///" + str(path)


@pytest.fixture
def app_config():
    """Override in a test module to change the app's configuration."""
    return {}


@pytest.fixture
def app(database_url, tmp_path, app_config):
    app = make_app(database_url, tmp_path / "instance", **app_config)
    with app.app_context():
        db.session.add_all(
            [
                Office(slug="bodo", name="NAV Bodø", municipality="Bodø", county="Nordland"),
                Office(slug="tromso", name="NAV Tromsø", municipality="Tromsø", county="Troms"),
                Office(
                    slug="stengt",
                    name="NAV Stengt",
                    municipality="Oslo",
                    county="Oslo",
                    active=False,
                ),
            ]
        )
        db.session.commit()
    yield app
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


@pytest.fixture(scope="session")
def oidc_provider(tmp_path_factory):
    """A real OpenID provider under Node (tests/oidc_provider.py), started once for the
    single sign-on tests and stopped at the end."""
    from . import oidc_provider as provider_module

    provider = provider_module.start(tmp_path_factory.mktemp("oidc"))
    yield provider
    provider_module.stop(provider)
