"""plotly.js's own style rules, as a stylesheet.

plotly.js adds its rules with a <style> element at run time, which our
Content-Security-Policy (no 'unsafe-inline') blocks; without them its SVG layers stack
instead of overlapping. The rules are a flat object literal in the shipped
plotly.min.js, keyed by selectors in which X stands for the plot and Y for the notifier;
this reads them from that file, so they always match the plotly.js we serve.
"""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path

_START = '{"X,X div":'
_ENTRY = re.compile(r"""(?:"([^"]*)"|'([^']*)'|([A-Za-z_]\w*)):(?:"([^"]*)"|'([^']*)')""")


@lru_cache(maxsize=2)  # the one plotly.js shipped
def stylesheet(plotly_js: Path) -> str:
    source = plotly_js.read_text(encoding="utf-8")
    start = source.find(_START)
    if start < 0:
        raise RuntimeError(f"plotly.js style rules not found in {plotly_js}")
    end = source.find("};", start)
    rules = []
    for match in _ENTRY.finditer(source, start + 1, end + 1):
        selector = next(g for g in match.groups()[:3] if g is not None)
        declarations = next(g for g in match.groups()[3:] if g is not None)
        selector = selector.replace("X", ".js-plotly-plot .plotly").replace("Y", ".plotly-notifier")
        rules.append(f"{selector}{{{declarations}}}")
    if len(rules) < 20 or not any(".main-svg{position:absolute" in r for r in rules):
        raise RuntimeError("plotly.js style rules were not read completely")
    return "\n".join(rules) + "\n"


_MAPLIBRE = re.compile(
    r'getElementById\("([0-9a-f]{32,64})"\)\)\{var \w+=document\.createElement\("style"\)'
)


@lru_cache(maxsize=2)  # the one plotly.js shipped
def maplibre_style_id(plotly_js: Path) -> str | None:
    """The id plotly.js gives the map styles it would insert at load time; an element
    with that id already on the page makes it skip them (the CSP would block them)."""
    match = _MAPLIBRE.search(plotly_js.read_text(encoding="utf-8"))
    return match.group(1) if match else None
