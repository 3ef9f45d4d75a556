"""Static files compressed for the browser that takes it (issue 16): brotli, else gzip,
with Vary; the vendored plotly.js is the basic bundle of the plotly.js that plotly.py
ships, and its precompressed siblings hold exactly it."""

from __future__ import annotations

import gzip
import re
from pathlib import Path

import brotli
import plotly

from survey import assets
from survey.dashboard.plotly_css import stylesheet
from survey.dashboard.views import PLOTLY_JS

STATIC = Path(assets.__file__).resolve().parent / "static"


def header_version(path: Path) -> str:
    head = path.read_text(encoding="utf-8")[:300]
    return re.search(r"plotly\.js (?:\(basic - minified\) )?v(\d+\.\d+\.\d+)", head).group(1)


def test_vendored_bundle_is_the_plotly_js_that_plotly_py_ships():
    full = Path(plotly.__file__).parent / "package_data" / "plotly.min.js"
    assert header_version(PLOTLY_JS) == header_version(full)
    assert "(basic - minified)" in PLOTLY_JS.read_text(encoding="utf-8")[:200]
    assert (PLOTLY_JS.parent / "LICENSE").read_text().startswith("MIT License")


def test_vendored_siblings_and_stylesheet_match_the_bundle():
    source = PLOTLY_JS.read_bytes()
    assert brotli.decompress(Path(f"{PLOTLY_JS}.br").read_bytes()) == source
    assert gzip.decompress(Path(f"{PLOTLY_JS}.gz").read_bytes()) == source
    assert (PLOTLY_JS.parent / "plotly.css").read_text(encoding="utf-8") == stylesheet(PLOTLY_JS)


def test_variants_ignore_a_stale_sibling(tmp_path):
    source = b"body { color: red }\n" * 200
    path = tmp_path / "a.css"
    path.write_bytes(source)
    (tmp_path / "a.css.gz").write_bytes(gzip.compress(b"an older version"))
    found = assets.variants(str(path))
    assert gzip.decompress(found["gzip"]) == source
    assert brotli.decompress(found["br"]) == source


def test_choose_follows_accept_encoding():
    from werkzeug.datastructures import Accept

    offered = {"br": b"x", "gzip": b"y"}
    assert assets.choose(Accept([("gzip", 1), ("br", 1)]), offered) == "br"
    assert assets.choose(Accept([("gzip", 1), ("br", 0)]), offered) == "gzip"
    assert assets.choose(Accept([("deflate", 1)]), offered) is None
    assert assets.choose(Accept([("gzip", 1)]), {"br": b"x"}) is None


def test_css_goes_compressed_with_vary_and_revalidates(client):
    url = "/static/css/stigen.css"
    with client.get(url, headers={"Accept-Encoding": "identity"}) as plain:
        assert "Content-Encoding" not in plain.headers
        assert "Accept-Encoding" in plain.headers["Vary"]
        text = plain.get_data()
    for accept, encoding, unpack in (
        ("gzip, deflate, br", "br", brotli.decompress),
        ("gzip", "gzip", gzip.decompress),
    ):
        response = client.get(url, headers={"Accept-Encoding": accept})
        assert response.headers["Content-Encoding"] == encoding
        assert "Accept-Encoding" in response.headers["Vary"]
        body = response.get_data()
        assert len(body) < len(text) / 2 and unpack(body) == text
        again = client.get(
            url, headers={"Accept-Encoding": accept, "If-None-Match": response.headers["ETag"]}
        )
        assert again.status_code == 304


def test_hashed_address_gets_a_year_compressed(client, app):
    with app.test_request_context():
        from flask import url_for

        url = url_for("static", filename="js/charts.js")
    assert "?v=" in url
    response = client.get(url, headers={"Accept-Encoding": "br"})
    assert response.headers["Cache-Control"] == assets.YEAR
    assert response.headers["Content-Encoding"] == "br"


def test_small_and_missing_files(client):
    with client.get("/static/favicon.svg", headers={"Accept-Encoding": "br"}) as icon:
        assert icon.status_code == 200  # compressed or not, whichever is smaller
    assert (
        client.get("/static/nothing-here.js", headers={"Accept-Encoding": "br"}).status_code == 404
    )
    assert client.get("/static/../survey/config.py").status_code == 404
