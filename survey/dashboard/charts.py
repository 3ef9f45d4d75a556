"""plotly figures, built server-side from numbers and already-translated labels. Pure:
no Flask, no database. The page passes each figure's JSON in a data attribute and a
static script draws it, so no inline script is needed.

Colours are the Okabe–Ito palette, safe for the common colour-vision deficiencies, and
each band also differs in lightness so the ladder reads in greyscale print.

Every figure fits a 360 px phone (issue 16): long category labels are wrapped, bar texts
are drawn outside the bars with room left for them on the axis (never clipped), every axis
makes room for its labels (``automargin``), and value axes have few ticks. Beside each
figure, ``*_rows`` give the same chart as rows for a server-drawn SVG (the page shows it
until plotly.js has drawn, and without JavaScript): see ``templates/_macros/dashboard.html``.
"""

from __future__ import annotations

import textwrap

import plotly.graph_objects as go

BAND_COLOURS = {1: "#D55E00", 2: "#E69F00", 3: "#0072B2"}  # vermillion, orange, blue
SERIES_COLOURS = ("#0072B2", "#555555", "#009E73")
FONT = {
    "family": "system-ui, -apple-system, 'Segoe UI', Roboto, Arial, sans-serif",
    "size": 14,
    "color": "#1b1b1f",
}


def separators(lang: str) -> str:
    """plotly's decimal and thousands marks: decimal comma and a narrow no-break space
    in Norwegian, as Språkrådet recommends; point and comma in English."""
    return ".," if lang == "en" else ",\u202f"


def _layout(lang: str, height: int, **extra) -> dict:
    return {
        "template": "none",  # plotly's default template would add ~7 KB to every figure
        "font": FONT,
        "separators": separators(lang),
        "height": height,
        "margin": {"l": 10, "r": 16, "t": 40, "b": 30, "pad": 2},
        "paper_bgcolor": "#ffffff",
        "plot_bgcolor": "#ffffff",
        "hoverlabel": {"font": FONT},
        # Above the plot, so it never runs into the table below the chart.
        "legend": {"orientation": "h", "x": 0, "y": 1.02, "yanchor": "bottom"},
        **extra,
    }


def wrap(label: str, width: int = 18) -> str:
    """A category label broken into lines of at most ``width`` characters with plotly's
    <br>, so a long name takes height instead of half a phone's width."""
    lines = textwrap.wrap(str(label), width) or [""]
    return "<br>".join(lines)


def _value_axis(top: float, **extra) -> dict:
    """A value axis from 0 with room beyond the longest bar for its text, and few ticks
    so the numbers never run into each other on a phone."""
    return {
        "range": [0, max(top, 1e-9) * 1.3],
        "rangemode": "tozero",
        "gridcolor": "#e3e5e8",
        "nticks": 5,
        "automargin": True,
        **extra,
    }


def ladder(
    shares: dict[int, float],
    counts: dict[int, int],
    rung_labels: dict[int, str],
    band_of: dict[int, int],
    band_labels: dict[int, str],
    lang: str,
) -> str:
    """The ladder: one bar per rung, rung 1 at the bottom and 8 at the top, coloured by
    band; one trace per band so the legend names the bands."""
    figure = go.Figure()
    for band in (1, 2, 3):
        rungs = [r for r in range(1, 9) if band_of[r] == band]
        figure.add_bar(
            y=[rung_labels[r] for r in rungs],
            x=[shares[r] * 100 for r in rungs],
            customdata=[counts[r] for r in rungs],
            orientation="h",
            name=band_labels[band],
            marker={"color": BAND_COLOURS[band], "line": {"color": "#1b1b1f", "width": 0.5}},
            text=[percent_text(shares[r], lang) for r in rungs],
            textposition="outside",
            cliponaxis=False,
            hovertemplate="%{y}: %{x:.1f} % (%{customdata})<extra></extra>",
        )
    order = [rung_labels[r] for r in range(1, 9)]  # bottom to top
    return (
        go.Figure(figure)
        .update_layout(
            **_layout(
                lang,
                380,
                yaxis={"categoryorder": "array", "categoryarray": order, "automargin": True},
                xaxis=_value_axis(max(shares.values()) * 100, ticksuffix=" %"),
                bargap=0.25,
            )
        )
        .to_json()
    )


def percent_text(share: float, lang: str) -> str:
    """A bar's label: a whole percentage, with the no-break space Norwegian puts before
    the sign (so "27 %" never breaks, or is cut, between number and sign)."""
    return f"{share * 100:.0f}%" if lang == "en" else f"{share * 100:.0f}\u00a0%"


def themes(theme_labels: list[str], series: list[tuple[str, list[tuple | None]]], lang: str) -> str:
    """Theme indices 0–100 with 95 % intervals: one marker per series (this office,
    the country, the previous period), side by side for each theme."""
    figure = go.Figure()
    theme_labels = [wrap(label, 16) for label in theme_labels]
    # At most three series: colours and symbols are there for each.
    for (name, values), colour, symbol in zip(
        series, SERIES_COLOURS, ("circle", "diamond", "square"), strict=False
    ):
        shown = [
            (label, v) for label, v in zip(theme_labels, values, strict=False) if v is not None
        ]
        figure.add_scatter(
            x=[v[0] for _, v in shown],
            y=[label for label, _ in shown],
            error_x={
                "type": "data",
                "symmetric": False,
                "array": [v[2] - v[0] for _, v in shown],
                "arrayminus": [v[0] - v[1] for _, v in shown],
                "color": colour,
            },
            mode="markers",
            name=name,
            orientation="h",  # grouped along the theme axis
            marker={"color": colour, "size": 11, "symbol": symbol},
            hovertemplate="%{y}: %{x:.0f}<extra>" + name + "</extra>",
        )
    return figure.update_layout(
        **_layout(
            lang,
            60 + 70 * max(len(theme_labels), 1),
            xaxis={
                "range": [0, 100],
                "gridcolor": "#e3e5e8",
                "dtick": 25,
                "tickangle": 0,
                "automargin": True,
            },
            yaxis={
                "categoryorder": "array",
                "categoryarray": theme_labels[::-1],
                "automargin": True,
            },
            scattermode="group",
        )
    ).to_json()


