"""Addresses handed to people outside Stigen (posters, QR codes, access-code sheets,
password links): one rule for where they point."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import current_app, has_request_context, url_for


def absolute_url(endpoint: str, base_url: str | None = None, **values) -> str:
    """The page's address on ``base_url`` (or the ``STIGEN_BASE_URL`` setting) when given,
    else on the address of the current request; from a shell with neither, the path
    alone."""
    base = (base_url or current_app.config.get("STIGEN_BASE_URL") or "").strip()
    if base:
        parts = urlsplit(base)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ValueError(f"not an http(s) base address: {base!r}")
    if has_request_context():
        if not base:
            return url_for(endpoint, _external=True, **values)
        path = url_for(endpoint, **values)
    else:
        with current_app.test_request_context():
            path = url_for(endpoint, **values)
    return base.rstrip("/") + path if base else path
