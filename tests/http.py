"""A small HTTP client with the test client's interface, for tests against a real server
(gunicorn) over loopback: keeps cookies, does not follow redirects."""

from __future__ import annotations

import urllib.error
import urllib.parse
import urllib.request
from http.cookiejar import CookieJar


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


class _Response:
    def __init__(self, status: int, body: bytes, headers):
        self.status_code = status
        self._body = body
        self.headers = headers

    def get_data(self, as_text: bool = False):
        return self._body.decode() if as_text else self._body


class HttpClient:
    def __init__(self, base: str):
        self.base = base.rstrip("/")
        self.opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(CookieJar()), _NoRedirect()
        )

    def _open(self, request) -> _Response:
        try:
            with self.opener.open(request, timeout=30) as response:
                return _Response(response.status, response.read(), response.headers)
        except urllib.error.HTTPError as error:
            return _Response(error.code, error.read(), error.headers)

    def get(self, path: str, headers=None, environ_base=None) -> _Response:
        return self._open(urllib.request.Request(self.base + path, headers=headers or {}))

    def post(self, path: str, data, headers=None, environ_base=None) -> _Response:
        body = urllib.parse.urlencode(list(data.items(multi=True))).encode()
        request = urllib.request.Request(self.base + path, data=body, headers=headers or {})
        return self._open(request)
