"""Routes of the respondent side."""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass

from flask import current_app, g, redirect, render_template, request, session, url_for
from flask_babel import get_locale, refresh
from flask_babel import gettext as _
from flask_wtf.csrf import validate_csrf
from sqlalchemy import select, update
from sqlalchemy.exc import SQLAlchemyError
from wtforms.validators import ValidationError

from .. import versions
from ..domain import access_codes
from ..domain.periods import today_in_norway
from ..domain.scoring import answers_needed, counts_as_response, scored_answers, scored_items
from ..errors import error_page
from ..extensions import csrf, db, limiter
from ..models import AccessCode, Office
from ..office_lookup import matching, office_or_404
from ..whole_numbers import whole_number
from . import bp, service
from .forms import CodeForm, answer_form, answers_of, given_answers, posted_data, stored_answers

NONCE_RE = re.compile(r"^[0-9a-f]{32}$")


def live_questionnaire(version: str | None = None):
    """The version the respondent started on if it still accepts answers (the live one,
    or the one live before it, for a day: ``versions.accepting``), so that a version made
    live meanwhile does not change their questionnaire; else the live one."""
    available, live, accepting = versions.for_respondent()
    number = whole_number(version)
    return available[number if number in accepting and number in available else live]


def _too_few_notice(questionnaire, answers: dict) -> str:
    """Why a submission was not stored (``scoring.counts_as_response``), in plain words."""
    return _(
        "Svaret ditt er ikke sendt ennå. For at det skal telle, må du svare på minst "
        "%(needed)d av de %(total)d spørsmålene om oppfølgingen (stigen og påstandene "
        "du kan være enig eller uenig i). Du har svart på %(answered)d. «Vet ikke» "
        "regnes ikke som svar. Du kan fortsatt hoppe over hvilket som helst enkelt "
        "spørsmål. Svarene dine er tatt vare på.",
        needed=answers_needed(questionnaire),
        total=len(scored_items(questionnaire)),
        answered=scored_answers(questionnaire, answers),
    )


# --- The pages, each drawn in one place ----------------------------------------------------


def _closed_page(office: Office, today):
    """The office does not take answers (closed, or not yet open): said plainly."""
    return render_template("respond/closed.html", office=office, today=today), 200


def _start_page(office: Office, nonce: str | None = None, status: int = 200, **extra):
    """The start page: what is collected, who sees what, and Start (``extra``: the code
    form of a code-only office)."""
    questionnaire = live_questionnaire()
    return render_template(
        "respond/start.html",
        office=office,
        questionnaire=questionnaire,
        form=answer_form(questionnaire, str(get_locale()), formdata=None),
        nonce=nonce or secrets.token_hex(16),
        **extra,
    ), status


def _questionnaire_page(
    office: Office, questionnaire, form, page: int, nonce: str, status: int = 200, **extra
):
    """One page of the questionnaire, every other answer in its hidden fields (``extra``:
    notice, show_errors, admission, back_to_start, reviewing, given)."""
    return render_template(
        "respond/page.html",
        office=office,
        form=form,
        questionnaire=questionnaire,
        page_index=page,
        page=questionnaire.pages[page],
        last_page=len(questionnaire.pages) - 1,
        nonce=nonce,
        **{"notice": None, "show_errors": False, "admission": None, **extra},
    ), status


@bp.get("/")
def front():
    """Front page: pick your office if you came without an office link (search without JS)."""
    query = request.args.get("q", "").replace("\x00", "").strip()[:100]
    offices = db.session.scalars(
        select(Office).where(Office.active.is_(True)).order_by(Office.name)
    ).all()
    if query:
        # Matched in Python (offices.matching), so "aalesund", "bodo" and "ÅLESUND" find
        # the same offices on SQLite as on PostgreSQL.
        offices = matching(query, offices)
    return render_template("respond/front.html", offices=offices, query=query)


@bp.get("/k/<slug>")
def start(slug: str):
    """Start page: what is collected, that it is anonymous and voluntary, who sees what."""
    office = office_or_404(slug)
    if not office.is_open_on(today_in_norway()):
        return _closed_page(office, today_in_norway())
    if office.codes_required:
        return code_page(office)
    return _start_page(office)


@bp.get("/k/<slug>/svar")
def questionnaire_get(slug: str):
    """The questionnaire is reached through the start page's button."""
    return redirect(url_for("respond.start", slug=slug))


def _page_limit() -> str:
    return current_app.config["STIGEN_PAGE_LIMIT"]


