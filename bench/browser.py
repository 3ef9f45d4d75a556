"""A lean respondent: reads each questionnaire page's real form (hidden fields, the options
it offers) with a few regular expressions, cheaper than an HTML parser so that the client
takes as little of the machine's two cores as it can, and answers every question shown."""

from __future__ import annotations

import re
from html import unescape
from urllib.parse import urlencode

FORM = re.compile(r'<form method="post" action="([^"]+)"')
FIELD = re.compile(r"<(input|textarea)\b([^>]*)>")
ATTRIBUTE = re.compile(r'([\w:-]+)(?:="([^"]*)")?')
PAGE = re.compile(r'<input type="hidden" name="page" value="(\d+)"')
TEXT = "Bra oppfølging, takk."
# The last questionnaire page's button leads to "check your answers", whose button is
# Send inn.
LAST_PAGE = 'name="nav" value="check" class="button"'
CHECK_PAGE = 'name="nav" value="submit" class="button"'


class FormError(Exception):
    """The page was not the one a respondent expects."""


def form(html: str, nav: str) -> tuple[str, bytes]:
    """The form's action and the body a browser sends when ``nav`` is pressed, with every
    question on the page answered: the middle option of a scale, the first of a
    multi-choice, a short free text."""
    found = FORM.search(html)
    if not found:
        raise FormError("no form on the page")
    pairs, choices = [], {}
    for tag, attributes in FIELD.findall(html):
        attrs = {name: unescape(value) for name, value in ATTRIBUTE.findall(attributes)}
        name, kind = attrs.get("name"), attrs.get("type")
        if not name or name == "nav":
            continue
        if tag == "textarea":
            pairs.append((name, TEXT))
        elif kind == "hidden":
            pairs.append((name, attrs.get("value", "")))
        elif kind in ("radio", "checkbox"):
            choices.setdefault(name, (kind, []))[1].append(attrs.get("value", "on"))
    for name, (kind, values) in choices.items():
        pairs.append((name, values[len(values) // 2] if kind == "radio" else values[0]))
    pairs.append(("nav", nav))
    return unescape(found.group(1)), urlencode(pairs).encode()


def page_number(html: str) -> int | None:
    found = PAGE.search(html)
    return int(found.group(1)) if found else None


def walk(request, slug: str) -> int:
    """One whole questionnaire through ``request(method, path, body) -> (status, headers,
    html)``: the start page, Start, every page answered, Send inn, the thank-you page.
    Returns the number of requests; raises FormError when a page is not as expected."""
    status, _, html = request("GET", f"/k/{slug}", None)
    if status != 200:
        raise FormError(f"start page: status {status}")
    action, body = form(html, "start")
    status, _, html = request("POST", action, body)
    count, expected = 2, 0
    while True:
        if status != 200 or "notice-error" in html:
            raise FormError(f"page {expected}: status {status}")
        if CHECK_PAGE in html:  # "Check your answers": Send inn
            action, body = form(html, "submit")
            status, headers, html = request("POST", action, body)
            count += 1
            break
        if page_number(html) != expected:
            raise FormError(f"page {expected}: page {page_number(html)}")
        action, body = form(html, "check" if LAST_PAGE in html else "next")
        status, headers, html = request("POST", action, body)
        count += 1
        expected += 1
    if status != 303:
        raise FormError(f"Send inn: status {status}")
    status, _, _ = request("GET", f"/k/{slug}/takk", None)
    if status != 200:
        raise FormError(f"thank-you page: status {status}")
    return count + 1
