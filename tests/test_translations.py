"""Every page in bokmål, nynorsk and English with nothing untranslated: every string the
code and templates use has a reviewed nn and en translation, and the compiled catalogues
match their sources."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po

from .forms import start

ROOT = Path(__file__).resolve().parent.parent
SOURCES = (
    ("survey", [("**.py", "python")], {}),
    ("templates", [("**.html", "jinja2")], {"**.html": {"trimmed": "true"}}),
)
PLACEHOLDER = re.compile(r"%\(\w+\)[sd]")


def _not_hidden(dirpath: str) -> bool:
    return not Path(dirpath).name.startswith(".") and Path(dirpath).name != "__pycache__"


def used_messages() -> set[str]:
    found = set()
    keywords = {"_": None, "gettext": None, "_l": None, "lazy_gettext": None}
    for folder, method_map, options in SOURCES:
        # Babel skips folders starting with "_" by default; templates/_macros must count.
        for _, _, message, _, _ in extract_from_dir(
            str(ROOT / folder), method_map, options, keywords=keywords, directory_filter=_not_hidden
        ):
            found.add(message if isinstance(message, str) else message[0])
    return found


USED = used_messages()


def test_the_code_uses_translatable_messages():
    assert "Send inn" in USED and "Vet ikke / vil ikke svare" in USED
    assert "for få svar" in USED  # from templates/_macros, which Babel skips by default
    assert "Logg inn for å se resultatene." in USED
    assert len(USED) > 50


@pytest.mark.parametrize("lang", ["nn", "en"])
def test_every_message_is_translated(lang):
    with open(ROOT / f"translations/{lang}/LC_MESSAGES/messages.po", "rb") as fh:
        catalog = read_po(fh)
    missing = [m for m in USED if m not in catalog or not catalog[m].string]
    fuzzy = [m.id for m in catalog if m.id and m.fuzzy]
    assert not missing, f"untranslated in {lang}: {missing}"
    assert not fuzzy, f"fuzzy in {lang}: {fuzzy}"
    for message in catalog:
        if message.id:
            assert set(PLACEHOLDER.findall(message.id)) == set(PLACEHOLDER.findall(message.string))


@pytest.mark.parametrize("lang", ["nn", "en"])
def test_compiled_catalogue_matches_its_source(lang):
    folder = ROOT / f"translations/{lang}/LC_MESSAGES"
    with open(folder / "messages.po", "rb") as fh:
        source = {m.id: m.string for m in read_po(fh) if m.id}
    with open(folder / "messages.mo", "rb") as fh:
        compiled = {m.id: m.string for m in read_mo(fh) if m.id}
    assert compiled == source, "run `flask translate compile`"


@pytest.mark.parametrize("lang", ["nn", "en"])
def test_pages_show_no_bokmal_interface_text(client, lang):
    """Render the respondent pages in ``lang`` and look for any bokmål UI message that
    has a different translation: none may show."""
    with open(ROOT / f"translations/{lang}/LC_MESSAGES/messages.po", "rb") as fh:
        changed = [m.id for m in read_po(fh) if m.id and m.string != m.id and len(m.id) > 8]
    client.get(f"/?lang={lang}")
    pages = [client.get("/").get_data(as_text=True), client.get("/k/bodo").get_data(as_text=True)]
    page = start(client)
    for _ in range(7):
        pages.append(page.html)
        page = page.submit(client)
    pages.append(client.get("/k/bodo/takk").get_data(as_text=True))
    pages.append(client.get("/personvern").get_data(as_text=True))
    pages.append(client.get("/k/nowhere").get_data(as_text=True))
    for html in pages:
        assert f'<html lang="{lang}">' in html
        text = re.sub(r"<[^>]+>", " ", html)
        for message in changed:
            if "%(" not in message:
                assert message not in text, message


@pytest.mark.parametrize("lang", ["nn", "en"])
def test_staff_and_public_pages_show_no_bokmal_interface_text(app, client, lang):
    """The same for every staff page an admin opens, an office's public page and the
    access-code page."""
    from datetime import date

    from survey.extensions import db
    from survey.models import ActionNote, Comment, Office

    from .test_dashboard import add_responses, make_account, office_id, sign_in

    with open(ROOT / f"translations/{lang}/LC_MESSAGES/messages.po", "rb") as fh:
        changed = [
            m.id
            for m in read_po(fh)
            if m.id and m.string != m.id and len(m.id) > 8 and "%(" not in m.id
        ]
    with app.app_context():
        add_responses("bodo", date(2025, 3, 1), 12)
        make_account("admin", "admin")
        db.session.add(
            ActionNote(
                office_id=office_id("bodo"),
                written_on=date(2025, 9, 1),
                you_said="x" * 10,
                we_do="y" * 10,
            )
        )
        db.session.add(
            Comment(
                office_id=office_id("bodo"),
                period_start=date(2025, 3, 1),
                questionnaire_version=1,
                language="nb",
                item_code="fritekst",
                body="Ole i Bodø, 3 ganger",
            )
        )
        db.session.get(Office, office_id("tromso")).codes_required = True
        db.session.commit()
    sign_in(client, "admin")
    client.get(f"/?lang={lang}")
    paths = [
        "/admin/",
        "/admin/kontor",
        "/admin/kontor/ny",
        "/admin/kontor/bodo",
        "/admin/kontor/bodo/plakat",
        "/admin/perioder",
        "/admin/koder",
        "/admin/kontor/bodo/koder",
        "/admin/brukere",
        "/admin/brukere/ny",
        "/admin/brukere/1",
        "/admin/sporreskjema",
        "/admin/sporreskjema/1",
        "/admin/moderering",
        "/admin/revisjon",
        "/resultater/kontor/bodo",
        "/resultater/kontor/bodo/dette-gjor-vi",
        "/k/bodo/resultater",
        "/k/tromso",
    ]
    for path in paths:
        response = client.get(path)
        assert response.status_code == 200, path
        html = response.get_data(as_text=True)
        assert f'<html lang="{lang}">' in html, path
        text = re.sub(r"<[^>]+>", " ", html)
        shown = [message for message in changed if message in text]
        assert shown == [], f"{path}: {shown}"
