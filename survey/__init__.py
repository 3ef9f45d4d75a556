"""Stigen: anonymous feedback from young jobseekers on their follow-up from NAV."""

from __future__ import annotations

import logging
import os
import re
import sqlite3
from pathlib import Path
from urllib.parse import urlencode

from flask import Flask, abort, request, session
from flask_babel import get_locale, lazy_gettext
from sqlalchemy import event
from sqlalchemy.engine import Engine
from werkzeug.exceptions import HTTPException
from werkzeug.middleware.proxy_fix import ProxyFix
from werkzeug.routing import IntegerConverter

from . import config, moved_modules
from .extensions import babel, csrf, db, limiter, login_manager, migrate
from .log_filters import install_log_filters
from .resources import CHECKOUT, MIGRATIONS, TEMPLATES, TRANSLATIONS, default_instance

moved_modules.install()  # survey.periods and the other old paths still import

ROOT = CHECKOUT


def create_app(test_config: dict | None = None) -> Flask:
    """Build the app: defaults, then environment, then ``test_config``; then extensions,
    blueprints, error handlers and commands."""
    app = Flask(
        __name__,
        instance_path=os.environ.get("STIGEN_INSTANCE_PATH") or str(default_instance()),
        template_folder=str(TEMPLATES),
    )
    Path(app.instance_path).mkdir(parents=True, exist_ok=True)
    app.config.from_mapping(config.defaults(app.instance_path))
    app.config["BABEL_TRANSLATION_DIRECTORIES"] = str(TRANSLATIONS)
    if test_config:
        app.config.from_mapping(test_config)
    app.config.setdefault(
        "SQLALCHEMY_ENGINE_OPTIONS", config.engine_options(app.config["SQLALCHEMY_DATABASE_URI"])
    )
    check_config(app)
    trust_proxies(app)
    # Every ``<int:…>`` in a route is an id the database can hold; a bigger one is a 404
    # (PostgreSQL raised "integer out of range", a 500). Set before any route is added.
    app.url_map.converters["int"] = DatabaseId

    register_extensions(app)
    register_blueprints(app)
    register_errorhandlers(app)
    register_commands(app)
    register_hooks(app)
    install_log_filters()
    return app


class DatabaseId(IntegerConverter):
    """``<int:…>``: ASCII digits for a number an INTEGER column holds (at most 2**31-1)."""

    regex = r"[0-9]+"

    def __init__(self, map, fixed_digits=0, min=None, max=2**31 - 1, signed=False):
        super().__init__(map, fixed_digits, min, max, signed)


def trust_proxies(app: Flask) -> None:
    """Behind ``STIGEN_TRUSTED_PROXIES`` reverse proxies, the client's address (for the
    rate limits) and scheme (for Secure cookies) are what the nearest of them says; with
    0 (the default) nothing a client sends in a header is believed."""
    hops = app.config["STIGEN_TRUSTED_PROXIES"]
    if hops < 0:
        raise RuntimeError("STIGEN_TRUSTED_PROXIES must be 0 or more.")
    if hops:
        # Flask's documented way to wrap the WSGI app; mypy sees a method replaced.
        app.wsgi_app = ProxyFix(  # type: ignore[method-assign]
            app.wsgi_app, x_for=hops, x_proto=hops
        )


def check_config(app: Flask) -> None:
    if app.config["STIGEN_K"] < 3:
        raise RuntimeError("STIGEN_K may never be below 3 (privacy.md, 'Small groups').")
    from .domain.access_codes import BATCH_MIN_FLOOR, MAX_COUNT

    if not BATCH_MIN_FLOOR <= app.config["STIGEN_CODE_BATCH_MIN"] <= MAX_COUNT:
        raise RuntimeError(
            f"STIGEN_CODE_BATCH_MIN must be {BATCH_MIN_FLOOR} to {MAX_COUNT}: "
            "a smaller batch of codes could point at a person."
        )
    if app.config["STIGEN_DATE_PRECISION"] not in ("month", "week"):
        raise RuntimeError("STIGEN_DATE_PRECISION must be 'month' or 'week'.")
    base_url = app.config.get("STIGEN_BASE_URL") or ""
    if base_url and not re.match(r"^https?://[^/\s?#]+/?$", base_url):
        raise RuntimeError(
            "STIGEN_BASE_URL must be the public address without a path, e.g. "
            f"https://stigen.example.no (got {base_url!r})."
        )
    from .auth.oidc import config_problem

    problem = config_problem(app.config)
    if problem:
        raise RuntimeError(problem)
    from .questionnaire import published

    version = app.config["STIGEN_QUESTIONNAIRE_VERSION"]
    if version not in published():
        raise RuntimeError(f"Questionnaire version {version} is not published.")


def select_locale() -> str:
    """The respondent's chosen language (a ?lang= link or the switch in a form, kept in
    the session), else the browser's preference, else bokmål."""
    languages = config.LANGUAGES
    chosen = request.args.get("lang")
    if not chosen and request.method == "POST":
        try:
            chosen = request.form.get("lang")
        except HTTPException:  # e.g. a body too large: the error page still needs a language
            chosen = None
    if chosen in languages:
        session["lang"] = chosen
        return chosen
    if session.get("lang") in languages:
        return session["lang"]
    best = request.accept_languages.best_match([*languages, "no"])
    return "nb" if best in (None, "no") else best


def _no_client_identifier() -> str:
    """What Flask-Login stores as the session's ``_id``: nothing of the client."""
    return "-"


