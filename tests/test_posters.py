"""QR codes, posters and period months, without an app."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from datetime import date

import pytest
import segno

from survey.admin import posters
from survey.admin.office_forms import month_code, suggest_slug

SVG = "{http://www.w3.org/2000/svg}"
URL = "https://stigen.example.no/k/bodo?a=1&b=<2>"
TEXTS = posters.PosterTexts(
    office="NAV Bodø & <Omegn>",
    heading="Hvordan opplever du oppfølgingen fra NAV?",
    about="En kort, anonym undersøkelse for deg mellom 18 og 29 år.",
    anonymity="Du er anonym.",
    scan="Skann QR-koden:",
    duration="Det tar 5–8 minutter.",
)


def matrix_from_path(d: str, size: int) -> list[list[int]]:
    """Rebuild the module matrix from the path's rectangles."""
    grid = [[0] * size for _ in range(size)]
    runs = re.findall(r"M(\d+) (\d+)h(\d+)v1h-(\d+)z", d)
    assert "".join(f"M{x} {y}h{n}v1h-{m}z" for x, y, n, m in runs) == d  # nothing else in it
    for x, y, n, m in runs:
        assert n == m
        for i in range(int(n)):
            grid[int(y)][int(x) + i] = 1
    return grid


def segno_matrix(url: str) -> list[list[int]]:
    return [list(row) for row in segno.make(url, error="m", micro=False).matrix]


def test_the_qr_path_draws_exactly_segnos_modules():
    expected = segno_matrix(URL)
    assert matrix_from_path(posters.qr_path(expected), len(expected)) == expected


def test_qr_files_are_a_well_formed_svg_and_a_png():
    root = ET.fromstring(posters.qr_file(URL, "svg"))
    assert root.tag == f"{SVG}svg"
    size = (len(segno_matrix(URL)) + 2 * posters.QUIET_ZONE) * 10
    assert root.get("width") == str(size)
    assert posters.qr_file(URL, "png").startswith(b"\x89PNG\r\n\x1a\n")
    with pytest.raises(ValueError):
        posters.qr_file(URL, "pdf")


def test_the_inline_qr_is_named_for_screen_readers_and_escaped():
    svg = posters.qr_svg(URL, 'QR-kode til "lenken" & <mer>')
    root = ET.fromstring(svg)
    assert root.get("role") == "img"
    assert root.get("aria-label") == 'QR-kode til "lenken" & <mer>'
    assert root.find(f"{SVG}title").text == 'QR-kode til "lenken" & <mer>'
    modules = len(segno_matrix(URL)) + 2 * posters.QUIET_ZONE
    assert root.get("viewBox") == f"0 0 {modules} {modules}"


def test_the_poster_is_an_a4_svg_with_the_link_written_out_and_the_right_qr():
    svg = posters.poster_svg(URL, TEXTS)
    root = ET.fromstring(svg.encode())  # well-formed, despite & and < in the texts
    assert root.get("viewBox") == "0 0 210 297"
    assert (root.get("width"), root.get("height")) == ("210mm", "297mm")
    texts = [t.text for t in root.iter(f"{SVG}text")]
    assert "NAV Bodø & <Omegn>" in texts
    assert "<2>" not in svg and "&lt;2&gt;" in svg and "&amp;b=" in svg  # escaped in the file
    # The link is there as text the eye can type in (wrapped lines joined back).
    joined = "".join(texts)
    assert URL in joined
    assert "Du er anonym." in texts and "Skann QR-koden:" in texts
    path = next(p for p in root.iter(f"{SVG}path") if p.get("class") == "qr-modules")
    expected = segno_matrix(URL)
    assert matrix_from_path(path.get("d"), len(expected)) == expected
    # Everything is drawn on the sheet.
    for text in root.iter(f"{SVG}text"):
        assert 0 < float(text.get("y")) < 297


def test_a_long_link_and_a_footer_still_fit_the_sheet():
    url = "https://stigen.example.no/k/" + "nav-" * 20 + "lang"
    texts = posters.PosterTexts(**{**TEXTS.__dict__, "footer": "Se hva kontoret gjør med svarene"})
    svg = posters.poster_svg(url, texts)
    root = ET.fromstring(svg.encode())
    texts = [t.text for t in root.iter(f"{SVG}text")]
    assert url in "".join(texts)
    assert "Se hva kontoret gjør med svarene" in texts
    assert max(float(t.get("y")) for t in root.iter(f"{SVG}text")) < 297 - 10


def test_month_codes():
    # Typed months are read by survey.domain.periods.parse_month (tests/test_periods_and_redaction.py).
    assert month_code(date(2026, 3, 15)) == "2026-03" and month_code(None) == ""


def test_slugs_are_suggested_from_names():
    assert suggest_slug("NAV Tromsø") == "tromso"
    assert suggest_slug("NAV Bærum / Øst") == "baerum-ost"
    assert suggest_slug("Nav Ås") == "as"
    assert suggest_slug("!!!") == ""
