"""Configuration: defaults here, overridden by environment variables, then by the mapping
passed to ``create_app`` (tests)."""

from __future__ import annotations

import os
import secrets
from pathlib import Path

LANGUAGES = ("nb", "nn", "en")


def database_url(instance_path: str) -> str:
    """The database to use: ``DATABASE_URL`` if set, else a SQLite file under ``instance/``."""
    url = os.environ.get("DATABASE_URL", "").strip()
    if not url:
        return "sqlite:///" + str(Path(instance_path) / "stigen.db")
    return normalise_url(url)


def normalise_url(url: str) -> str:
    """Plain PostgreSQL URLs mean psycopg 3, the driver Stigen ships with."""
    url = url.strip()
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def secret_key(instance_path: str, production: bool) -> str:
    """``SECRET_KEY`` from the environment; outside production a key kept in ``instance/``."""
    key = os.environ.get("SECRET_KEY", "").strip()
    if key:
        return key
    if production:
        raise RuntimeError(
            "SECRET_KEY is not set. In production (STIGEN_ENV=production) Stigen will not start "
            "without it: set SECRET_KEY to a long random string, e.g. "
            "`python3 -c 'import secrets; print(secrets.token_hex(32))'`."
        )
    path = Path(instance_path) / "secret_key"
    if not path.exists():
        path.write_text(secrets.token_hex(32))
        path.chmod(0o600)
    return path.read_text().strip()


def engine_options(url: str) -> dict:
    options: dict = {"pool_pre_ping": True}
    if url.startswith("sqlite"):
        # Wait up to 5 s for another writer instead of failing with "database is locked".
        options["connect_args"] = {"timeout": 5.0}
    return options