def _submit_limit() -> str:
    return current_app.config["STIGEN_SUBMIT_LIMIT"]


def _is_submission() -> bool:
    return request.form.get("nav") == "submit"


def _questionnaire_limit() -> str:
    """A questionnaire request counts against one limit: Send inn against the submissions'
    (the stricter), every other page against the pages'. One check per request, not two."""
    return _submit_limit() if _is_submission() else _page_limit()


def _questionnaire_scope(endpoint: str) -> str:
    return "questionnaire-submissions" if _is_submission() else "questionnaire-pages"


@bp.post("/k/<slug>/svar")
@csrf.exempt  # the form checks its own token, so an expired one costs no answers
@limiter.limit(_questionnaire_limit, scope=_questionnaire_scope)
def questionnaire_post(slug: str):
    """One questionnaire page: validate, move on or back, switch language, or submit."""
    if (sent := _sent_as_is(slug)) is not None:
        return sent
    try:
        office = office_or_404(slug)
    except SQLAlchemyError:
        # The database is away: the answers are all in this form, so give the page back.
        db.session.rollback()
        return _page_without_database(slug)
    today = today_in_norway()
    if not office.takes_answers_on(today):
        # Closed while they answered, longer ago than the grace: say so rather than fail.
        return _closed_page(office, today)
    questionnaire = live_questionnaire(request.form.get("v"))
    # The form names a version that no longer (or never) accepts answers (next_step).
    switched = "v" in request.form and whole_number(request.form["v"]) != questionnaire.version
    page = _page_number(request.form.get("page"), len(questionnaire.pages) - 1)
    nonce = request.form.get("nonce", "")
    if not NONCE_RE.match(nonce):
        nonce = secrets.token_hex(16)
    admission = None
    if office.codes_required:
        admission = request.form.get("admission", "")
        if not access_codes.admits(current_app.config["SECRET_KEY"], admission, office.id, nonce):
            # No code was used for this form (or its admission was forged or is too old):
            # nothing is stored, and the respondent is asked for a code.
            return code_page(office, notice=_("Skriv inn koden din for å starte."))
    if request.form.get("lang") in current_app.config["LANGUAGES"]:
        refresh()  # the locale selector has stored the new language in the session

    form = answer_form(questionnaire, str(get_locale()))
    form.validate()
    step = next_step(questionnaire, form, request.form, page, switched)
    status, notice = 200, step.notice
    if step.submit:
        answers, texts = answers_of(form, questionnaire)
        row = service.submission_row(questionnaire, answers, texts, nonce, str(get_locale()), today)
        if service.save(office, row):
            session.pop(ADMISSION_KEY, None)  # a code-only office: this admission is spent
            # ``slug`` is the office's (found by it): office.slug would be read again
            # from the database, the commit having expired it.
            return redirect(url_for("respond.thanks", slug=slug), code=303)
        status = 503
        notice = _(
            "Vi klarte ikke å lagre svarene akkurat nå, og ingenting er lagret. "
            "Svarene dine står fortsatt i skjemaet: prøv å sende igjen om litt."
        )
    if step.show_check:
        return render_template(
            "respond/check.html",
            office=office,
            form=form,
            questionnaire=questionnaire,
            last_page=len(questionnaire.pages) - 1,
            nonce=nonce,
            notice=notice,
            admission=admission,
            visible=[
                item.code
                for item in questionnaire.items
                if questionnaire.asked(item.code, answers_of(form, questionnaire)[0])
            ],
        ), status
    # Check your answers: the form came from that page (``check``), or from a page its
    # "change" button opened (``review``, which offers the way back to it).
    reviewing = request.form.get("check") == "1" or request.form.get("review") == "1"
    return _questionnaire_page(
        office,
        questionnaire,
        form,
        step.page,
        nonce,
        status,
        notice=notice,
        show_errors=step.show_errors,
        admission=admission,
        back_to_start=step.back_to_start,
        reviewing=reviewing and not switched,
        given=given_answers(form, questionnaire),
    )


@dataclass(frozen=True)
class Step:
    """Where a questionnaire request leads (``next_step``): the page to show and how, the
    check page, or storing the answers."""

    page: int
    notice: str | None = None
    show_errors: bool = True
    back_to_start: bool = False
    show_check: bool = False
    submit: bool = False


