"""Respondent page weight: bytes of every page on the way through a questionnaire (start
page, each questionnaire page, "check your answers", thank-you page), HTML plus the CSS
and JS it links, uncompressed and gzip-compressed (level 6, as a reverse proxy would send it), beside the
HTML of the page's questions alone (each question's fieldset, whitespace collapsed)."""

from __future__ import annotations

import gzip
import re

from .browser import CHECK_PAGE, LAST_PAGE, form, page_number
from .common import Database, Row

LIMIT = 50 * 1024
ASSET = re.compile(r'<link rel="stylesheet" href="([^"]+)"|<script[^>]*src="([^"]+)"')
QUESTION = re.compile(r'<fieldset class="question".*?</fieldset>', re.S)


def kb(size: int) -> str:
    return f"{size / 1024:.1f} KB"


def gz(data: bytes) -> int:
    return len(gzip.compress(data, 6))


def measure(database: Database, size: int) -> list[Row]:
    from sqlalchemy import select

    from survey import create_app
    from survey.extensions import db
    from survey.models import Office

    app = create_app({"SQLALCHEMY_DATABASE_URI": database.url, "RATELIMIT_ENABLED": False})
    with app.app_context():
        slug = db.session.scalars(select(Office.slug).order_by(Office.id)).first()
    client = app.test_client()
    assets: dict[str, bytes] = {}

    def weigh(name: str, html: str) -> Row:
        body = html.encode()
        linked = 0, 0
        for stylesheet, script in ASSET.findall(html):
            path = stylesheet or script
            if path not in assets:
                assets[path] = client.get(path).get_data()
            linked = linked[0] + len(assets[path]), linked[1] + gz(assets[path])
        total, total_gz = len(body) + linked[0], gz(body) + linked[1]
        questions = re.sub(r"\s+", " ", "".join(QUESTION.findall(html))).encode()
        return Row(
            size,
            f"page weight: {name}",
            f"HTML {kb(len(body))}, {kb(gz(body))} gz; with CSS+JS {kb(total)}, {kb(total_gz)} gz",
            f"questions alone: {kb(len(questions))}, {kb(gz(questions))} gz" if questions else "–",
            gz(body) / gz(questions) if questions else None,
            "< 50 KB with CSS+JS, uncompressed; works without JS",
            total < LIMIT,
        )

    rows = []
    html = client.get(f"/k/{slug}").get_data(as_text=True)
    rows.append(weigh("start page", html))
    action, body = form(html, "start")
    html = client.post(
        action, data=body, content_type="application/x-www-form-urlencoded"
    ).get_data(as_text=True)
    while True:
        if CHECK_PAGE in html:
            rows.append(weigh("check your answers", html))
            action, body = form(html, "submit")
            response = client.post(
                action, data=body, content_type="application/x-www-form-urlencoded"
            )
            if response.status_code != 303:
                raise RuntimeError(f"Send inn answered {response.status_code}")
            break
        number = page_number(html)
        if number is None:
            raise RuntimeError("a questionnaire page without its page number")
        rows.append(weigh(f"questionnaire page {number + 1}", html))
        action, body = form(html, "check" if LAST_PAGE in html else "next")
        html = client.post(
            action, data=body, content_type="application/x-www-form-urlencoded"
        ).get_data(as_text=True)
    rows.append(weigh("thank-you page", client.get(f"/k/{slug}/takk").get_data(as_text=True)))
    with app.app_context():
        db.session.remove()
        db.engine.dispose()
    return rows