def defaults(instance_path: str) -> dict:
    production = os.environ.get("STIGEN_ENV", "").strip().lower() == "production"
    return {
        "STIGEN_PRODUCTION": production,
        "SECRET_KEY": secret_key(instance_path, production),
        "SQLALCHEMY_DATABASE_URI": database_url(instance_path),
        # Smallest group an aggregate may describe (privacy.md: never below 3).
        "STIGEN_K": int(os.environ.get("STIGEN_K", "5")),
        # Waiting submissions of an office × period that are mixed into the counted tables
        # at once (survey.mixer); 0: max(k, 10) on PostgreSQL, max(k, 50) on SQLite. Never below k.
        "STIGEN_MIX_BATCH": int(os.environ.get("STIGEN_MIX_BATCH", "0")),
        # Mix a gathered batch in a thread of the worker's own (on), so that Send inn is
        # one write and its thank-you never waits for a mix; off: in the request.
        "STIGEN_MIX_IN_BACKGROUND": os.environ.get("STIGEN_MIX_IN_BACKGROUND", "1").strip().lower()
        not in ("0", "false", "no", "off"),
        # How coarsely a submission is dated: "month" (default) or "week" (ISO week).
        "STIGEN_DATE_PRECISION": os.environ.get("STIGEN_DATE_PRECISION", "month"),
        # Who runs the survey and whom to ask, named on the start and privacy pages (a
        # public-sector form must say so). The defaults mark a demo install as one.
        "STIGEN_OWNER": os.environ.get("STIGEN_OWNER", "NAV (demo)").strip(),
        "STIGEN_CONTACT": os.environ.get("STIGEN_CONTACT", "stigen@nav.example").strip(),
        "STIGEN_PRIVACY_CONTACT": os.environ.get(
            "STIGEN_PRIVACY_CONTACT", "personvernombud@nav.example"
        ).strip(),
        # The questionnaire version new respondents get.
        "STIGEN_QUESTIONNAIRE_VERSION": int(os.environ.get("STIGEN_QUESTIONNAIRE_VERSION", "1")),
        # Where respondents reach Stigen, e.g. https://stigen.example.no: the links on QR
        # codes and posters. Empty: the address the admin page was opened on.
        "STIGEN_BASE_URL": os.environ.get("STIGEN_BASE_URL", "").strip(),
        "BABEL_DEFAULT_LOCALE": "nb",
        "BABEL_DEFAULT_TIMEZONE": "Europe/Oslo",
        "LANGUAGES": LANGUAGES,
        # A respondent may take their time: an expired token is recovered without loss anyway.
        "WTF_CSRF_TIME_LIMIT": 4 * 3600,
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        # Secure cookies in production; survey.auth.sessions also sets the flag on any
        # response to a request that came over HTTPS.
        "SESSION_COOKIE_SECURE": production,
        # Staff sessions (survey.auth.sessions) end after this many minutes without a
        # request, and this many hours after signing in, whatever happens in between. The
        # session keeps the minute of signing in and of the last request for it (staff are
        # not anonymous; a respondent's session holds neither).
        "STIGEN_STAFF_IDLE_MINUTES": int(os.environ.get("STIGEN_STAFF_IDLE_MINUTES", "30")),
        "STIGEN_STAFF_MAX_HOURS": int(os.environ.get("STIGEN_STAFF_MAX_HOURS", "12")),
        # Single sign-on for staff through OpenID Connect (survey.auth.oidc, README "Single
        # sign-on"): off while the issuer is empty. Roles and offices come from the groups
        # claim by the two mappings, "group=value" separated by commas (a group named for
        # no role is refused); with the office prefix, a group "<prefix><slug>" also gives
        # that office. STIGEN_OIDC_LOCAL_PASSWORDS=off: only SSO signs staff in.
        "STIGEN_OIDC_ISSUER": os.environ.get("STIGEN_OIDC_ISSUER", "").strip(),
        "STIGEN_OIDC_CLIENT_ID": os.environ.get("STIGEN_OIDC_CLIENT_ID", "").strip(),
        "STIGEN_OIDC_CLIENT_SECRET": os.environ.get("STIGEN_OIDC_CLIENT_SECRET", "").strip(),
        "STIGEN_OIDC_SCOPES": os.environ.get("STIGEN_OIDC_SCOPES", "openid profile email").strip(),
        "STIGEN_OIDC_USERNAME_CLAIM": os.environ.get(
            "STIGEN_OIDC_USERNAME_CLAIM", "preferred_username"
        ).strip(),
        "STIGEN_OIDC_GROUPS_CLAIM": os.environ.get("STIGEN_OIDC_GROUPS_CLAIM", "groups").strip(),
        "STIGEN_OIDC_ROLES": os.environ.get("STIGEN_OIDC_ROLES", ""),
        "STIGEN_OIDC_OFFICES": os.environ.get("STIGEN_OIDC_OFFICES", ""),
        "STIGEN_OIDC_OFFICE_PREFIX": os.environ.get("STIGEN_OIDC_OFFICE_PREFIX", "").strip(),
        "STIGEN_OIDC_LOCAL_PASSWORDS": os.environ.get("STIGEN_OIDC_LOCAL_PASSWORDS", "on")
        .strip()
        .lower()
        not in ("off", "0", "false", "no"),
        # A respondent's unsent answers (the draft js/respond.js keeps in the tab) are wiped
        # from the browser after this many minutes without a touch: on a shared tablet the
        # next person sees nothing. Longer than half an hour, so switching apps loses nothing.
        "STIGEN_RESPONDENT_IDLE_MINUTES": int(
            os.environ.get("STIGEN_RESPONDENT_IDLE_MINUTES", "45")
        ),
        # How many reverse proxies (e.g. the TLS proxy) stand in front of Stigen. Only with
        # a number above 0 are X-Forwarded-For and X-Forwarded-Proto believed (that many
        # hops from the right); with 0 every client is its TCP peer, so behind a proxy all
        # would share one rate-limit bucket. Never more than actually stand there: anyone
        # can send the header.
        "STIGEN_TRUSTED_PROXIES": int(os.environ.get("STIGEN_TRUSTED_PROXIES", "0")),
        # In memory by default; redis://127.0.0.1:6379 to share limits between instances.
        "RATELIMIT_STORAGE_URI": os.environ.get("STIGEN_RATELIMIT_STORAGE", "memory://"),
        # Per client address. Generous, since a waiting room's guest Wi-Fi puts many young
        # people behind one address: questionnaire pages, and finished submissions.
        "STIGEN_PAGE_LIMIT": os.environ.get("STIGEN_PAGE_LIMIT", "600 per 10 minutes"),
        "STIGEN_SUBMIT_LIMIT": os.environ.get("STIGEN_SUBMIT_LIMIT", "30 per 10 minutes"),
        # The fewest codes a batch may hold (issue 12): a batch of one or two, labelled,
        # would point at a person. Never below survey.domain.access_codes.BATCH_MIN_FLOOR (20).
        "STIGEN_CODE_BATCH_MIN": int(os.environ.get("STIGEN_CODE_BATCH_MIN", "20")),
        # Access codes tried and refused (unknown or used), against guessing.
        "STIGEN_CODE_LIMIT": os.environ.get("STIGEN_CODE_LIMIT", "20 per 10 minutes"),
        # /isready fails when the release after the newest one has been due this many days
        # (the nightly `releases publish` job or a page view makes it), or when inbox rows
        # of a period that ended this many days ago still wait (the nightly `mix` job);
        # 0 turns the check off (docs/deploy.md, "Probes").
        "STIGEN_READY_RELEASE_DAYS": int(os.environ.get("STIGEN_READY_RELEASE_DAYS", "7")),
        "STIGEN_READY_MIX_DAYS": int(os.environ.get("STIGEN_READY_MIX_DAYS", "3")),
        # /metrics answers requests from these addresses or networks (comma-separated)
        # or bearing this token (Authorization: Bearer …); anyone else gets a 404.
        "STIGEN_METRICS_ALLOW": os.environ.get("STIGEN_METRICS_ALLOW", "127.0.0.1,::1"),
        "STIGEN_METRICS_TOKEN": os.environ.get("STIGEN_METRICS_TOKEN", "").strip(),
        # Retention (survey.retention, `flask retention run`): responses and comments of
        # months more than this many years ago are deleted (tallies and releases stay);
        # free text this many months after moderation. 0 keeps them.
        "STIGEN_RETENTION_YEARS": int(os.environ.get("STIGEN_RETENTION_YEARS", "5")),
        "STIGEN_FREE_TEXT_MONTHS": int(os.environ.get("STIGEN_FREE_TEXT_MONTHS", "12")),
        "RATELIMIT_HEADERS_ENABLED": False,
        "MAX_CONTENT_LENGTH": 64 * 1024,
        "MAX_FORM_MEMORY_SIZE": 64 * 1024,
    }
