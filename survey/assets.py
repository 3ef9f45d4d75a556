"""Static files under a content-hashed address with a year's cache.

``url_for('static', filename=…)`` gets ``?v=`` and the first 16 hex digits of the file's
SHA-256, so a changed file has a new address; a request that names the file's current hash
is answered with ``Cache-Control: public, max-age=31536000, immutable``. Without it, or
with an old hash, Flask's ordinary revalidating response is sent.
"""

from __future__ import annotations

import hashlib
import os

from flask import Flask, request
from werkzeug.security import safe_join

YEAR = "public, max-age=31536000, immutable"


def register(app: Flask) -> None:
    hashes: dict[str, tuple[int, str]] = {}  # filename -> (mtime_ns, digest)

    def file_hash(filename: str) -> str | None:
        """The file's hash, or None for a name outside the folder or no file there."""
        path = safe_join(app.static_folder, filename) if app.static_folder else None
        if path is None or not os.path.isfile(path):
            return None
        try:
            mtime = os.stat(path).st_mtime_ns
            known = hashes.get(filename)
            if known and known[0] == mtime:
                return known[1]
            with open(path, "rb") as handle:
                digest = hashlib.sha256(handle.read()).hexdigest()[:16]
        except OSError:
            return None
        hashes[filename] = (mtime, digest)
        return digest

    @app.url_defaults
    def hashed_static(endpoint: str, values: dict) -> None:
        if endpoint == "static" and "filename" in values and "v" not in values:
            digest = file_hash(values["filename"])
            if digest:
                values["v"] = digest

    @app.after_request
    def cache_hashed(response):
        if (request.endpoint == "static" and response.status_code in (200, 304)
                and request.args.get("v")
                and request.args["v"] == file_hash(request.view_args.get("filename", ""))):
            response.headers["Cache-Control"] = YEAR
            response.headers.pop("Expires", None)
        return response
