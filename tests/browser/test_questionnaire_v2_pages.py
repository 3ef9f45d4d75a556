"""Questionnaire version 2 on a 360 px phone (issue 13): no page is longer than about two
screens, in any language, and the programme pages come only after one says one took
part. Version 1's pages were 1,472–4,049 px tall."""

from __future__ import annotations

import pytest

from survey import versions
from survey.extensions import db
from survey.questionnaire import get

from .conftest import press

V2 = get(2)
# About two screens of a 360 × 780 phone. The pages were made to fit 1,500 px; the margin
# keeps a font that renders a pixel taller somewhere from failing a page that still fits.
MAX_HEIGHT = 1_560
NEXT = "button.button[name=nav][value=next]"


def make_v2_live(app) -> None:
    with app.app_context():
        versions.make_live(2, "shell")
        db.session.commit()


def walk(page, lang: str, programme: str) -> list[tuple[str, int]]:
    """Every page of version 2 from the first to the last, answering only the programme
    question; returns (title, height in px) per page."""
    page.goto("/k/bodo")
    press(page, "Start")
    if lang != "nb":
        with page.expect_navigation():
            page.locator(f"button[name=lang][value={lang}]").click()
    heights = []
    for _ in range(len(V2.pages) + 1):
        heights.append(
            (
                page.locator("h1").inner_text(),
                page.evaluate("document.documentElement.scrollHeight"),
            )
        )
        box = page.locator(f'input[type=checkbox][name="tilt_deltatt"][value="{programme}"]')
        if box.count():
            page.locator(f'label[for="{box.get_attribute("id")}"]').click()
            assert box.is_checked()
        if not page.locator(NEXT).count():
            return heights
        with page.expect_navigation():
            page.locator(NEXT).click()
    raise AssertionError("never reached the last page")


@pytest.mark.parametrize("lang", ["nb", "nn", "en"])
def test_every_v2_page_fits_about_two_phone_screens(browsing, lang):
    make_v2_live(browsing.server.app)
    page = browsing.phone()
    heights = walk(page, lang, "kurs")
    titles = [title for title, _ in heights]
    assert titles == [p.title(lang) for p in V2.pages]  # every page, the programme ones too
    too_tall = [(title, height) for title, height in heights if height > MAX_HEIGHT]
    assert too_tall == [], too_tall
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
    assert browsing.problems.all() == []


@pytest.mark.parametrize("java_script", [False, True], ids=["without-js", "with-js"])
def test_without_a_programme_the_programme_pages_never_show(browsing, java_script):
    make_v2_live(browsing.server.app)
    page = browsing.phone(java_script_enabled=java_script)
    titles = [title for title, _ in walk(page, "nb", "ingen")]
    skipped = [p.title("nb") for p in V2.pages if p.show_if is not None]
    assert skipped and not set(skipped) & set(titles)
    assert titles[-1] == V2.pages[-1].title("nb")
    assert browsing.problems.all() == []
