"""Issue 13, "nothing lost on a real phone": every gesture in a real browser at 360 px. With
JavaScript the answers are kept as a draft in the tab (js/respond.js) and put back; without
it the form alone still works. On a shared device nothing stays after "Send inn" or after
the idle time. And the check-your-answers page before "Send inn"."""

from __future__ import annotations

import re

import pytest

from ..test_respond import FULL
from .conftest import (
    answer_page,
    assert_answers_shown,
    choose,
    expect_page,
    page_codes,
    page_count,
    press,
    stored_responses,
)
from .test_accessibility import Audit

DRAFT = "() => sessionStorage.getItem('stigen-draft')"
CHECKED = "() => [...document.querySelectorAll('input:checked')].map(e => e.name + '=' + e.value)"
CARRIED = (
    "name => [...document.querySelectorAll(`input[type=hidden][name=${name}]`)].map(e => e.value)"
)
IDLE = 45  # STIGEN_RESPONDENT_IDLE_MINUTES's default, as the pages say


def phone(browsing, javascript=True):
    """A phone that answers every "leave this page?" question with yes, noting each."""
    page = browsing.phone(java_script_enabled=javascript)
    page.asked = []

    def answer(dialog):
        page.asked.append(dialog.type)
        dialog.accept()

    page.on("dialog", answer)
    return page


def first_two_pages(page) -> None:
    page.goto("/k/bodo")
    press(page, "Start")
    answer_page(page, 0, FULL)
    press(page, "Neste")
    expect_page(page, 1)
    answer_page(page, 1, FULL)


def wait_for_draft(page) -> None:
    page.wait_for_function("() => !!sessionStorage.getItem('stigen-draft')")


def test_back_then_next_keeps_what_was_answered_on_the_later_page(browsing):
    page = phone(browsing)
    first_two_pages(page)
    page.go_back()  # the phone's back button: page 1 as the history kept it
    expect_page(page, 0)
    assert_answers_shown(page, 0, FULL)
    # Page 2's answers were never sent, yet page 1 now carries them.
    assert page.evaluate(CARRIED, "sti_navbruker") == [str(FULL["sti_navbruker"])]
    press(page, "Neste")
    expect_page(page, 1)
    assert_answers_shown(page, 1, FULL)
    page.go_back()
    page.go_forward()  # forward again: still there
    expect_page(page, 1)
    assert_answers_shown(page, 1, FULL)
    assert browsing.problems.all() == []


def test_reload_keeps_the_choices_made_on_the_page(browsing):
    page = phone(browsing)
    first_two_pages(page)
    page.reload()  # the browser sends the form of page 1 again; the draft puts page 2 back
    expect_page(page, 1)
    assert_answers_shown(page, 1, FULL)
    press(page, "Tilbake")
    assert_answers_shown(page, 0, FULL)
    assert browsing.problems.all() == []


def test_the_header_link_asks_first_and_back_brings_every_answer_back(browsing):
    page = phone(browsing)
    first_two_pages(page)
    page.wait_for_load_state("networkidle")  # nothing of the page itself still loading
    with page.expect_navigation():
        page.locator(".brand").click()
    assert page.asked == ["beforeunload"]  # "leave the page?" was asked
    assert page.url.endswith("/")
    page.go_back()
    expect_page(page, 1)
    assert_answers_shown(page, 1, FULL)
    press(page, "Tilbake")
    assert_answers_shown(page, 0, FULL)
    assert browsing.problems.all() == []


def test_moving_between_pages_never_asks(browsing):
    page = phone(browsing)
    first_two_pages(page)
    press(page, "Neste")
    press(page, "Tilbake")
    press(page, "Nynorsk")
    assert page.asked == []


@pytest.mark.parametrize("javascript", [True, False])
def test_the_privacy_page_opens_beside_the_form(browsing, javascript):
    page = phone(browsing, javascript)
    first_two_pages(page)
    link = page.locator(".site-footer a")
    assert link.get_attribute("target") == "_blank" and "ny fane" in link.inner_text()
    with page.context.expect_page() as opened:
        link.click()
    privacy = opened.value
    privacy.wait_for_load_state()
    assert privacy.url.endswith("/personvern")
    assert "sessionStorage" in privacy.locator("main").inner_text()
    privacy.close()
    expect_page(page, 1)  # the form stayed where it was, answers in it
    assert_answers_shown(page, 1, FULL)
    assert page.asked == []
    assert browsing.problems.all() == []


def test_the_privacy_page_in_the_same_tab_and_back(browsing):
    page = phone(browsing)
    first_two_pages(page)
    wait_for_draft(page)
    page.goto("/personvern")  # typed, or a link from elsewhere
    assert page.locator("h1").inner_text() == "Slik tar vi vare på anonymiteten din"
    page.go_back()
    expect_page(page, 1)
    assert_answers_shown(page, 1, FULL)
    assert browsing.problems.all() == []


@pytest.mark.parametrize("javascript", [True, False])
def test_the_language_switch_keeps_the_answers_and_the_place(browsing, javascript):
    page = phone(browsing, javascript)
    first_two_pages(page)
    press(page, "Nynorsk")
    expect_page(page, 1, "nn")
    assert_answers_shown(page, 1, FULL)
    assert page.url.endswith("#sprak")  # not the top of the page: the switch itself
    switch = page.locator("#sprak").bounding_box()
    assert 0 <= switch["y"] < 100, switch
    assert page.evaluate("() => window.scrollY") > 0
    press(page, "Tilbake")
    assert_answers_shown(page, 0, FULL)
    assert browsing.problems.all() == []


