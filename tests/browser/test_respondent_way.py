"""Issue 13 in a real browser on a phone: office search with Norwegian letters, the error
summary (focus, links, axe), the ladder in each respondent's own order, the thank-you
link's size, and the language links at 200 % text size."""

from __future__ import annotations

import pytest

from survey.extensions import db
from survey.models import Office

from .conftest import press
from .test_accessibility import Audit
from .test_respondent import error_page

STATEMENTS = {"1", "2", "3", "4", "5", "6", "7", "8"}

ACTIVE = """() => {
  const e = document.activeElement;
  return {tag: e.tagName.toLowerCase(), cls: e.className || '', name: e.name || null,
          id: e.id || null};
}"""


def add_aalesund(browsing) -> None:
    with browsing.server.app.app_context():
        db.session.add(Office(slug="alesund", name="NAV Ålesund", municipality="Ålesund"))
        db.session.commit()


@pytest.mark.parametrize("javascript", [True, False])
def test_office_search_finds_norwegian_letters_typed_without_them(browsing, javascript):
    add_aalesund(browsing)
    page = browsing.phone(java_script_enabled=javascript)
    page.goto("/")
    for typed, found, not_found in (
        ("aalesund", "NAV Ålesund", "NAV Bodø"),
        ("Ålesund", "NAV Ålesund", "NAV Tromsø"),
        ("bodo", "NAV Bodø", "NAV Ålesund"),
        ("tromso", "NAV Tromsø", "NAV Bodø"),
    ):
        page.fill("#q", typed)
        press(page, "Søk")
        offices = page.locator(".office-list a").all_inner_texts()
        assert any(found in text for text in offices), (typed, offices)
        assert not any(not_found in text for text in offices), (typed, offices)
    with page.expect_navigation():
        page.get_by_role("link", name="NAV Tromsø").click()
    assert page.url.endswith("/k/tromso")
    assert browsing.problems.all() == []


def test_the_error_summary_takes_focus_and_each_link_moves_to_its_field(browsing):
    page = browsing.phone()
    page.goto("/k/bodo")
    press(page, "Start")
    assert not page.title().startswith("Feil")
    error_page(page)
    assert page.title().startswith("Feil: ")
    summary = page.locator(".error-summary")
    assert summary.is_visible()
    assert "error-summary" in page.evaluate(ACTIVE)["cls"]  # focus is on the summary
    # It is the first thing in the content, above the language buttons and the heading.
    first = page.evaluate("() => document.querySelector('main').firstElementChild.className")
    assert "error-summary" in first
    box, heading = summary.bounding_box(), page.locator("h1").bounding_box()
    assert box["y"] < heading["y"]
    audit = Audit()
    audit(page, "questionnaire page 1 with the error summary")
    audit.check()
    link = summary.locator("a[href='#med_spurt']")
    assert "Velg ett av alternativene." in link.inner_text()
    link.click()
    active = page.evaluate(ACTIVE)
    assert active["tag"] == "input" and active["name"] == "med_spurt", active
    # The message beside the field is still there.
    assert page.locator("#med_spurt-error").is_visible()
    assert browsing.problems.all() == []


def test_without_javascript_the_error_summary_still_comes_first_and_links_work(browsing):
    page = browsing.phone(java_script_enabled=False)
    page.goto("/k/bodo")
    press(page, "Start")
    # Playwright's own evaluate sets two impossible answers; the pages run no script.
    page.evaluate("""() => { for (const name of ['med_spurt', 'med_plan']) {
        const box = document.querySelector(`input[name=${name}]`);
        box.value = '9'; box.checked = true; } }""")
    press(page, "Neste")
    assert page.locator(".error-summary a").count() == 2
    assert page.title().startswith("Feil: ")
    first = page.evaluate("() => document.querySelector('main').firstElementChild.className")
    assert "error-summary" in first
    # ``autofocus`` alone puts the focus on the summary: no script ran.
    assert "error-summary" in page.evaluate(ACTIVE)["cls"]
    page.locator(".error-summary a[href='#med_plan']").click()
    assert page.url.endswith("#med_plan")
    fieldset = page.locator("fieldset#med_plan").bounding_box()
    assert -1 <= fieldset["y"] < page.viewport_size["height"] / 2, fieldset  # scrolled to it
    assert browsing.problems.all() == []


def test_each_respondent_gets_their_own_ladder_order_kept_through_back_and_language(browsing):
    firsts = set()
    page = browsing.phone()
    for _ in range(40):
        page.context.clear_cookies()
        if page.url.startswith("http"):
            # A new respondent: nothing kept in the tab to go on with (js/respond.js).
            page.evaluate("() => sessionStorage.clear()")
        page.goto("/k/bodo")
        press(page, "Start")
        values = page.locator("input[name=med_stige]").evaluate_all("els => els.map(e => e.value)")
        assert set(values[:-1]) == STATEMENTS and values[-1] == "-1"
        firsts.add(values[0])
    assert len(firsts) >= 4  # 40 draws: fewer than 4 different firsts is ~1e-14 likely
    order = page.locator("input[name=med_stige]").evaluate_all("els => els.map(e => e.value)")
    page.locator(
        f"label[for={page.locator('input[name=med_stige]').first.get_attribute('id')}]"
    ).click()
    press(page, "Neste")
    press(page, "Tilbake")
    again = page.locator("input[name=med_stige]").evaluate_all("els => els.map(e => e.value)")
    assert again == order and page.locator("input[name=med_stige]").first.is_checked()
    press(page, "Nynorsk")
    assert page.locator("html").get_attribute("lang") == "nn"
    assert (
        page.locator("input[name=med_stige]").evaluate_all("els => els.map(e => e.value)") == order
    )
    assert page.locator("input[name=med_stige]").first.is_checked()
    page.reload()  # the browser sends the same form again
    assert (
        page.locator("input[name=med_stige]").evaluate_all("els => els.map(e => e.value)") == order
    )
    assert browsing.problems.all() == []


def test_the_thank_you_link_is_at_least_44_px_tall(browsing):
    page = browsing.phone()
    page.goto("/k/bodo/takk")
    box = page.locator(".tap-link a").bounding_box()
    assert box["height"] >= 44, box


@pytest.mark.parametrize("lang", ["nb", "nn", "en"])
def test_language_links_wrap_at_200_percent_text_on_a_360_px_phone(browsing, lang):
    page = browsing.phone()
    for path in (f"/?lang={lang}", f"/k/bodo?lang={lang}", "/personvern", "/k/bodo/takk"):
        page.goto(path)
        # 200 % text size, as a phone's text-size setting sets it: the root font size.
        page.evaluate("() => { document.documentElement.style.fontSize = '200%'; }")
        assert page.evaluate("() => getComputedStyle(document.documentElement).fontSize") == "32px"
        width = page.evaluate("() => document.documentElement.scrollWidth")
        assert width <= 360, (path, width)
        links = page.locator(".languages li").all()
        assert len(links) == 3
        for link in links:
            box = link.bounding_box()
            assert box["x"] >= 0 and box["x"] + box["width"] <= 360.5, (path, box)
