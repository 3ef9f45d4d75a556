"""An R script that reads ``svar.csv`` with readr and labels it with haven, and a
Frictionless Data Package (``datapackage.json``) that describes the same CSV. Both are
made from ``labelled.variables``, the labels the .sav and .dta carry. Pure: no Flask, no
database.

R is not needed to make the script (nor on this machine): a test reads the script's text
and checks that every column, label and missing code is in it.
"""

from __future__ import annotations

from ..questionnaire import Questionnaire
from .columns import columns
from .labelled import Variable


def r_string(text: str) -> str:
    escaped = (
        text.replace("\\", "\\\\")
        .replace('"', '\\"')
        .replace("\t", "\\t")
        .replace("\n", "\\n")
        .replace("\r", "\\r")
    )
    return f'"{escaped}"'


def _r_type(v: Variable) -> str:
    if v.codes:
        return "col_character()"
    return "col_double()" if v.numeric == "float" else "col_integer()"


def _labels(values: dict[int, str]) -> str:
    """c("label" = value, ...) in value order (integers, as read_csv types the column)."""
    return (
        "c("
        + ", ".join(f"{r_string(text)} = {value}L" for value, text in sorted(values.items()))
        + ")"
    )


def r_script(
    questionnaire: Questionnaire, variables_: list[Variable], csv_name: str, lang: str
) -> str:
    """The script: read_csv with a type for every column, then ``labelled_spss`` (value
    labels and -1 as user-missing) or ``labelled`` per column, a variable label on each,
    and ``d_factors``: the same data with -1 as NA and every labelled column a factor.
    Nothing is reverse-coded: the reverse-coded items are named in a comment, and the
    theme indices already take them into account."""
    reverse = [c.name for c in columns(questionnaire) if c.reverse]
    types = ",\n".join(f"  {v.name} = {_r_type(v)}" for v in variables_)
    lines = [
        f"# Stigen: {csv_name} with labels (questionnaire version {questionnaire.version}, "
        f"labels in {lang}).",
        '# Needs the R packages readr and haven (install.packages(c("readr", "haven"))).',
        "# Empty cells are NA (not answered, or a quasi-identifier blanked for anonymity);",
        '# -1 = "vet ikke / vil ikke svare", kept as a user-missing value (labelled_spss).',
        "# Nothing is reverse-coded here. Reverse-coded items, as answered: "
        + (", ".join(reverse) if reverse else "none")
        + ".",
        "# The *_index scores already flip them (see the codebook).",
        "library(readr)",
        "library(haven)",
        "",
        f'd <- read_csv({r_string(csv_name)}, na = "", locale = locale(encoding = "UTF-8"),',
        "              col_types = cols(",
        types,
        "              ))",
        "",
    ]
    for v in variables_:
        target = f"d${v.name}"
        label = r_string(v.label)
        if v.codes:
            # Office, period and language stay text (as in the CSV), labelled by name.
            if v.name == "language":  # a labelled character vector: "nb" = bokmål ...
                values = {v.values[number]: code for code, number in v.codes.items()}
                lines.append(
                    f"{target} <- labelled({target}, labels = {_labels_text(values)}, "
                    f"label = {label})"
                )
            else:
                lines.append(f'attr({target}, "label") <- {label}')
            continue
        if v.values and v.missing:
            missing = ", ".join(f"{m}L" for m in v.missing)
            lines.append(
                f"{target} <- labelled_spss({target}, labels = {_labels(v.values)}, "
                f"na_values = c({missing}), label = {label})"
            )
        elif v.values:
            lines.append(
                f"{target} <- labelled({target}, labels = {_labels(v.values)}, label = {label})"
            )
        else:
            lines.append(f'attr({target}, "label") <- {label}')
    lines += [
        "",
        "# The same data with -1 as NA and every labelled column a factor, its levels in",
        "# value order (the ladder's statements, the bands, each scale's options).",
        'd_factors <- as_factor(zap_missing(d), levels = "labels")',
        "",
    ]
    return "\n".join(lines)


def _labels_text(values: dict[str, str]) -> str:
    """c("label" = "code", ...) for a character column."""
    return (
        "c("
        + ", ".join(f"{r_string(text)} = {r_string(code)}" for text, code in values.items())
        + ")"
    )


# --- Frictionless Data Package ----------------------------------------------------------


def _field(v: Variable) -> dict:
    field: dict = {"name": v.name, "title": v.label}
    if v.codes:
        field["type"] = "string"
        field["constraints"] = {"enum": list(v.codes)}
        if v.name == "language":
            field["categories"] = [
                {"value": code, "label": v.values[number]} for code, number in v.codes.items()
            ]
        return field
    if v.numeric == "float":
        field["type"] = "number"
        field["constraints"] = {"minimum": 0, "maximum": 100}
        return field
    field["type"] = "integer"
    if v.name == "row":
        field["constraints"] = {"required": True, "unique": True, "minimum": 1}
    elif v.values:
        substantive = sorted(value for value in v.values if value not in v.missing)
        field["constraints"] = {"enum": substantive}
        field["categories"] = [{"value": value, "label": v.values[value]} for value in substantive]
    if v.missing:
        # The don't-know code, per field: read as missing, its meaning kept in the label.
        field["missingValues"] = ["", *(str(m) for m in v.missing)]
        field["description"] = "; ".join(f"{m} = {v.values[m]} (missing)" for m in v.missing)
    return field


def datapackage(
    questionnaire: Questionnaire, variables_: list[Variable], csv_name: str, lang: str, rows: int
) -> dict:
    """The package descriptor: one tabular resource (the CSV, RFC 4180, UTF-8) with a
    table schema (types, constraints, missing values, labels as titles and categories)."""
    return {
        "profile": "tabular-data-package",
        "name": f"stigen-svar-v{questionnaire.version}",
        "title": "Stigen",
        "description": (
            "Anonymous responses of a release, k-anonymous on office, period, "
            "language, bak_alder, bak_varighet and rel_antall; rows shuffled and "
            f"numbered. Labels in {lang}."
        ),
        "resources": [
            {
                "name": "svar",
                "path": csv_name,
                "profile": "tabular-data-resource",
                "format": "csv",
                "mediatype": "text/csv",
                "encoding": "utf-8",
                "dialect": {"delimiter": ",", "header": True, "lineTerminator": "\r\n"},
                "stats": {"rows": rows},
                "schema": {
                    "fields": [_field(v) for v in variables_],
                    "missingValues": [""],
                    "primaryKey": ["row"],
                },
            }
        ],
    }


__all__ = ["r_script", "r_string", "datapackage"]
