"""Static files under a content-hashed address with a year's cache.

``url_for('static', filename=…)`` gets ``?v=`` and the first 16 hex digits of the file's
SHA-256, so a changed file has a new address; a request that names the file's current hash
is answered with ``Cache-Control: public, max-age=31536000, immutable``. Without it, or
with an old hash, Flask's ordinary revalidating response is sent.

Text files (scripts, styles, SVG) are sent compressed to a browser that accepts it: brotli,
else gzip, with ``Vary: Accept-Encoding``. A sibling ``<file>.br`` or ``<file>.gz`` is used
when it decompresses to the file itself (the vendored plotly.js, whose brotli at the
highest level takes seconds: scripts/vendor_plotly.py); otherwise the file is compressed
once per process and kept in memory until it changes. (Issue 16: the office page was
4.8 MB uncompressed on a phone.)
"""

from __future__ import annotations

import gzip
import hashlib
import mimetypes
import os
from datetime import UTC, datetime
from typing import cast

from flask import Flask, Response, request
from werkzeug.security import safe_join
from werkzeug.wrappers import Response as BaseResponse

from .caching import Cache

try:  # brotli is a dependency; without it gzip alone still serves
    import brotli
except ImportError:  # pragma: no cover
    brotli = None

YEAR = "public, max-age=31536000, immutable"
COMPRESSIBLE = frozenset({".js", ".css", ".svg", ".json", ".txt", ".map", ".html"})


def compress(data: bytes, encoding: str) -> bytes:
    """``data`` compressed for ``Content-Encoding: encoding`` (quick levels: this runs on
    a request the first time a file is asked for)."""
    if encoding == "br":
        return brotli.compress(data, quality=9)
    return gzip.compress(data, 9, mtime=0)


def decompress(data: bytes, encoding: str) -> bytes:
    return brotli.decompress(data) if encoding == "br" else gzip.decompress(data)


def encodings() -> tuple[str, ...]:
    """Content encodings offered, best first."""
    return ("br", "gzip") if brotli is not None else ("gzip",)


def variants(path: str) -> dict[str, bytes]:
    """The file at ``path`` compressed in every offered encoding that makes it smaller:
    a precompressed sibling (``.br``, ``.gz``) when it holds exactly the file, else made
    here. Pure but for reading files."""
    with open(path, "rb") as handle:
        source = handle.read()
    found = {}
    for encoding in encodings():
        sibling = path + (".br" if encoding == "br" else ".gz")
        body = None
        if os.path.isfile(sibling):
            with open(sibling, "rb") as handle:
                candidate = handle.read()
            try:
                if decompress(candidate, encoding) == source:
                    body = candidate
            except Exception:  # a broken or stale sibling is ignored, never served
                body = None
        if body is None:
            body = compress(source, encoding)
        if len(body) < len(source):
            found[encoding] = body
    return found


def choose(accepted, offered: dict[str, bytes]) -> str | None:
    """The first offered encoding the request's Accept-Encoding allows (q > 0)."""
    for encoding in encodings():
        if encoding in offered and accepted[encoding] > 0:
            return encoding
    return None


# Complex only as the sum of its nested hooks, which share the hash cache.
def register(app: Flask) -> None:  # noqa: C901
    # filename -> (mtime_ns, digest); bound: the files of the static folder
    hashes: Cache[str, tuple[int, str]] = Cache(maxsize=256)

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
        hashes.put(filename, (mtime, digest))
        return digest

    @app.url_defaults
    def hashed_static(endpoint: str, values: dict) -> None:
        if endpoint == "static" and "filename" in values and "v" not in values:
            digest = file_hash(values["filename"])
            if digest:
                values["v"] = digest

    # path -> (mtime, size, variants); bound: the text files of the static folder
    compressed: Cache[str, tuple[int, int, dict[str, bytes]]] = Cache(maxsize=256)

    def static_variants(path: str) -> dict[str, bytes]:
        stat = os.stat(path)
        known = compressed.get(path)
        if known and known[:2] == (stat.st_mtime_ns, stat.st_size):
            return known[2]
        found = variants(path)
        compressed.put(path, (stat.st_mtime_ns, stat.st_size, found))
        return found

    plain_static = app.view_functions["static"]

    def static(filename: str):
        """Flask's static view, but a text file goes compressed when the browser takes it."""
        path = safe_join(app.static_folder, filename) if app.static_folder else None
        if (
            path is None
            or os.path.splitext(path)[1] not in COMPRESSIBLE
            or not os.path.isfile(path)
        ):
            return plain_static(filename=filename)
        offered = static_variants(path)
        encoding = choose(request.accept_encodings, offered)
        response: BaseResponse
        if encoding is None:
            # Flask's static view: typed as any view's return value, it is a Response.
            response = cast(Response, plain_static(filename=filename))
        else:
            mimetype = mimetypes.guess_type(path)[0] or "application/octet-stream"
            response = app.response_class(offered[encoding], mimetype=mimetype)
            response.headers["Content-Encoding"] = encoding
            response.set_etag(f"{file_hash(filename)}-{encoding}")
            response.last_modified = datetime.fromtimestamp(int(os.stat(path).st_mtime), UTC)
            response.cache_control.no_cache = True  # as Flask's own: revalidate
            response = response.make_conditional(request)
        response.vary.add("Accept-Encoding")
        return response

    if app.static_folder:
        app.view_functions["static"] = static

    @app.after_request
    def cache_hashed(response):
        if (
            request.endpoint == "static"
            and response.status_code in (200, 304)
            and request.args.get("v")
            and request.args["v"] == file_hash(request.view_args.get("filename", ""))
        ):
            response.headers["Cache-Control"] = YEAR
            response.headers.pop("Expires", None)
        return response
