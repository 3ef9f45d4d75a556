"""Routes of the respondent side."""

from __future__ import annotations

import hashlib
import re
import secrets
from datetime import timedelta

from flask import current_app, g, redirect, render_template, request, session, url_for
from flask_babel import get_locale, refresh
from flask_babel import gettext as _
from sqlalchemy import bindparam, exists, insert, select, update
from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from .. import codes as access_codes
from .. import mixer, versions
from ..extensions import csrf, db, limiter
from ..numbers import whole_number
from ..models import AccessCode, Inbox, Office, SubmissionReceipt
from ..periods import coarse_date, today_in_norway
from ..redact import redact
from ..scoring import answers_needed, counts_as_response, scored_answers, scored_items
from . import bp
from ..offices import matching, office_or_404
from .forms import CodeForm, answer_form, answers_of, given_answers

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
    return _("Svaret ditt er ikke sendt ennå. For at det skal telle, må du svare på minst "
             "%(needed)d av de %(total)d spørsmålene om oppfølgingen (stigen og påstandene "
             "du kan være enig eller uenig i). Du har svart på %(answered)d. «Vet ikke» "
             "regnes ikke som svar. Du kan fortsatt hoppe over hvilket som helst enkelt "
             "spørsmål. Svarene dine er tatt vare på.",
             needed=answers_needed(questionnaire), total=len(scored_items(questionnaire)),
             answered=scored_answers(questionnaire, answers))


