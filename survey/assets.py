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


def register(app: Flask) -> None:
    """Content-hashed static addresses, a year's cache for a current hash, and compressed
    text files, on ``app`` (see the module's docstring)."""
    files = StaticFiles(app)
    app.url_defaults(files.hashed_static)
    if app.static_folder:
        app.view_functions["static"] = files.static
    app.after_request(files.cache_hashed)


class StaticFiles:
    """One app's static files: their hashes and compressed variants, each kept until the
    file changes (bound: the files of the static folder), and the hooks that use them."""

    def __init__(self, app: Flask):
        self.app = app
        self.plain_static = app.view_functions["static"]  # Flask's own view
        # filename -> (mtime_ns, digest)
        self.hashes: Cache[str, tuple[int, str]] = Cache(maxsize=256)
        # path -> (mtime_ns, size, variants)
        self.compressed: Cache[str, tuple[int, int, dict[str, bytes]]] = Cache(maxsize=256)

    def path(self, filename: str) -> str | None:
        folder = self.app.static_folder
        return safe_join(folder, filename) if folder else None

    def file_hash(self, filename: str) -> str | None:
        """The file's hash, or None for a name outside the folder or no file there."""
        path = self.path(filename)
        if path is None or not os.path.isfile(path):
            return None
        try:
            mtime = os.stat(path).st_mtime_ns
            known = self.hashes.get(filename)
            if known and known[0] == mtime:
                return known[1]
            with open(path, "rb") as handle:
                digest = hashlib.sha256(handle.read()).hexdigest()[:16]
        except OSError:
            return None
        self.hashes.put(filename, (mtime, digest))
        return digest

    def hashed_static(self, endpoint: str, values: dict) -> None:
        """``url_for('static', …)`` gets ``v``, the file's hash."""
        if endpoint == "static" and "filename" in values and "v" not in values:
            digest = self.file_hash(values["filename"])
            if digest:
                values["v"] = digest

    def compressed_variants(self, path: str) -> dict[str, bytes]:
        """``variants(path)``, made again only when the file changes."""
        stat = os.stat(path)
        known = self.compressed.get(path)
        if known and known[:2] == (stat.st_mtime_ns, stat.st_size):
            return known[2]
        found = variants(path)
        self.compressed.put(path, (stat.st_mtime_ns, stat.st_size, found))
        return found

    def static(self, filename: str):
        """Flask's static view, but a text file goes compressed when the browser takes it."""
        path = self.path(filename)
        if (
            path is None
            or os.path.splitext(path)[1] not in COMPRESSIBLE
            or not os.path.isfile(path)
        ):
            return self.plain_static(filename=filename)
        offered = self.compressed_variants(path)
        encoding = choose(request.accept_encodings, offered)
        response: BaseResponse
        if encoding is None:
            # Flask's static view: typed as any view's return value, it is a Response.
            response = cast(Response, self.plain_static(filename=filename))
        else:
            mimetype = mimetypes.guess_type(path)[0] or "application/octet-stream"
            response = self.app.response_class(offered[encoding], mimetype=mimetype)
            response.headers["Content-Encoding"] = encoding
            response.set_etag(f"{self.file_hash(filename)}-{encoding}")
            response.last_modified = datetime.fromtimestamp(int(os.stat(path).st_mtime), UTC)
            response.cache_control.no_cache = True  # as Flask's own: revalidate
            response = response.make_conditional(request)
        response.vary.add("Accept-Encoding")
        return response

    def cache_hashed(self, response):
        """A year's cache for a static file asked for by its current hash."""
        if (
            request.endpoint == "static"
            and response.status_code in (200, 304)
            and request.args.get("v")
            and request.args["v"] == self.file_hash(request.view_args.get("filename", ""))
        ):
            response.headers["Cache-Control"] = YEAR
            response.headers.pop("Expires", None)
        return response
