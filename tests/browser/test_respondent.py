"""The respondent's way through in a real browser on a phone: by tapping, without
JavaScript, and by keyboard alone; and every respondent page fits 360 px with big
enough tap targets."""

from __future__ import annotations

import pytest

from ..test_respond import FULL
from .conftest import (
    answer_page,
    assert_answers_shown,
    expect_page,
    page_codes,
    page_count,
    press,
    stored_responses,
)

STORED = {code: value for code, value in FULL.items() if code != "hel_fritekst"}


def walk_with_back_and_nynorsk(page) -> None:
    """Answer every page in bokmål, go back once, switch to nynorsk after page 3 and
    check every earlier answer on the way back, then send."""
    last = page_count() - 1
    page.goto("/k/bodo")
    press(page, "Start")
    for index in range(3):
        expect_page(page, index, "nb")
        answer_page(page, index, FULL)
        press(page, "Neste")
    expect_page(page, 3, "nb")

    # Back from page 4 to page 3: its answers are still checked, then forward again.
    answer_page(page, 3, FULL)
    press(page, "Tilbake")
    expect_page(page, 2, "nb")
    assert_answers_shown(page, 2, FULL)
    press(page, "Neste")
    expect_page(page, 3, "nb")
    assert_answers_shown(page, 3, FULL)

    # Nynorsk half-way: the same page, in nynorsk, nothing lost.
    press(page, "Nynorsk")
    expect_page(page, 3, "nn")
    assert_answers_shown(page, 3, FULL)
    for index in (2, 1, 0):
        press(page, "Tilbake")
        expect_page(page, index, "nn")
        assert_answers_shown(page, index, FULL)
    for index in (1, 2, 3):
        press(page, "Neste")
        expect_page(page, index, "nn")
        assert_answers_shown(page, index, FULL)

    for index in range(4, last + 1):
        press(page, "Neste")
        expect_page(page, index, "nn")
        answer_page(page, index, FULL)
    press(page, "Sjå over svara")  # the check-your-answers page, then Send inn
    assert page.locator("h1").inner_text() == "Sjå over svara før du sender"
    press(page, "Send inn")
    assert page.url.endswith("/k/bodo/takk")
    assert page.locator("html").get_attribute("lang") == "nn"
    assert page.locator("h1").inner_text() == "Takk for at du svara!"


def assert_stored_once_in_nynorsk(app) -> None:
    responses, comments = stored_responses(app)
    assert len(responses) == 1, responses
    answers, language, rung = responses[0]
    assert answers == STORED
    assert language == "nn" and rung == 6
    assert comments == [FULL["hel_fritekst"]]


def test_whole_questionnaire_by_tapping_with_back_and_nynorsk_half_way(browsing):
    page = browsing.phone()
    walk_with_back_and_nynorsk(page)
    assert_stored_once_in_nynorsk(browsing.server.app)
    assert browsing.problems.all() == []


def test_whole_questionnaire_without_javascript(browsing):
    page = browsing.phone(java_script_enabled=False)
    walk_with_back_and_nynorsk(page)
    assert_stored_once_in_nynorsk(browsing.server.app)
    assert browsing.problems.all() == []


# --- keyboard only -------------------------------------------------------------------

FOCUSED = """() => {
  const e = document.activeElement;
  return {tag: e.tagName.toLowerCase(), type: e.getAttribute('type'), name: e.name || null,
          value: e.value === undefined ? null : e.value, checked: !!e.checked,
          text: (e.innerText || '').trim(), id: e.id || null};
}"""


def focused(page) -> dict:
    return page.evaluate(FOCUSED)


def radio_values(page, code: str) -> list[str]:
    return page.eval_on_selector_all(f'input[name="{code}"]', "els => els.map(e => e.value)")


def keyboard_page(page, index: int, answers: dict, *, submit_with: str = "button") -> None:
    """Work one questionnaire page with the keyboard: Tab from the top, Space and the arrow
    keys in the options, typing in the text box, Enter on Neste / Send inn (or, with
    ``submit_with="enter-in-radio"``, Enter inside the last group: the form's default
    button must move forward)."""
    wanted = {code: answers[code] for code in page_codes(index) if code in answers}
    done: set[str] = set()
    for _ in range(150):
        page.keyboard.press("Tab")
        now = focused(page)
        code = now["name"]
        if now["type"] == "radio" and code in wanted and code not in done:
            values = radio_values(page, code)
            if not now["checked"]:
                page.keyboard.press("Space")
            steps = values.index(str(wanted[code])) - values.index(now["value"])
            for _step in range(abs(steps)):
                page.keyboard.press("ArrowDown" if steps > 0 else "ArrowUp")
            after = focused(page)
            assert after["name"] == code and after["checked"]
            assert after["value"] == str(wanted[code]), (code, after)
            done.add(code)
            if submit_with == "enter-in-radio" and done == set(wanted):
                with page.expect_navigation():
                    page.keyboard.press("Enter")
                return
        elif now["type"] == "checkbox" and code in wanted:
            if (now["value"] in wanted[code]) != now["checked"]:
                page.keyboard.press("Space")
            assert focused(page)["checked"] == (now["value"] in wanted[code])
            if now["value"] == radio_values(page, code)[-1]:
                done.add(code)
        elif now["tag"] == "textarea" and code in wanted:
            page.keyboard.type(wanted[code])
            done.add(code)
        elif now["tag"] == "button" and now["text"] in ("Neste", "Se over svarene"):
            assert done == set(wanted), (index, set(wanted) - done)
            if now["text"] == "Se over svarene":
                # A look back with Shift+Tab lands on the last answer, then on again.
                page.keyboard.press("Shift+Tab")
                back = focused(page)
                assert back["name"] == page_codes(index)[-1] and back["checked"], back
                page.keyboard.press("Tab")
                assert focused(page)["text"] == "Se over svarene"
            with page.expect_navigation():
                page.keyboard.press("Enter")
            return
    raise AssertionError(f"page {index + 1}: never reached the button; done {done}")