@bp.get("/")
def front():
    """Front page: pick your office if you came without an office link (search without JS)."""
    query = request.args.get("q", "").replace("\x00", "").strip()[:100]
    offices = db.session.scalars(
        select(Office).where(Office.active.is_(True)).order_by(Office.name)).all()
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
        return render_template("respond/closed.html", office=office, today=today_in_norway()), 200
    if office.codes_required:
        return code_page(office)
    questionnaire = live_questionnaire()
    form = answer_form(questionnaire, str(get_locale()), formdata=None)
    return render_template(
        "respond/start.html",
        office=office,
        form=form,
        questionnaire=questionnaire,
        nonce=secrets.token_hex(16),
    )


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
    try:
        office = office_or_404(slug)
    except SQLAlchemyError:
        # The database is away: the answers are all in this form, so give the page back.
        db.session.rollback()
        return _page_without_database(slug)
    today = today_in_norway()
    if not (office.is_open_on(today) or office.is_open_on(today - timedelta(days=1))):
        # Closed while they answered: a day's grace, so that whoever was under way when
        # the period ended is not lost; after that, say so rather than fail later.
        return render_template("respond/closed.html", office=office, today=today), 200
    questionnaire = live_questionnaire(request.form.get("v"))
    # The form names a version that no longer (or never) accepts answers: the page comes
    # back in the live version, with the answers to the items it shares.
    switched = "v" in request.form and whole_number(request.form["v"]) != questionnaire.version
    last_page = len(questionnaire.pages) - 1
    page = _page_number(request.form.get("page"), last_page)
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
    nav = request.form.get("nav", "next")
    switching_language = request.form.get("lang") in current_app.config["LANGUAGES"]
    if switching_language:
        refresh()  # the locale selector has stored the new language in the session

    form = answer_form(questionnaire, str(get_locale()))
    form.validate()
    expired = bool(form.csrf_token.errors)
    wrong = [code for code in form.errors if code != "csrf_token"]
    status, notice, show_errors, back_to_start = 200, None, True, False
    # Check your answers: the form came from that page (``check``), or from a page its
    # "change" button opened (``review``, which offers the way back to it).
    on_check = request.form.get("check") == "1"
    reviewing = on_check or request.form.get("review") == "1"
    goto = re.fullmatch(r"goto-(\d{1,3})", nav)
    show_check = False

    if switched:
        page, show_errors = 0, False
        notice = _("Spørreskjemaet er byttet ut med en ny versjon mens du svarte. Svarene "
                   "dine på spørsmålene som er med i den nye versjonen, er tatt vare på. "
                   "Se over svarene, og send inn når du er klar.")
    elif switching_language or nav in ("start", "resume"):
        # "resume": the start page's "go on where you left off" (js/respond.js put the
        # draft kept in the tab into its form): the page the respondent was on.
        show_errors = False
        page = 0 if nav == "start" else page
        show_check = on_check and switching_language
    elif expired:
        # Nothing of the answers is lost: the same page comes back with a fresh token.
        notice = _(
            "Siden var åpen lenge, så vi må be deg trykke en gang til. "
            "Svarene dine er tatt vare på."
        )
        show_check = on_check
    elif goto:
        # A "change" button of the check page: that page, its field in view (#code).
        page, show_errors = min(int(goto[1]), last_page), False
    elif nav == "back":
        # The page before that is shown: branching (``show_if``) may skip some.
        page = questionnaire.next_page(page, given_answers(form, questionnaire), -1)
        show_errors = False
    elif wrong:
        pages_wrong = sorted({questionnaire.page_of(code) for code in wrong})
        page = page if page in pages_wrong else pages_wrong[0]
        notice = _("Noe må rettes før du kan gå videre. Se merknaden ved spørsmålet.")
    elif nav == "check" and not counts_as_response(
            questionnaire, (given := answers_of(form, questionnaire)[0])):
        # Not yet a response: said on the page, before the check page and "Send inn".
        notice, show_errors, back_to_start = _too_few_notice(questionnaire, given), False, True
    elif nav == "check":
        show_check = True
    elif nav == "submit" and page == last_page and not counts_as_response(
            questionnaire, (given := answers_of(form, questionnaire)[0])):
        # Not a response: nothing is stored (empty forms must not fill a group up to k),
        # and the page comes back with every answer kept.
        notice, show_errors, back_to_start = _too_few_notice(questionnaire, given), False, True
    elif nav == "submit" and page == last_page:
        answers, texts = answers_of(form, questionnaire)
        if save(office, questionnaire, answers, texts, nonce):
            session.pop(ADMISSION_KEY, None)  # a code-only office: this admission is spent
            # ``slug`` is the office's (found by it): office.slug would be read again
            # from the database, the commit having expired it.
            return redirect(url_for("respond.thanks", slug=slug), code=303)
        status = 503
        notice = _(
            "Vi klarte ikke å lagre svarene akkurat nå, og ingenting er lagret. "
            "Svarene dine står fortsatt i skjemaet: prøv å sende igjen om litt."
        )
    elif nav == "next":
        page = questionnaire.next_page(page, given_answers(form, questionnaire))

    if show_check:
        return render_template(
            "respond/check.html", office=office, form=form, questionnaire=questionnaire,
            last_page=last_page, nonce=nonce, notice=notice, admission=admission,
            visible=[item.code for item in questionnaire.items
                     if questionnaire.asked(item.code, answers_of(form, questionnaire)[0])],
        ), status
    return (
        render_template(
            "respond/page.html",
            office=office,
            form=form,
            questionnaire=questionnaire,
            page_index=page,
            page=questionnaire.pages[page],
            last_page=last_page,
            nonce=nonce,
            notice=notice,
            show_errors=show_errors,
            admission=admission,
            back_to_start=back_to_start,
            reviewing=reviewing and not switched,
            given=given_answers(form, questionnaire),
        ),
        status,
    )


def _page_from_form(office: Office, notice: str, status: int, alarm: bool = False):
    """The page the respondent was on, rebuilt from the posted form alone, with every
    answer in it and ``notice`` on top: for when the request cannot go further."""
    questionnaire = live_questionnaire(request.form.get("v"))
    last_page = len(questionnaire.pages) - 1
    page = _page_number(request.form.get("page"), last_page)
    nonce = request.form.get("nonce", "")
    form = answer_form(questionnaire, str(get_locale()))
    form.validate()
    return render_template(
        "respond/page.html", office=office, form=form, questionnaire=questionnaire,
        page_index=page, page=questionnaire.pages[page], last_page=last_page,
        nonce=nonce if NONCE_RE.match(nonce) else secrets.token_hex(16),
        notice=notice, show_errors=alarm,
        admission=request.form.get("admission", "")[:512] or None,
    ), status