def register_extensions(app: Flask) -> None:
    db.init_app(app)
    migrate.init_app(app, db, directory=str(MIGRATIONS), render_as_batch=True)
    babel.init_app(app, locale_selector=select_locale)
    csrf.init_app(app)
    limiter.init_app(app)
    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.login_message = lazy_gettext("Logg inn for å se resultatene.")
    login_manager.localize_callback = str  # the lazy message, in the reader's language
    # No hash of address and user agent in the session: nothing client-derived is kept.
    # Session protection off is not enough: ``login_user`` still stores ``_id``, made by
    # ``_session_identifier_generator`` (an unsalted SHA-512 of address and user agent).
    # That attribute is Flask-Login's hook for it (flask-login PR #316); here it makes a
    # constant that says nothing about the client (tests/test_staff_cookie.py).
    login_manager.session_protection = None
    login_manager._session_identifier_generator = _no_client_identifier
    from . import assets, formatting

    formatting.register(app)
    assets.register(app)  # static files: content-hashed addresses, a year's cache


def register_blueprints(app: Flask) -> None:
    from .admin import bp as admin_bp
    from .auth import bp as auth_bp
    from .dashboard import bp as dashboard_bp
    from .export import bp as export_bp
    from .public import bp as public_bp
    from .respond import bp as respond_bp

    app.register_blueprint(respond_bp)
    app.register_blueprint(auth_bp)
    app.register_blueprint(dashboard_bp)
    app.register_blueprint(export_bp)
    app.register_blueprint(admin_bp)
    app.register_blueprint(public_bp)
    # Probes and Prometheus (docs/deploy.md): no respondent data, no rate limit, no log line.
    from . import metrics
    from .health import bp as health_bp

    app.register_blueprint(health_bp)
    metrics.init_app(app)


def register_errorhandlers(app: Flask) -> None:
    """The generic error pages for the whole app. A page that answers an error in its own
    way does so with its blueprint's handler, beside its views: the publish form's 413
    (``admin/questionnaires.py``), the sign-in form's expired token (``auth/views.py``),
    the questionnaire's and the code form's rate limits (``respond/views.py``).
    Flask picks a blueprint's handler for any error raised once the URL has matched one
    of its routes, in a ``before_request`` hook (CSRF, rate limits) as well as in the view;
    a 404 or 405 from routing itself has no blueprint, so those stay here."""
    from .errors import error_page as page

    @app.errorhandler(404)
    def not_found(error):
        return page(404)

    @app.errorhandler(405)
    def not_allowed(error):
        return page(404)

    @app.errorhandler(413)
    def too_large(error):
        return page(413)

    @app.errorhandler(400)  # a CSRFError too, unless its blueprint answers it
    def bad_request(error):
        return page(400)

    @app.errorhandler(429)  # the respondent pages answer their own (respond/views.py)
    def too_many(error):
        # Sign-in answers its own throttle (survey/auth/throttle.py) with the form and a wait.
        return page(429)

    @app.errorhandler(500)
    def server_error(error):
        db.session.rollback()
        return page(500)


def register_commands(app: Flask) -> None:
    """The commands of no blueprint; each feature registers its own on its blueprint's
    ``cli`` (``admin/__init__.py``, …), top-level all the same (``cli_group=None``)."""
    from .demo.commands import demo_command, seed_demo_command
    from .mixer import mix_command
    from .translate import translate_command

    for command in (seed_demo_command, demo_command, translate_command, mix_command):
        app.cli.add_command(command)


def register_hooks(app: Flask) -> None:
    @app.context_processor
    def inject_language():
        def language_url(code: str) -> str:
            """This page in another language: the same path and query, with ``lang``
            set. Built from the request as it came, never through url_for, so no query
            key can collide with a route's arguments."""
            args = [(k, v) for k, v in request.args.items(multi=True) if k != "lang"]
            return "?" + urlencode([*args, ("lang", code)])

        return {
            "current_lang": str(get_locale() or "nb"),
            "languages": config.LANGUAGES,
            "language_url": language_url,
        }

    @app.before_request
    def refuse_nul():
        """No address with a NUL byte names anything here (and PostgreSQL cannot even
        compare text with one): a plain 404. Query values that reach the database drop
        theirs where they are read."""
        if "\x00" in request.path:
            abort(404)

    @app.after_request
    def security_headers(response):
        # No script or style from anywhere else, no inline script, no framing, and no
        # Referer that could carry an office link's path to anybody.
        response.headers.setdefault(
            "Content-Security-Policy",
            "default-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'none'; "
            "form-action 'self'; frame-ancestors 'none'",
        )
        response.headers.setdefault("Referrer-Policy", "no-referrer")
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("X-Frame-Options", "DENY")
        if request.is_secure:
            response.headers.setdefault("Strict-Transport-Security", "max-age=31536000")
        return response


@event.listens_for(Engine, "connect")
def _sqlite_pragmas(dbapi_connection, connection_record):
    """WAL so readers never block the writer, and enforced foreign keys. (The busy
    timeout is the driver's ``timeout``, set in ``config.defaults``.)"""
    if isinstance(dbapi_connection, sqlite3.Connection):
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        # Deleted content (mixed inbox rows, rows rewritten in a new order) is overwritten
        # in the file, not left in free pages to be read in submission order (issue 12).
        cursor.execute("PRAGMA secure_delete=ON")
        cursor.close()


logging.getLogger(__name__).addHandler(logging.NullHandler())