def trend(
    period_labels: list[str],
    band_shares: dict[int, list[float | None]],
    band_labels: dict[int, str],
    medians: list[float | None],
    median_label: str,
    lang: str,
) -> str:
    """Band shares per period as stacked bars, with the median rung as a line."""
    figure = go.Figure()
    period_labels = [wrap(label, 10) for label in period_labels]  # "1. kvartal<br>2026"
    for band in (1, 2, 3):
        figure.add_bar(
            x=period_labels,
            y=[None if s is None else s * 100 for s in band_shares[band]],
            name=band_labels[band],
            marker={"color": BAND_COLOURS[band]},
            hovertemplate="%{x}: %{y:.0f} %<extra>" + band_labels[band] + "</extra>",
        )
    figure.add_scatter(
        x=period_labels,
        y=medians,
        name=median_label,
        yaxis="y2",
        mode="lines+markers",
        line={"color": "#1b1b1f", "width": 2},
        marker={"size": 8},
        connectgaps=False,
    )
    return figure.update_layout(
        **_layout(
            lang,
            360,
            barmode="stack",
            xaxis={"automargin": True},
            yaxis={
                "ticksuffix": " %",
                "range": [0, 100],
                "gridcolor": "#e3e5e8",
                "automargin": True,
                "dtick": 25,
            },
            yaxis2={
                "overlaying": "y",
                "side": "right",
                "range": [0.5, 8.5],
                "dtick": 1,
                "showgrid": False,
                "automargin": True,
            },
        )
    ).to_json()


def measures(labels: list[str], participants: list[int], lang: str) -> str:
    """How many took part in each measure (measures too small to show are left out)."""
    figure = go.Figure(
        go.Bar(
            x=participants,
            y=[wrap(label) for label in labels],
            orientation="h",
            marker={"color": "#0072B2"},
            text=participants,
            textposition="outside",
            cliponaxis=False,
            hovertemplate="%{y}: %{x}<extra></extra>",
        )
    )
    return figure.update_layout(
        **_layout(
            lang,
            60 + 48 * max(len(labels), 1),
            yaxis={"autorange": "reversed", "automargin": True},
            xaxis=_value_axis(max(participants, default=1), tickformat="d"),
        )
    ).to_json()


def overview(
    office_labels: list[str],
    band_shares: dict[int, list[float]],
    band_labels: dict[int, str],
    lang: str,
) -> str:
    """Band shares for every office shown, as stacked horizontal bars."""
    figure = go.Figure()
    for band in (1, 2, 3):
        figure.add_bar(
            y=[wrap(label, 24) for label in office_labels],
            x=[s * 100 for s in band_shares[band]],
            orientation="h",
            name=band_labels[band],
            marker={"color": BAND_COLOURS[band]},
            hovertemplate="%{y}: %{x:.0f} %<extra>" + band_labels[band] + "</extra>",
        )
    return figure.update_layout(
        **_layout(
            lang,
            90 + 26 * max(len(office_labels), 1),
            barmode="stack",
            yaxis={"autorange": "reversed", "automargin": True},
            xaxis={
                "ticksuffix": " %",
                "range": [0, 100],
                "gridcolor": "#e3e5e8",
                "dtick": 25,
                "automargin": True,
            },
        )
    ).to_json()


# --- the same charts as rows, for a server-drawn SVG -------------------------------------
# A row is {"label", "text", "tracks"}; a track is one bar of the width of the page, 0–100,
# holding bars [(start, width, colour)] and marks [(value, low, high, colour)]. The page
# draws each track as a small SVG with presentation attributes only (the CSP forbids
# style attributes) and the label and text as HTML, so long names wrap on a phone.


def bar_rows(
    labels: list[str], values: list[float], colours: list[str], texts: list[str]
) -> list[dict]:
    """One bar per row, scaled to the largest value."""
    top = max(values, default=0) or 1
    return [
        {
            "label": label,
            "text": text,
            "tracks": [{"bars": [(0.0, 100 * value / top, colour)], "marks": []}],
        }
        for label, value, colour, text in zip(labels, values, colours, texts, strict=False)
    ]


def stacked_rows(
    labels: list[str], shares: dict[int, list[float | None]], texts: list[str]
) -> list[dict]:
    """Band shares 0–1 stacked left to right in band order; a row without figures is an
    empty track."""
    rows = []
    for n, (label, text) in enumerate(zip(labels, texts, strict=False)):
        bars: list[tuple[float, float, str]] = []
        start = 0.0
        for band in sorted(shares):
            share = shares[band][n]
            if share is None:
                bars = []
                break
            bars.append((start, share * 100, BAND_COLOURS[band]))
            start += share * 100
        rows.append({"label": label, "text": text, "tracks": [{"bars": bars, "marks": []}]})
    return rows


def mark_rows(labels: list[str], series: list[list[tuple | None]]) -> list[dict]:
    """Indices 0–100 with their intervals (mean, low, high): one track per series, in the
    series colours, as in the plotly figure."""
    return [
        {
            "label": label,
            "text": "",
            "tracks": [
                {"bars": [], "marks": [(*mark[:3], colour)] if (mark := values[n]) else []}
                for values, colour in zip(series, SERIES_COLOURS, strict=False)
            ],
        }
        for n, label in enumerate(labels)
    ]
