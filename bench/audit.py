"""The disclosure audit (survey.domain.disclosure) on the whole country: 250 offices × 24 months,
six measures (responses, ladder answers, four themes), each protected (survey.domain.suppression)
and then audited against an attacker with non-negativity (LP), as a release is built.
Pure Python: no database. Counts are drawn, not read:

- *national*: ``size`` responses spread over the offices and months (1M: about 167 per
  office-month), one office in ten small (0–6 a month);
- *small offices*: nine offices in ten small (0–6 a month), the rest sharing what is
  left of ``size`` (nothing, at the smallest sizes): most cells below k, as in the demo
  data at its smallest sizes.

Also the release sequence's last step: the last month released with every earlier month
fixed and nothing after it (the months up to the end of its half-year known to be 0).

    .venv/bin/python -m bench.audit            # prints the figures (1M responses)
    .venv/bin/python -m bench.audit 10k
"""

from __future__ import annotations

import random
import sys
import time
from datetime import date

from .common import Row

OFFICES = 250
MONTHS = 24
K = 5
TARGET = 60.0  # seconds for the whole country, every measure (issue 11)
MEASURES = ("responses", "ladder", "medvirkning", "stigma", "talmodighet", "relasjon")
# The share of responses that count toward each measure (an answer to the ladder, enough
# items of a theme).
SHARE = {
    "responses": 1.0,
    "ladder": 0.93,
    "medvirkning": 0.97,
    "stigma": 0.95,
    "talmodighet": 0.96,
    "relasjon": 0.9,
}


def months() -> list[date]:
    return [date(2025 + m // 12, m % 12 + 1, 1) for m in range(MONTHS)]


def draw(size: int, small_share: float, seed: int = 11) -> dict[str, dict]:
    """measure -> {(office, month): count}, ``size`` responses in all."""
    rng = random.Random(seed)
    small = {office for office in range(OFFICES) if rng.random() < small_share}
    big = [office for office in range(OFFICES) if office not in small]
    small_total = sum(3 for _ in small) * MONTHS  # 0–6 a month: 3 on average
    per_big = max(0.0, (size - small_total) / max(1, len(big)) / MONTHS)
    weight = {office: rng.lognormvariate(0, 0.5) for office in big}
    mean_weight = sum(weight.values()) / max(1, len(weight))
    responses = {}
    for office in range(OFFICES):
        for month in months():
            if office in small:
                n = rng.randint(0, 6)
            else:
                mean = per_big * weight[office] / mean_weight
                n = max(0, round(rng.gauss(mean, mean**0.5)))
            responses[office, month] = n
    tables = {}
    for measure in MEASURES:
        share = SHARE[measure]
        tables[measure] = {
            cell: n
            if share == 1.0
            else sum(rng.random() < share for _ in range(n))
            if n < 40
            else round(n * share)
            for cell, n in responses.items()
        }
    return tables


def _following(month: date) -> date:
    return date(month.year + month.month // 12, month.month % 12 + 1, 1)


def run(tables: dict[str, dict], release: bool = False) -> dict[str, float]:
    """Protect and audit every measure: seconds per step, cells the audit hid. With
    ``release``, only the release of the fourth month from the end: the months before it
    fixed as an earlier (protected and audited) release published them, the months after
    it in its half-year known to be 0."""
    from survey.domain.disclosure import audit
    from survey.domain.suppression import lattice, protect

    figures = {"protect": 0.0, "audit": 0.0, "audit hid": 0}
    allowed = earlier_allowed = None
    last = months()[-4]
    for measure in MEASURES:
        table = tables[measure]
        fixed, known, ended = frozenset(), None, None
        if release:
            # A period is released once it has ended: the earlier release holds the
            # periods ended before ``last``, this one those ended with it.
            table = {cell: n for cell, n in table.items() if cell[1] <= last}
            earlier = {cell: n for cell, n in table.items() if cell[1] < last}
            old_counts, old_relations = lattice(earlier, range(OFFICES))
            old_known = {cell: 0 for cell in old_counts if cell[1].start >= last}
            old_ended = {cell for cell in old_counts if cell[1].end <= last}
            old = protect(
                old_counts,
                old_relations,
                K,
                old_ended if earlier_allowed is None else old_ended & earlier_allowed,
                known=old_known,
            )
            old = audit(old_counts, old_relations, K, old, known=old_known).visible
            if measure == "responses":
                earlier_allowed = old | {cell for cell in old_counts if cell[1].end > last}
        counts, relations = lattice(table, range(OFFICES))
        if release:
            fixed = frozenset(cell for cell in old if cell in counts)
            known = {cell: 0 for cell in counts if cell[1].start > last}
            ended = {cell for cell in counts if cell[1].end <= _following(last)}
            allowed = ended if allowed is None else ended & allowed
        started = time.perf_counter()
        shown = protect(
            counts,
            relations,
            K,
            allowed if allowed is None else allowed | fixed,
            fixed=fixed,
            known=known,
        )
        figures["protect"] += time.perf_counter() - started
        started = time.perf_counter()
        result = audit(counts, relations, K, shown, fixed=fixed, known=known)
        figures["audit"] += time.perf_counter() - started
        figures["audit hid"] += len(shown - result.visible)
        if measure == "responses":
            allowed = result.visible
        assert fixed <= result.visible
    return figures


def measure(size: int = 1_000_000) -> list[Row]:
    """Rows for the suite: each scenario's protect + audit time against the target."""
    rows = []
    for name, share, release in (
        ("national", 0.1, False),
        ("small offices", 0.9, False),
        ("national, last month released", 0.1, True),
    ):
        tables = draw(size, share)
        started = time.perf_counter()
        found = run(tables, release)
        seconds = time.perf_counter() - started
        rows.append(
            Row(
                size,
                f"audit: {name}, {OFFICES} offices × {MONTHS} months × {len(MEASURES)} "
                f"measures (protect {found['protect']:.1f} s, audit {found['audit']:.1f} s, "
                f"{found['audit hid']} more hidden)",
                f"{seconds:.1f} s",
                "–",
                None,
                f"< {TARGET:.0f} s",
                seconds < TARGET,
                key=f"audit: {name}",
                number=seconds,
            )
        )
    return rows


def main(argv: list[str] | None = None) -> None:
    from .common import markdown_table
    from .run import parse_size

    argv = sys.argv[1:] if argv is None else argv
    size = parse_size(argv[0]) if argv else 1_000_000
    print(markdown_table(measure(size)))


if __name__ == "__main__":
    main()