def next_step(questionnaire, form, posted, page: int, switched: bool) -> Step:
    """What the button pressed (``posted["nav"]``) on ``page`` leads to, given the
    validated ``form``: nothing is stored here."""
    nav = posted.get("nav", "next")
    last_page = len(questionnaire.pages) - 1
    switching_language = posted.get("lang") in current_app.config["LANGUAGES"]
    on_check = posted.get("check") == "1"
    goto = re.fullmatch(r"goto-(\d{1,3})", nav)
    wrong = [code for code in form.errors if code != "csrf_token"]
    if switched:
        # The form names a version that no longer accepts answers: the first page of
        # the live one, with the answers to the items it shares.
        return Step(
            0,
            show_errors=False,
            notice=_(
                "Spørreskjemaet er byttet ut med en ny versjon mens du svarte. Svarene dine på "
                "spørsmålene som er med i den nye versjonen, er tatt vare på. Se over svarene, "
                "og send inn når du er klar."
            ),
        )
    if switching_language or nav in ("start", "resume"):
        # "resume": the start page's "go on where you left off" (js/respond.js put the
        # draft kept in the tab into its form): the page the respondent was on.
        return Step(
            0 if nav == "start" else page,
            show_errors=False,
            show_check=on_check and switching_language,
        )
    if form.csrf_token.errors:
        # Nothing of the answers is lost: the same page comes back with a fresh token.
        return Step(
            page,
            show_check=on_check,
            notice=_(
                "Siden var åpen lenge, så vi må be deg trykke en gang til. "
                "Svarene dine er tatt vare på."
            ),
        )
    if goto:
        # A "change" button of the check page: that page, its field in view (#code).
        return Step(min(int(goto[1]), last_page), show_errors=False)
    if nav == "back":
        # The page before that is shown: branching (``show_if``) may skip some.
        return Step(
            questionnaire.next_page(page, given_answers(form, questionnaire), -1), show_errors=False
        )
    if wrong:
        pages_wrong = sorted({questionnaire.page_of(code) for code in wrong})
        return Step(
            page if page in pages_wrong else pages_wrong[0],
            notice=_("Noe må rettes før du kan gå videre. Se merknaden ved spørsmålet."),
        )
    if nav == "check" or (nav == "submit" and page == last_page):
        given = answers_of(form, questionnaire)[0]
        if not counts_as_response(questionnaire, given):
            # Not a response: nothing is stored (empty forms must not fill a group up to
            # k), and the page says so, before the check page and "Send inn", with every
            # answer kept.
            return Step(
                page,
                notice=_too_few_notice(questionnaire, given),
                show_errors=False,
                back_to_start=True,
            )
        return Step(page, show_check=True) if nav == "check" else Step(page, submit=True)
    if nav == "next":
        return Step(questionnaire.next_page(page, given_answers(form, questionnaire)))
    return Step(page)


def _sent_as_is(slug: str):
    """Send inn with nothing to correct, stored without building the answer form: the
    redirect to the thank-you page, or None for the long way (``questionnaire_post``),
    which handles everything else and finds out and says what stopped this one. The
    same checks as the long way, from the same rules (``forms.posted_data``,
    ``counts_as_response``, ``Office.is_open_on``); the answers stored are the same."""
    form = request.form
    if not _is_submission() or form.get("lang") in current_app.config["LANGUAGES"]:
        return None
    # The versions this process saw last: the INSERT itself checks that the posted one is
    # live (``versions.is_live_clause``), so nothing is asked first.
    available, number = versions.last_seen(), whole_number(form.get("v"))
    if available is None or number not in available:
        return None
    questionnaire = available[number]
    nonce = form.get("nonce", "")
    if (
        _page_number(form.get("page"), len(questionnaire.pages) - 1) != len(questionnaire.pages) - 1
        or not NONCE_RE.match(nonce)
        or not _csrf_holds(form.get("csrf_token"))
    ):
        return None
    data = posted_data(questionnaire, form)
    if data is None:
        return None
    answers, texts = stored_answers(questionnaire, data)
    if not counts_as_response(questionnaire, answers):
        return None
    today = today_in_norway()
    row = service.submission_row(questionnaire, answers, texts, nonce, str(get_locale()), today)
    if not service.save_at_open_office(slug, row, today):
        return None
    return redirect(url_for("respond.thanks", slug=slug), code=303)


def _csrf_holds(token: str | None) -> bool:
    """The form's CSRF token is valid (what the answer form's own check asks)."""
    if not current_app.config.get("WTF_CSRF_ENABLED", True):
        return True
    try:
        validate_csrf(token)
    except ValidationError:
        return False
    return True