def _page_without_database(slug: str):
    """The database cannot even be read: nothing is saved, and nothing is lost."""
    current_app.logger.warning("The database could not be read; a page was given back.")
    return _page_from_form(
        Office(slug=slug, name=""),
        _("Vi klarte ikke å lagre svarene akkurat nå, og ingenting er lagret. "
          "Svarene dine står fortsatt i skjemaet: prøv å sende igjen om litt."), 503, alarm=True)


def page_after_limit(slug: str):
    """What a rate limit shows instead of a bare 429: the respondent's page, every answer
    still in it, and a note to wait."""
    return _page_from_form(
        office_or_404(slug),
        _("Det kom mange svar fra samme nettverk på kort tid, så vi ber deg vente et "
          "par minutter og trykke igjen. Svarene dine står fortsatt i skjemaet."), 429)


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
    if found and found.office_id == office.id and NONCE_RE.match(found.nonce):
        return token, found.nonce
    return None


def code_page(office: Office, typed: str = "", error: str | None = None,
              notice: str | None = None, status: int = 200):
    """The start page of a code-only office: what is collected, then the code form (or,
    if this browser already has an unspent admission, the Start button with it)."""
    kept = _kept_admission(office) if not (typed or error) else None
    questionnaire = live_questionnaire()
    return render_template(
        "respond/start.html", office=office, questionnaire=questionnaire,
        form=answer_form(questionnaire, str(get_locale()), formdata=None),
        nonce=kept[1] if kept else secrets.token_hex(16),
        admission=kept[0] if kept else None,
        code_form=CodeForm(formdata=None), code_typed=typed[:64], code_error=error,
        code_notice=notice,
    ), status


def _first_page(office: Office, admission: str, nonce: str):
    questionnaire = live_questionnaire()
    return render_template(
        "respond/page.html", office=office, questionnaire=questionnaire,
        form=answer_form(questionnaire, str(get_locale()), formdata=None),
        page_index=0, page=questionnaire.pages[0], last_page=len(questionnaire.pages) - 1,
        nonce=nonce, notice=None, show_errors=False, admission=admission,
    )


def _code_error(error: access_codes.CodeError) -> str:
    if error.reason == "empty":
        return _("Skriv inn koden du har fått.")
    if error.reason == "character" and error.character.isprintable():
        return _("Det finnes ingen «%(character)s» i kodene: sjekk at du har skrevet av "
                 "koden riktig.", character=error.character)
    if error.reason == "character":
        return _("Koden har et tegn som ikke finnes i kodene: sjekk at du har skrevet av "
                 "koden riktig.")
    return _("Koden har 8 tegn, for eksempel K7RM-XH4P. Sjekk at du har fått med alle.")


def redeem(office: Office, digest: str) -> str:
    """Mark the code with hash ``digest`` used, in a transaction of its own that holds
    nothing else and is committed here, long before (and apart from) the submission:
    the code's row and a response never share a transaction, a transaction id or a time.
    Returns ``"ok"``, ``"used"`` or ``"unknown"``."""
    table = AccessCode.__table__
    # One redemption per office at a time. The lock still lets submissions point at the
    # office (NO KEY UPDATE), and it orders the rewrite below so two cannot deadlock.
    db.session.execute(select(Office.id).where(Office.id == office.id)
                       .with_for_update(key_share=True))
    flipped = db.session.execute(
        update(table).where(table.c.code_hash == digest, table.c.office_id == office.id,
                            table.c.used.is_(False)).values(used=True)).rowcount
    if flipped == 1:
        # Rewrite every code row of the office in this transaction, so that on PostgreSQL
        # they all carry its transaction id (xmin): the table cannot tell which code was
        # used when, only how many were.
        db.session.execute(update(table).where(table.c.office_id == office.id)
                           .values(used=table.c.used))
        db.session.commit()
        return "ok"
    used = db.session.scalar(select(table.c.used).where(table.c.code_hash == digest,
                                                        table.c.office_id == office.id))
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
        return render_template("respond/closed.html", office=office,
                               today=today_in_norway()), 200
    if not office.codes_required:
        return redirect(url_for("respond.start", slug=office.slug), code=303)
    form = CodeForm()
    typed = (form.code.data or "").replace("\x00", "")[:64]
    if not form.validate():  # only the CSRF token can fail
        return code_page(office, typed, notice=_(
            "Siden var åpen lenge, så vi må be deg trykke en gang til."))
    try:
        code = access_codes.normalise(typed)
    except access_codes.CodeError as error:
        return code_page(office, typed, error=_code_error(error))
    try:
        outcome = redeem(office, access_codes.code_hash(code, current_app.config["SECRET_KEY"]))
    except SQLAlchemyError:
        db.session.rollback()
        current_app.logger.warning("An access code could not be checked.")
        return code_page(office, typed, notice=_(
            "Vi klarte ikke å sjekke koden akkurat nå. Koden er ikke brukt: prøv igjen om litt."),
            status=503)
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
        error = _("Denne koden er allerede brukt. Hver kode virker bare én gang.")
    else:
        error = _("Vi finner ikke denne koden for %(office)s. Sjekk at du har skrevet den "
                  "slik den står.", office=office.name)
    return code_page(office, typed, error=error)