def test_coming_back_by_the_office_link_offers_to_go_on(browsing):
    page = phone(browsing)
    first_two_pages(page)
    wait_for_draft(page)
    page.goto("/k/bodo")  # the office link again, from the poster or a bookmark
    note = page.locator("#resume-note")
    assert note.is_visible()
    press(page, "Fortsett der du slapp")
    expect_page(page, 1)
    assert_answers_shown(page, 1, FULL)
    press(page, "Tilbake")
    assert_answers_shown(page, 0, FULL)

    # Or throw the draft away: a fresh start with nothing in it.
    page.goto("/k/bodo")
    page.locator("#resume-discard").click()
    page.wait_for_load_state()
    assert not page.locator("#resume-note").is_visible()
    press(page, "Start")
    expect_page(page, 0)
    assert page.evaluate(CHECKED) == []
    assert browsing.problems.all() == []


def test_switching_apps_for_half_an_hour_loses_nothing(browsing):
    page = phone(browsing)
    page.clock.install()
    first_two_pages(page)
    page.clock.fast_forward(f"{IDLE - 15}:00")
    page.evaluate("() => document.dispatchEvent(new Event('visibilitychange'))")
    expect_page(page, 1)
    assert_answers_shown(page, 1, FULL)
    assert page.evaluate(DRAFT) is not None


def test_after_the_idle_time_the_form_is_cleared(browsing):
    page = phone(browsing)
    page.clock.install()
    first_two_pages(page)
    wait_for_draft(page)
    with page.expect_navigation():
        page.clock.fast_forward(f"{IDLE + 1}:00")
    assert re.search(r"/k/bodo\?tomt=1$", page.url), page.url
    assert f"{IDLE} minutter" in page.locator(".notice").first.inner_text()
    assert page.evaluate(DRAFT) is None
    assert page.evaluate(CHECKED) == []
    # The next person presses back: the questionnaire's answers do not come back.
    page.go_back()
    page.wait_for_url(re.compile(r"/k/bodo(\?tomt=1)?$"))
    page.wait_for_load_state()
    assert page.evaluate(CHECKED) == []
    assert page.locator("input[type=hidden][name=sti_navbruker]").count() == 0
    assert browsing.problems.all() == []


# --- check your answers, then Send inn ---------------------------------------------------


def walk_to_check(page) -> None:
    page.goto("/k/bodo")
    press(page, "Start")
    last = page_count() - 1
    for index in range(last + 1):
        expect_page(page, index)
        answer_page(page, index, FULL)
        press(page, "Se over svarene" if index == last else "Neste")
    assert page.locator("h1").inner_text() == "Se over svarene før du sender"


def summary_answer(page, code: str) -> str:
    row = page.locator(".summary-row").filter(has=page.locator(f"button[formaction$='#{code}']"))
    return row.locator(".summary-answer").inner_text().strip()


@pytest.mark.parametrize("javascript", [True, False])
def test_check_your_answers_then_change_one_then_send(browsing, javascript):
    page = phone(browsing, javascript)
    walk_to_check(page)
    if javascript:  # axe runs as a script in the page
        audit = Audit()
        audit(page, "check your answers")
        audit.check()
    assert page.evaluate("() => document.documentElement.scrollWidth") <= 360
    assert summary_answer(page, "med_spurt") == "Helt enig"
    assert summary_answer(page, "sti_tiltak") == "Vet ikke / vil ikke svare"
    assert summary_answer(page, "hel_fritekst") == FULL["hel_fritekst"]
    assert "Avklaring" in summary_answer(page, "tilt_deltatt")
    # Every item is listed, each with its own change button.
    assert page.locator(".summary-row").count() == sum(
        len(page_codes(i)) for i in range(page_count())
    )

    # Change the answer on page 2: its page opens at the field.
    with page.expect_navigation():
        page.locator("button[formaction$='#sti_rundt']").click()
    expect_page(page, 1)
    assert page.url.endswith("#sti_rundt")
    choose(page, "sti_rundt", 5)
    press(page, "Tilbake til oppsummeringen")
    assert summary_answer(page, "sti_rundt") == "Helt enig"
    press(page, "Send inn")
    assert page.url.endswith("/k/bodo/takk")
    responses, comments = stored_responses(browsing.server.app)
    assert len(responses) == 1 and responses[0][0]["sti_rundt"] == 5
    assert comments == [FULL["hel_fritekst"]]
    assert page.asked == []
    assert browsing.problems.all() == []


def test_after_send_nothing_of_the_answers_is_left_in_the_tab(browsing):
    page = phone(browsing)
    walk_to_check(page)
    assert page.evaluate(DRAFT) is not None
    press(page, "Send inn")
    assert page.url.endswith("/k/bodo/takk")
    page.wait_for_function("() => sessionStorage.getItem('stigen-draft') === null")
    # The next person on the tablet presses back: the answers are not shown again.
    page.go_back()
    page.wait_for_url(re.compile(r"/k/bodo$"))
    page.wait_for_load_state()
    assert page.evaluate(CHECKED) == []
    assert page.locator(".summary-row").count() == 0
    assert page.evaluate(DRAFT) is None
    # And the office link gives a fresh start, offering nothing to go on with.
    page.goto("/k/bodo")
    assert not page.locator("#resume-note").is_visible()
    responses, _ = stored_responses(browsing.server.app)
    assert len(responses) == 1