def _page_from_form(office: Office, notice: str, status: int, alarm: bool = False):
    """The page the respondent was on, rebuilt from the posted form alone, with every
    answer in it and ``notice`` on top: for when the request cannot go further."""
    questionnaire = live_questionnaire(request.form.get("v"))
    page = _page_number(request.form.get("page"), len(questionnaire.pages) - 1)
    nonce = request.form.get("nonce", "")
    form = answer_form(questionnaire, str(get_locale()))
    form.validate()
    return _questionnaire_page(
        office,
        questionnaire,
        form,
        page,
        nonce if NONCE_RE.match(nonce) else secrets.token_hex(16),
        status,
        notice=notice,
        show_errors=alarm,
        admission=request.form.get("admission", "")[:512] or None,
    )


def _page_without_database(slug: str):
    """The database cannot even be read: nothing is saved, and nothing is lost."""
    current_app.logger.warning("The database could not be read; a page was given back.")
    return _page_from_form(
        Office(slug=slug, name=""),
        _(
            "Vi klarte ikke å lagre svarene akkurat nå, og ingenting er lagret. "
            "Svarene dine står fortsatt i skjemaet: prøv å sende igjen om litt."
        ),
        503,
        alarm=True,
    )


def page_after_limit(slug: str):
    """What a rate limit shows instead of a bare 429: the respondent's page, every answer
    still in it, and a note to wait."""
    return _page_from_form(
        office_or_404(slug),
        _(
            "Det kom mange svar fra samme nettverk på kort tid, så vi ber deg vente et "
            "par minutter og trykke igjen. Svarene dine står fortsatt i skjemaet."
        ),
        429,
    )


# --- One-time access codes (privacy.md: the code table knows only used / unused) -----------

ADMISSION_KEY = "admission"  # session: the admission of this browser's questionnaire under way


def _code_limit() -> str:
    return current_app.config["STIGEN_CODE_LIMIT"]


def _code_refused(response) -> bool:
    """Only codes looked up and refused count against the limit on guessing."""
    return g.get("code_refused", False)


def _kept_admission(office: Office) -> tuple[str, str] | None:
    """The admission this browser got for ``office`` and has not yet spent, with its
    nonce: a reload of the page after a code was accepted must not ask for a new code."""
    token = session.get(ADMISSION_KEY)
    found = access_codes.read_admission(current_app.config["SECRET_KEY"], token)
    if token is not None and found and found.office_id == office.id and NONCE_RE.match(found.nonce):
        return token, found.nonce
    return None


def code_page(
    office: Office,
    typed: str = "",
    error: str | None = None,
    notice: str | None = None,
    status: int = 200,
):
    """The start page of a code-only office: what is collected, then the code form (or,
    if this browser already has an unspent admission, the Start button with it)."""
    kept = _kept_admission(office) if not (typed or error) else None
    return _start_page(
        office,
        kept[1] if kept else None,
        status,
        admission=kept[0] if kept else None,
        code_form=CodeForm(formdata=None),
        code_typed=typed[:64],
        code_error=error,
        code_notice=notice,
    )


def _first_page(office: Office, admission: str, nonce: str):
    questionnaire = live_questionnaire()
    return _questionnaire_page(
        office,
        questionnaire,
        answer_form(questionnaire, str(get_locale()), formdata=None),
        0,
        nonce,
        admission=admission,
    )


def _code_error(error: access_codes.CodeError) -> str:
    if error.reason == "empty":
        return _("Skriv inn koden du har fått.")
    if error.reason == "character" and error.character.isprintable():
        return _(
            "Det finnes ingen «%(character)s» i kodene: sjekk at du har skrevet av koden riktig.",
            character=error.character,
        )
    if error.reason == "character":
        return _(
            "Koden har et tegn som ikke finnes i kodene: sjekk at du har skrevet av koden riktig."
        )
    return _("Koden har 8 tegn, for eksempel K7RM-XH4P. Sjekk at du har fått med alle.")


