"""plotly figures, built server-side from numbers and already-translated labels. Pure:
no Flask, no database. The page passes each figure's JSON in a data attribute and a
static script draws it, so no inline script is needed.

Colours are the Okabe–Ito palette, safe for the common colour-vision deficiencies, and
each band also differs in lightness so the ladder reads in greyscale print.
"""

from __future__ import annotations

import plotly.graph_objects as go

BAND_COLOURS = {1: "#D55E00", 2: "#E69F00", 3: "#0072B2"}  # vermillion, orange, blue
SERIES_COLOURS = ("#0072B2", "#555555", "#009E73")
FONT = {"family": "system-ui, -apple-system, 'Segoe UI', Roboto, Arial, sans-serif",
        "size": 14, "color": "#1b1b1f"}


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
        "margin": {"l": 10, "r": 10, "t": 40, "b": 30},
        "paper_bgcolor": "#ffffff",
        "plot_bgcolor": "#ffffff",
        "hoverlabel": {"font": FONT},
        # Above the plot, so it never runs into the table below the chart.
        "legend": {"orientation": "h", "x": 0, "y": 1.02, "yanchor": "bottom"},
        **extra,
    }


def ladder(shares: dict[int, float], counts: dict[int, int], rung_labels: dict[int, str],
           band_of: dict[int, int], band_labels: dict[int, str], lang: str) -> str:
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
            text=[f"{shares[r] * 100:.0f} %" for r in rungs],
            textposition="outside",
            hovertemplate="%{y}: %{x:.1f} % (%{customdata})<extra></extra>",
        )
    order = [rung_labels[r] for r in range(1, 9)]  # bottom to top
    return go.Figure(figure).update_layout(**_layout(
        lang, 380,
        yaxis={"categoryorder": "array", "categoryarray": order, "automargin": True},
        xaxis={"ticksuffix": " %", "rangemode": "tozero", "gridcolor": "#e3e5e8",
               "automargin": True},
        bargap=0.25,
    )).to_json()


def themes(theme_labels: list[str], series: list[tuple[str, list[tuple | None]]],
           lang: str) -> str:
    """Theme indices 0–100 with 95 % intervals: one marker per series (this office,
    the country, the previous period), side by side for each theme."""
    figure = go.Figure()
    for (name, values), colour, symbol in zip(series, SERIES_COLOURS, ("circle", "diamond", "square")):
        shown = [(label, v) for label, v in zip(theme_labels, values) if v is not None]
        figure.add_scatter(
            x=[v[0] for _, v in shown],
            y=[label for label, _ in shown],
            error_x={"type": "data", "symmetric": False,
                     "array": [v[2] - v[0] for _, v in shown],
                     "arrayminus": [v[0] - v[1] for _, v in shown], "color": colour},
            mode="markers", name=name, orientation="h",  # grouped along the theme axis
            marker={"color": colour, "size": 11, "symbol": symbol},
            hovertemplate="%{y}: %{x:.0f}<extra>" + name + "</extra>",
        )
    return figure.update_layout(**_layout(
        lang, 320,
        xaxis={"range": [0, 100], "gridcolor": "#e3e5e8", "dtick": 20},
        yaxis={"categoryorder": "array", "categoryarray": theme_labels[::-1], "automargin": True},
        scattermode="group",
    )).to_json()


def trend(period_labels: list[str], band_shares: dict[int, list[float | None]],
          band_labels: dict[int, str], medians: list[float | None], median_label: str,
          lang: str) -> str:
    """Band shares per period as stacked bars, with the median rung as a line."""
    figure = go.Figure()
    for band in (1, 2, 3):
        figure.add_bar(
            x=period_labels,
            y=[None if s is None else s * 100 for s in band_shares[band]],
            name=band_labels[band], marker={"color": BAND_COLOURS[band]},
            hovertemplate="%{x}: %{y:.0f} %<extra>" + band_labels[band] + "</extra>",
        )
    figure.add_scatter(
        x=period_labels, y=medians, name=median_label, yaxis="y2", mode="lines+markers",
        line={"color": "#1b1b1f", "width": 2}, marker={"size": 8},
        connectgaps=False,
    )
    return figure.update_layout(**_layout(
        lang, 360, barmode="stack",
        yaxis={"ticksuffix": " %", "range": [0, 100], "gridcolor": "#e3e5e8", "automargin": True},
        yaxis2={"overlaying": "y", "side": "right", "range": [0.5, 8.5], "dtick": 1,
                "showgrid": False, "automargin": True},
    )).to_json()


def measures(labels: list[str], participants: list[int], lang: str) -> str:
    """How many took part in each measure (measures too small to show are left out)."""
    figure = go.Figure(go.Bar(
        x=participants, y=labels, orientation="h", marker={"color": "#0072B2"},
        text=participants, textposition="outside",
        hovertemplate="%{y}: %{x}<extra></extra>",
    ))
    return figure.update_layout(**_layout(
        lang, 60 + 36 * max(len(labels), 1),
        yaxis={"autorange": "reversed", "automargin": True},
        xaxis={"rangemode": "tozero", "gridcolor": "#e3e5e8"},
    )).to_json()


def overview(office_labels: list[str], band_shares: dict[int, list[float]],
             band_labels: dict[int, str], lang: str) -> str:
    """Band shares for every office shown, as stacked horizontal bars."""
    figure = go.Figure()
    for band in (1, 2, 3):
        figure.add_bar(
            y=office_labels, x=[s * 100 for s in band_shares[band]], orientation="h",
            name=band_labels[band], marker={"color": BAND_COLOURS[band]},
            hovertemplate="%{y}: %{x:.0f} %<extra>" + band_labels[band] + "</extra>",
        )
    return figure.update_layout(**_layout(
        lang, 90 + 26 * max(len(office_labels), 1), barmode="stack",
        yaxis={"autorange": "reversed", "automargin": True},
        xaxis={"ticksuffix": " %", "range": [0, 100], "gridcolor": "#e3e5e8"},
    )).to_json()
