"""QR codes and the A4 waiting-room poster, as pure functions of a link and a few texts:
no Flask here, so they are tested (and run from the shell) without an app.

The QR symbol itself comes from segno; the poster draws it as one SVG path of whole
modules, so the path can be checked module by module against ``segno.make(url).matrix``.
"""

from __future__ import annotations

import io
import textwrap
from dataclasses import dataclass
from xml.sax.saxutils import escape, quoteattr

import segno

# A4 in millimetres: the poster's viewBox, so one user unit is one millimetre on paper.
A4_WIDTH, A4_HEIGHT = 210, 297
MARGIN = 20
QUIET_ZONE = 4  # modules of white around the symbol, as the QR standard asks
PRIMARY = "#0a4f7a"
TEXT = "#1b1b1f"
FONT = "system-ui, -apple-system, 'Segoe UI', Roboto, 'Helvetica Neue', Arial, sans-serif"


def make_qr(url: str) -> segno.QRCode:
    """A regular (never micro) QR code with medium error correction: survives a crease,
    a little glare and a thumb-tack."""
    return segno.make(url, error="m", micro=False)


def qr_file(url: str, kind: str) -> bytes:
    """The QR code as a file to download: ``"svg"`` or ``"png"`` (10 px per module)."""
    if kind not in ("svg", "png"):
        raise ValueError(f"unknown QR file kind {kind!r}")
    out = io.BytesIO()
    make_qr(url).save(out, kind=kind, scale=10, border=QUIET_ZONE)
    return out.getvalue()


def qr_path(matrix) -> str:
    """Path data for the dark modules of ``matrix``, in module units with no quiet zone:
    one rectangle ``M x y h n v 1 h -n z`` per horizontal run of dark modules."""
    parts = []
    for y, row in enumerate(matrix):
        x, width = 0, len(row)
        while x < width:
            if row[x]:
                start = x
                while x < width and row[x]:
                    x += 1
                parts.append(f"M{start} {y}h{x - start}v1h-{x - start}z")
            else:
                x += 1
    return "".join(parts)


def _qr_group(url: str, x: float, y: float, size: float) -> str:
    """The QR code for ``url`` drawn in a ``size``-square at (x, y), quiet zone included."""
    qr = make_qr(url)
    modules = len(qr.matrix) + 2 * QUIET_ZONE
    scale = size / modules
    return (
        f'<rect x="{_n(x)}" y="{_n(y)}" width="{_n(size)}" height="{_n(size)}" fill="#fff"/>'
        f'<g transform="translate({_n(x + QUIET_ZONE * scale)} {_n(y + QUIET_ZONE * scale)}) '
        f'scale({_n(scale)})"><path class="qr-modules" fill="#000" shape-rendering="crispEdges" '
        f'd="{qr_path(qr.matrix)}"/></g>'
    )


def qr_svg(url: str, title: str) -> str:
    """The QR code as an inline ``<svg>`` element (no size: the page's style sets it), named
    by ``title`` for screen readers."""
    qr = make_qr(url)
    modules = len(qr.matrix) + 2 * QUIET_ZONE
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {modules} {modules}" '
        f'class="poster-qr" role="img" aria-label={quoteattr(title)}>'
        f"<title>{escape(title)}</title>{_qr_group(url, 0, 0, modules)}</svg>"
    )


@dataclass(frozen=True)
class PosterTexts:
    """What the poster says, already in the poster's language (the caller translates)."""

    office: str
    heading: str
    about: str  # one sentence on what the survey is
    anonymity: str  # the promise of anonymity
    scan: str  # "scan the code, or go to:"
    duration: str = ""
    # One more line at the foot, e.g. where to see what the office does with the answers.
    footer: str = ""


def _n(value: float) -> str:
    """A coordinate without float noise."""
    return f"{value:.3f}".rstrip("0").rstrip(".")


def _lines(
    text: str, size: float, width: float = A4_WIDTH - 2 * MARGIN, break_words: bool = False
) -> list[str]:
    """``text`` wrapped for a font ``size`` mm high across ``width`` mm (an average
    character of a sans-serif face is about half its height wide)."""
    chars = max(8, int(width / (0.52 * size)))
    return textwrap.wrap(text, chars, break_long_words=break_words, break_on_hyphens=False) or [""]


def _text_block(
    lines: list[str],
    y: float,
    size: float,
    weight: str = "400",
    fill: str = TEXT,
    family: str = FONT,
) -> tuple[str, float]:
    """Centred lines of text from baseline ``y``; returns the SVG and the next free y."""
    out = []
    for line in lines:
        out.append(
            f'<text x="{_n(A4_WIDTH / 2)}" y="{_n(y)}" font-size="{_n(size)}" '
            f'font-weight="{weight}" fill="{fill}" font-family={quoteattr(family)} '
            f'text-anchor="middle">{escape(line)}</text>'
        )
        y += size * 1.3
    return "".join(out), y


def poster_svg(url: str, texts: PosterTexts, title: str = "") -> str:
    """The A4 poster as a standalone SVG document: office name, heading, what the survey
    is, a large QR code, the link written out, and the promise of anonymity."""
    body = [
        f'<rect width="{A4_WIDTH}" height="{A4_HEIGHT}" fill="#fff"/>',
        f'<rect width="{A4_WIDTH}" height="12" fill="{PRIMARY}"/>',
    ]
    y = 30.0
    part, y = _text_block(_lines(texts.office, 7), y, 7, "600", PRIMARY)
    body.append(part)
    part, y = _text_block(_lines(texts.heading, 11), y + 4, 11, "700")
    body.append(part)
    part, y = _text_block(_lines(texts.about, 6), y + 1, 6)
    body.append(part)

    qr_size = 110.0
    qr_top = y + 1
    body.append(_qr_group(url, (A4_WIDTH - qr_size) / 2, qr_top, qr_size))
    y = qr_top + qr_size + 8

    part, y = _text_block(_lines(texts.scan, 5.5), y, 5.5)
    body.append(part)
    # Long links get a smaller face, and may break anywhere: they hold no spaces.
    link_size = max(4.0, min(7.0, (A4_WIDTH - 2 * MARGIN) / (0.6 * max(len(url), 1))))
    part, y = _text_block(
        _lines(url, link_size, break_words=True),
        y + 1,
        link_size,
        "700",
        PRIMARY,
        "ui-monospace, 'DejaVu Sans Mono', Menlo, Consolas, monospace",
    )
    body.append(part)
    part, y = _text_block(_lines(texts.anonymity, 5.5), y + 5, 5.5, "600")
    body.append(part)
    if texts.duration:
        part, y = _text_block(_lines(texts.duration, 5), y + 1, 5)
        body.append(part)
    if texts.footer:
        part, y = _text_block(_lines(texts.footer, 5), y + 3, 5, "400", PRIMARY)
        body.append(part)

    heading = escape(title or texts.heading)
    return (
        '<?xml version="1.0" encoding="utf-8"?>\n'
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{A4_WIDTH}mm" height="{A4_HEIGHT}mm" '
        f'viewBox="0 0 {A4_WIDTH} {A4_HEIGHT}"><title>{heading}</title>'
        + "".join(body)
        + "</svg>\n"
    )
