"""Names of rungs, bands and periods in the reader's language."""

from __future__ import annotations

from flask_babel import format_date
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from ..domain.periods import ReportingPeriod

# Arnstein (1969), in the Norwegian the theses use.
RUNGS = {
    1: _l("Manipulasjon"),
    2: _l("Terapi"),
    3: _l("Informasjon"),
    4: _l("Konsultasjon"),
    5: _l("Rådgivning"),
    6: _l("Partnerskap"),
    7: _l("Delegert makt"),
    8: _l("Brukerstyring"),
}
BANDS = {
    1: _l("Ikke-deltakelse"),
    2: _l("Symbolsk deltakelse"),
    3: _l("Reell innflytelse"),
}
BAND_OF_RUNG = {1: 1, 2: 1, 3: 2, 4: 2, 5: 2, 6: 3, 7: 3, 8: 3}


def rung_label(rung: int) -> str:
    return f"{rung} {RUNGS[rung]}"


def period_label(period: ReportingPeriod) -> str:
    if period.kind == "month":
        return format_date(period.start, "LLLL y")
    if period.kind == "quarter":
        return _("%(n)d. kvartal %(year)d", n=period.number, year=period.year)
    return _("%(n)d. halvår %(year)d", n=period.number, year=period.year)


KIND_LABELS = {"month": _l("Måned"), "quarter": _l("Kvartal"), "half": _l("Halvår")}