def test_whole_questionnaire_with_the_keyboard_only(browsing):
    page = browsing.phone()
    page.goto("/k/bodo")
    # The skip link is the first stop and moves focus to the content.
    page.keyboard.press("Tab")
    assert focused(page)["text"] == "Hopp til innholdet"
    page.keyboard.press("Enter")
    assert focused(page)["id"] == "main"
    for _ in range(30):
        page.keyboard.press("Tab")
        if focused(page)["text"] == "Start":
            break
    else:
        raise AssertionError("the Start button cannot be reached with Tab")
    with page.expect_navigation():
        page.keyboard.press("Enter")

    last = page_count() - 1
    for index in range(last + 1):
        expect_page(page, index, "nb")
        keyboard_page(page, index, FULL, submit_with="enter-in-radio" if index == 1 else "button")
    # The check-your-answers page: Tab on to "Send inn" and press Enter.
    assert page.locator("h1").inner_text() == "Se over svarene før du sender"
    for _ in range(200):
        page.keyboard.press("Tab")
        if focused(page)["text"] == "Send inn":
            break
    else:
        raise AssertionError("Send inn cannot be reached with Tab on the check page")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert page.url.endswith("/k/bodo/takk")
    responses, comments = stored_responses(browsing.server.app)
    assert [(answers, language) for answers, language, _rung in responses] == [(STORED, "nb")]
    assert comments == [FULL["hel_fritekst"]]
    assert browsing.problems.all() == []


# --- 360 px: no sideways scrolling, tap targets of at least 44 px ------------------------

TAP_TARGETS = ".option label, button:not(.visually-hidden)"


MEASURE = """selector => {
  const root = document.documentElement;
  const wide = root.scrollWidth <= 360 ? [] : [...document.querySelectorAll('body *')]
    .filter(e => e.getBoundingClientRect().right > 360.5)
    .slice(0, 5).map(e => e.tagName.toLowerCase() + (e.id ? '#' + e.id : '')
      + (typeof e.className === 'string' && e.className ? '.' + e.className : ''));
  const small = [...document.querySelectorAll(selector)]
    .map(e => [e.innerText.trim().slice(0, 40), e.getBoundingClientRect()])
    .filter(([, box]) => box.width > 0 && box.height < 44)
    .map(([text, box]) => `${JSON.stringify(text)} is ${box.height.toFixed(1)} px high`);
  return {width: root.scrollWidth, wide, small};
}"""


def layout_problems(page, where: str) -> list[str]:
    """Sideways scrolling at 360 px, and tap targets under 44 px (each target's bounding
    box, measured in one round trip)."""
    found = page.evaluate(MEASURE, TAP_TARGETS)
    problems = [f"{where}: {small}" for small in found["small"]]
    if found["width"] > 360:
        problems.append(f"{where}: scrollWidth {found['width']} > 360 ({', '.join(found['wide'])})")
    return problems


def error_page(page) -> None:
    """From the first questionnaire page, send an impossible answer: the page comes back
    with a message beside the field."""
    page.evaluate("""() => {
        const box = document.querySelector('input[name=med_spurt]');
        box.value = '9'; box.checked = true;
    }""")
    with page.expect_navigation():
        page.locator(".nav-buttons button[value=next]").click()
    assert page.locator("#med_spurt-error").is_visible()


@pytest.mark.parametrize("lang", ["nb", "nn", "en"])
def test_every_respondent_page_fits_a_phone(browsing, lang):
    page = browsing.phone()
    problems = []
    page.goto(f"/?lang={lang}")
    for path in (
        "/",
        "/?q=zzz",
        "/k/bodo",
        "/k/bodo/takk",
        "/personvern",
        "/k/finnes-ikke",
        "/k/stengt",
    ):
        page.goto(path)
        problems += layout_problems(page, f"{lang} {path}")
    page.goto("/k/bodo")
    with page.expect_navigation():
        page.locator("button[value=start]").click()
    for index in range(page_count()):
        problems += layout_problems(page, f"{lang} questionnaire page {index + 1}")
        if index == 0:
            error_page(page)
            problems += layout_problems(page, f"{lang} questionnaire page 1 with an error")
            page.locator("input[name=med_spurt]").first.check()
        if index < page_count() - 1:
            with page.expect_navigation():
                page.locator(".nav-buttons button[value=next]").click()
    assert problems == [], "\n".join(problems)