def redeem(office: Office, digest: str) -> str:
    """Mark the code with hash ``digest`` used, in a transaction of its own that holds
    nothing else and is committed here, long before (and apart from) the submission:
    the code's row and a response never share a transaction, a transaction id or a time.
    Returns ``"ok"``, ``"used"`` or ``"unknown"``."""
    table = AccessCode.__table__
    # One redemption per office at a time. The lock still lets submissions point at the
    # office (NO KEY UPDATE), and it orders the rewrite below so two cannot deadlock.
    db.session.execute(
        select(Office.id).where(Office.id == office.id).with_for_update(key_share=True)
    )
    flipped = db.session.execute(
        update(table)
        .where(table.c.code_hash == digest, table.c.office_id == office.id, table.c.used.is_(False))
        .values(used=True)
    ).rowcount  # type: ignore[attr-defined]  # DML returns a CursorResult; typed as Result
    if flipped == 1:
        # Rewrite every code row of the office in this transaction, so that on PostgreSQL
        # they all carry its transaction id (xmin): the table cannot tell which code was
        # used when, only how many were.
        db.session.execute(
            update(table).where(table.c.office_id == office.id).values(used=table.c.used)
        )
        db.session.commit()
        return "ok"
    used = db.session.scalar(
        select(table.c.used).where(table.c.code_hash == digest, table.c.office_id == office.id)
    )
    db.session.rollback()
    return "unknown" if used is None else "used"


@bp.post("/k/<slug>/kode")
@csrf.exempt  # the form checks its own token: an expired one costs a press, not an error page
@limiter.limit(_code_limit, scope="access-codes", deduct_when=_code_refused)
def code_post(slug: str):
    """A respondent's one-time code: if unused, spend it and open the questionnaire with
    an admission (signed, timed, never stored) in its hidden fields."""
    office = office_or_404(slug)
    if not office.is_open_on(today_in_norway()):
        return _closed_page(office, today_in_norway())
    if not office.codes_required:
        return redirect(url_for("respond.start", slug=office.slug), code=303)
    form = CodeForm()
    typed = (form.code.data or "").replace("\x00", "")[:64]
    if not form.validate():  # only the CSRF token can fail
        return code_page(
            office, typed, notice=_("Siden var åpen lenge, så vi må be deg trykke en gang til.")
        )
    try:
        code = access_codes.normalise(typed)
    except access_codes.CodeError as error:
        return code_page(office, typed, error=_code_error(error))
    try:
        outcome = redeem(office, access_codes.code_hash(code, current_app.config["SECRET_KEY"]))
    except SQLAlchemyError:
        db.session.rollback()
        current_app.logger.warning("An access code could not be checked.")
        return code_page(
            office,
            typed,
            notice=_(
                "Vi klarte ikke å sjekke koden akkurat nå. Koden er ikke brukt: prøv igjen om litt."
            ),
            status=503,
        )
    if outcome == "ok":
        nonce = secrets.token_hex(16)
        admission = access_codes.admission(current_app.config["SECRET_KEY"], office.id, nonce)
        session[ADMISSION_KEY] = admission
        return _first_page(office, admission, nonce)
    kept = _kept_admission(office)
    if outcome == "used" and kept:
        # This browser spent a code here and has not sent its answers: a reload of the
        # page that accepted it. Carry on with the same admission.
        return _first_page(office, *kept)
    g.code_refused = True
    if outcome == "used":
        refusal = _("Denne koden er allerede brukt. Hver kode virker bare én gang.")
    else:
        refusal = _(
            "Vi finner ikke denne koden for %(office)s. Sjekk at du har skrevet den slik den står.",
            office=office.name,
        )
    return code_page(office, typed, error=refusal)


def code_page_after_limit(slug: str):
    """What the limit on code guessing shows instead of a bare 429."""
    return code_page(
        office_or_404(slug),
        request.form.get("code", "")[:64],
        notice=_(
            "Det er prøvd mange koder som ikke virket fra samme nettverk på kort tid. "
            "Vent noen minutter og prøv igjen."
        ),
        status=429,
    )


@bp.errorhandler(429)
def too_many(error):
    """A rate limit on the questionnaire or the code form: the page again, every answer
    (or the typed code) kept, with a word to wait, instead of a bare 429."""
    if request.endpoint == "respond.questionnaire_post":
        return page_after_limit(**request.view_args)
    if request.endpoint == "respond.code_post":
        return code_page_after_limit(**request.view_args)
    return error_page(429)


@bp.get("/k/<slug>/takk")
def thanks(slug: str):
    """Thank-you page after a submission."""
    office = office_or_404(slug)
    return render_template("respond/thanks.html", office=office)


def _page_number(raw: str | None, last_page: int) -> int:
    try:
        return min(max(int(raw or 0), 0), last_page)
    except ValueError:
        return 0


@bp.get("/personvern")
def privacy():
    """What Stigen stores and what it never stores, in plain words."""
    return render_template("respond/privacy.html")