def code_page_after_limit(slug: str):
    """What the limit on code guessing shows instead of a bare 429."""
    return code_page(office_or_404(slug), request.form.get("code", "")[:64], notice=_(
        "Det er prøvd mange koder som ikke virket fra samme nettverk på kort tid. "
        "Vent noen minutter og prøv igjen."), status=429)


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


def _into_inbox():
    """INSERT INTO inbox … SELECT the submission's values WHERE no receipt holds its
    nonce's hash, with bound parameters: built once, so a submission pays for no
    statement building."""
    inbox, receipts = Inbox.__table__, SubmissionReceipt.__table__
    names = ("nonce_hash", "office_id", "period_start", "questionnaire_version", "language",
             "answers", "texts", "batch_id")
    values = select(*(bindparam(name, type_=inbox.c[name].type).label(name) for name in names))
    unmixed = values.where(~exists().where(
        receipts.c.nonce_hash == bindparam("nonce_hash", type_=inbox.c.nonce_hash.type)))
    return insert(inbox).from_select(list(names), unmixed)


_INTO_INBOX = _into_inbox()


def save(office: Office, questionnaire, answers: dict, texts: dict, nonce: str) -> bool:
    """Store one submission whole, once, or not at all. Returns False if the database
    could not take it (nothing is then stored); True if stored now or before.

    One durable write: a row in the inbox, keyed by the hash of the form's nonce, with
    the redacted free texts; ``survey.mixer`` moves it into the counted tables in a
    shuffled batch (issue 12). The row is inserted only if no receipt holds the hash (it
    was mixed already), and its key refuses a second while it waits: a double-click or a
    resent form is stored once. Then, after the commit, the office × period is mixed if a
    batch has gathered (``mixer.after_submission``)."""
    period_start = coarse_date(today_in_norway(), current_app.config["STIGEN_DATE_PRECISION"])
    nonce_hash = hashlib.sha256(nonce.encode()).hexdigest()
    office_id = office.id  # read now: the commit expires ``office``
    row = {
        "nonce_hash": nonce_hash,
        "office_id": office_id,
        "period_start": period_start,
        "questionnaire_version": questionnaire.version,
        "language": str(get_locale()),
        "answers": answers,
        "texts": {code: cleaned for code, text in texts.items() if (cleaned := redact(text))},
        "batch_id": None,
    }
    try:
        # One statement: a receipt (mixed before) makes it insert nothing, a waiting row
        # with the same key makes it fail; both mean stored before.
        db.session.execute(_INTO_INBOX, row)
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        # A double-click or a resent form: the first one was stored, so all is well.
        try:
            return db.session.get(Inbox, nonce_hash) is not None or \
                db.session.get(SubmissionReceipt, nonce_hash) is not None
        except SQLAlchemyError:
            db.session.rollback()
            return False
    except SQLAlchemyError:
        db.session.rollback()
        current_app.logger.warning("A submission could not be stored; nothing was saved.")
        return False
    mixer.after_submission(office_id, period_start)
    return True


@bp.get("/personvern")
def privacy():
    """What Stigen stores and what it never stores, in plain words."""
    return render_template("respond/privacy.html")
