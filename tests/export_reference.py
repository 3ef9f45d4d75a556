"""Reference code for the export's response rows: the plain definition of the item cells
(``item_values``), which the tests hold the export's fast ``item_text`` to, and the
export's scatter and shuffle in one process (``shuffled_lines``), reading a bucket's
records as text (``bucket_records``, which the tests hold the export's ``numbered_bucket``
to). Only tests use them, so they live here rather than in the package (issue 18).
"""

from __future__ import annotations

import os
import random
import tempfile
from collections.abc import Iterable, Iterator

import orjson

from survey.export.responses import _segments
from survey.export.spill import END, Spill, bucket_order, fresh_random
from survey.questionnaire import Questionnaire


def item_values(questionnaire: Questionnaire):
    """A function from a response's stored answers (JSON text) to its item cells, in
    column order: scale and choice values as stored (-1 = vet ikke, None = not answered),
    and one 1/0 per option of a multi-choice item (None for all if it was skipped). The
    plain definition of the cells; the export writes them with ``item_text``, which the
    tests hold to this."""
    segments = _segments(questionnaire)

    def values(answers_json) -> list:
        answers = (
            orjson.loads(answers_json) if isinstance(answers_json, (str, bytes)) else answers_json
        )
        get = answers.get
        cells: list = []
        for segment in segments:
            if segment[0] == "singles":
                cells.extend(map(get, segment[1]))
            else:
                chosen = get(segment[1])
                options = segment[2]
                cells.extend(
                    [None] * len(options)
                    if chosen is None
                    else [int(option in chosen) for option in options]
                )
        return cells

    return values


def shuffled_lines(
    rows: Iterable,
    line_of,
    separator: str,
    rng: random.Random | None = None,
    spill_dir: str | None = None,
) -> Iterator[str]:
    """The rows as numbered lines (``line_of`` gives each its text) in a fresh random
    order, with flat memory: the export's own scatter and shuffle (survey/export/spill.py)
    in one process."""
    rng = rng or fresh_random()
    with tempfile.TemporaryDirectory(prefix="stigen-export-", dir=spill_dir) as folder:
        spill = Spill(folder, 0, rng)
        try:
            for row in rows:
                spill.add(line_of(row))
        finally:
            counts = spill.close()
        for bucket, first in bucket_order(counts, rng):
            for number, line in enumerate(bucket_records(folder, 1, bucket, rng), first):
                yield f"{number}{separator}{line}"


def bucket_records(folder: str, parts: int, bucket: int, rng: random.Random) -> list[str]:
    """Every part's records of ``bucket``, shuffled; the files are removed once read."""
    records: list[str] = []
    for part in range(parts):
        path = os.path.join(folder, f"{part}-{bucket}")
        try:
            with open(path, "rb") as file:
                records += file.read().decode("utf-8").split(END)
        except FileNotFoundError:
            continue  # this part had no record for the bucket
        records.pop()  # what follows the last END
        os.remove(path)
    rng.shuffle(records)
    return records
