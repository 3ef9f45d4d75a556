"""A browser's view of a form: parse the page's POST form from the real HTML and submit
it as a browser would (hidden inputs, checked options, textareas, the pressed button)."""

from __future__ import annotations

import re
from html.parser import HTMLParser

from werkzeug.datastructures import MultiDict


class _FormParser(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.action = None
        self.fields: list[dict] = []
        self._in_form = False
        self._textarea = None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "form" and attrs.get("method", "get").lower() == "post":
            self._in_form = True
            self.action = attrs.get("action")
        elif self._in_form and tag in ("input", "button"):
            self.fields.append({"tag": tag, **attrs})
        elif self._in_form and tag == "textarea":
            self._textarea = {"tag": "textarea", "value": "", **attrs}
            self.fields.append(self._textarea)

    def handle_data(self, data):
        if self._textarea is not None:
            self._textarea["value"] += data

    def handle_endtag(self, tag):
        if tag == "textarea":
            self._textarea = None
        elif tag == "form":
            self._in_form = False


class Page:
    """A rendered page with its POST form."""

    def __init__(self, response):
        self.response = response
        self.status = response.status_code
        self.html = response.get_data(as_text=True)
        parser = _FormParser()
        parser.feed(self.html)
        self.action = parser.action
        self.fields = parser.fields

    def values(self) -> MultiDict:
        """What the browser would send before any change: hidden, checked and typed values."""
        data = MultiDict()
        for f in self.fields:
            kind = f.get("type", "text")
            if f["tag"] == "textarea":
                data.add(f["name"], f["value"].lstrip("\n"))
            elif f["tag"] == "input" and kind in ("radio", "checkbox"):
                if "checked" in f:
                    data.add(f["name"], f.get("value", "on"))
            elif f["tag"] == "input" and "name" in f:
                data.add(f["name"], f.get("value", ""))
        return data

    def visible_items(self) -> list[str]:
        """Item codes shown as questions on this page."""
        names = []
        for f in self.fields:
            visible = f.get("type") in ("radio", "checkbox") or f["tag"] == "textarea"
            if visible and f["name"] not in names:
                names.append(f["name"])
        return names

    def hidden(self, name: str) -> list[str]:
        return [
            f.get("value", "")
            for f in self.fields
            if f["tag"] == "input" and f.get("type") == "hidden" and f.get("name") == name
        ]

    def checked(self, name: str) -> list[str]:
        return [
            f["value"]
            for f in self.fields
            if f.get("name") == name and "checked" in f and f.get("type") in ("radio", "checkbox")
        ]

    def error_for(self, name: str) -> str | None:
        match = re.search(rf'id="{re.escape(name)}-error">(.*?)</p>', self.html, re.S)
        if not match:
            return None
        shown = re.sub(r'<span class="visually-hidden">.*?</span>', "", match.group(1))
        return re.sub(r"<[^>]+>", "", shown).strip()

    def submit(
        self, client, button: tuple[str, str] = ("nav", "next"), answers=None, drop=(), **kwargs
    ) -> Page:
        """Press ``button`` after setting ``answers`` (code -> value, list, or None to
        clear) and dropping the named fields (as a tampering client might)."""
        data = self.values()
        for name in drop:
            data.poplist(name)
        for code, value in (answers or {}).items():
            data.poplist(code)
            for v in value if isinstance(value, list) else ([] if value is None else [value]):
                data.add(code, str(v))
        data.add(*button)
        return Page(client.post(self.action, data=data, **kwargs))


def start(client, slug: str = "bodo", **kwargs) -> Page:
    """Open the office's start page and press Start: the first questionnaire page."""
    page = Page(client.get(f"/k/{slug}", **kwargs))
    assert page.status == 200, page.html
    return page.submit(client, ("nav", "start"), **kwargs)


def every_choice(page: Page) -> dict[str, str]:
    """An answer to every single-choice question on ``page`` (the ladder, the agreement
    items, the other radio groups): its first option that is not "vet ikke". Enough for
    a submission to count as a response (``scoring.counts_as_response``) once every page
    with scored items has been answered this way."""
    chosen: dict[str, str] = {}
    for f in page.fields:
        if f.get("type") == "radio" and f.get("value") != "-1":
            chosen.setdefault(f["name"], f["value"])
    return chosen


def settle(app) -> int:
    """Let the mixer move every waiting submission into the counted tables, as a release
    or the nightly ``flask mix --all`` does (survey.mixer); returns how many it moved."""
    from survey import mixer

    mixer.drain(app)  # whatever the worker's mixing thread was handed, mixed first
    with app.app_context():
        return mixer.flush()
