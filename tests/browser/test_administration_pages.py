"""The pages of issue #5 in a real browser: the respondent-facing ones (an office's public
page, the access-code page, the closed page that names its opening date) fit a 360 px
phone in every language, and every new page, respondent or staff, passes axe-core."""

from __future__ import annotations

from datetime import date

import pytest

from survey.domain import access_codes, periods
from survey.extensions import db
from survey.models import AccessCode, ActionNote, Comment, Office

from ..test_dashboard import add_responses, make_account, office_id
from .conftest import press, sign_in
from .test_accessibility import Audit
from .test_respondent import layout_problems

TODAY = date(2026, 11, 22)
APRIL = date(2026, 4, 1)  # in a half-year that is over, so the public page shows it
CODE = "K7RM-XH4P"


@pytest.fixture(autouse=True)
def today(monkeypatch):
    monkeypatch.setattr(periods, "today_in_norway", lambda: TODAY)


@pytest.fixture
def offices(browsing):
    """bodo with results and a note; tromso answering by code; an office opening later."""
    app = browsing.server.app
    with app.app_context():
        # Answers that vary: a cell where everyone gave the same answer shows no
        # distribution and no mean (the homogeneity rule).
        for rung, index in ((6, 60.0), (3, 40.0), (1, 75.0)):
            add_responses("bodo", APRIL, 10, rung=rung, index=index)
            add_responses("tromso", APRIL, 4, rung=rung, index=index)
        db.session.add(
            ActionNote(
                office_id=office_id("bodo"),
                written_on=TODAY,
                you_said="Dere sa at det var vanskelig å nå veilederen.",
                we_do="Vi setter av faste telefontider hver uke.",
            )
        )
        tromso = db.session.get(Office, office_id("tromso"))
        tromso.codes_required = True
        db.session.add(
            AccessCode(
                code_hash=access_codes.code_hash(
                    access_codes.normalise(CODE), app.config["SECRET_KEY"]
                ),
                office_id=tromso.id,
                batch="venterom",
            )
        )
        db.session.add(
            Office(
                slug="senere",
                name="NAV Senere",
                municipality="Molde",
                county="Møre og Romsdal",
                opens_on=date(2027, 1, 1),
            )
        )
        db.session.add(
            Comment(
                office_id=office_id("bodo"),
                period_start=APRIL,
                questionnaire_version=1,
                language="nb",
                item_code="fritekst",
                body="Kari på kontoret i Bodø ringte meg 3 ganger.",
            )
        )
        make_account("leder", "leder", "bodo")
        make_account("admin", "admin")
        db.session.commit()
    return app


@pytest.mark.parametrize("lang", ["nb", "nn", "en"])
def test_new_respondent_pages_fit_a_phone_and_pass_axe(browsing, offices, lang):
    page = browsing.phone()
    audit, problems = Audit(), []
    page.goto(f"/?lang={lang}")
    for where, path in (
        ("public page", "/k/bodo/resultater"),
        ("public page, too few", "/k/senere/resultater"),
        ("code page", "/k/tromso"),
        ("opens later", "/k/senere"),
    ):
        page.goto(path)
        assert page.locator("html").get_attribute("lang") == lang
        problems += layout_problems(page, f"{lang} {where}")
        audit(page, f"{lang} {where}")
    # The public page draws its figures and the note.
    page.goto("/k/bodo/resultater")
    assert page.locator("main svg").count() >= 1
    assert "telefontider" in page.locator("main").inner_text()
    # A wrong code: the message beside the field, the typed code kept.
    page.goto("/k/tromso")
    page.fill("input[name=code]", "AAAA-AAAA")
    with page.expect_navigation():
        page.locator("main form button[type=submit]").first.click()
    assert page.locator("input[name=code]").input_value() == "AAAA-AAAA"
    assert page.locator("[aria-invalid=true]").count() == 1
    problems += layout_problems(page, f"{lang} code page with an error")
    audit(page, f"{lang} code page with an error")
    # The right code: the questionnaire's first page.
    page.fill("input[name=code]", CODE.lower())
    with page.expect_navigation():
        page.locator("main form button[type=submit]").first.click()
    assert page.locator("input[name=admission]").count() == 1
    assert problems == [], "\n".join(problems)
    audit.check()
    assert browsing.problems.console + browsing.problems.exceptions == []


def test_new_staff_pages_pass_axe(browsing, offices):
    audit = Audit()
    admin = browsing.desktop()
    sign_in(admin, "admin", "/admin/")
    audit(admin, "admin start page")
    for where, path in (
        ("offices", "/admin/kontor"),
        ("new office", "/admin/kontor/ny"),
        ("office", "/admin/kontor/bodo"),
        ("poster", "/admin/kontor/bodo/plakat"),
        ("periods", "/admin/perioder"),
        ("codes overview", "/admin/koder"),
        ("codes", "/admin/kontor/tromso/koder"),
        ("users", "/admin/brukere"),
        ("new user", "/admin/brukere/ny"),
        ("questionnaires", "/admin/sporreskjema"),
        ("questionnaire 1", "/admin/sporreskjema/1"),
        ("moderation", "/admin/moderering"),
        ("audit log filtered", "/admin/revisjon?hvem=admin"),
    ):
        response = admin.goto(path)
        assert response.ok, f"{where}: {response.status}"
        audit(admin, where)
    # The moderation queue marks the name, the place and the number it found.
    admin.goto("/admin/moderering")
    assert admin.locator("mark.risk").count() >= 3
    # A new office from nothing, through the form.
    admin.goto("/admin/kontor/ny")
    admin.fill("#name", "NAV Fauske")
    admin.fill("#municipality", "Fauske")
    admin.fill("#county", "Nordland")
    press(admin, "Opprett kontoret")
    assert "/admin/kontor/" in admin.url
    audit(admin, "the new office")

    leader = browsing.phone()
    sign_in(leader, "leder", "/resultater/kontor/bodo/dette-gjor-vi")
    audit(leader, "leader's notes")
    audit.check()
    assert browsing.problems.console + browsing.problems.exceptions == []


def test_a_code_can_be_used_once_in_the_browser(browsing, offices):
    first, second = browsing.phone(), browsing.phone()
    for page in (first, second):
        page.goto("/k/tromso")
        page.fill("input[name=code]", CODE)
        with page.expect_navigation():
            page.locator("main form button[type=submit]").first.click()
    assert first.locator("input[name=admission]").count() == 1
    assert second.locator("input[name=admission]").count() == 0
    assert second.locator("[aria-invalid=true]").count() == 1
    with browsing.server.app.app_context():
        assert db.session.query(AccessCode).filter_by(used=True).count() == 1
