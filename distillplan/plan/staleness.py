"""Stale prices: the only part of planning that looks at the calendar.

The plan itself is a pure function of the spec (same spec, same bytes); whether the prices it
used are still fresh depends on the day it is read, so the warning is computed apart, from the
plan and a date the caller supplies, and the commands print it on stderr.
"""

from __future__ import annotations

import datetime as dt

from distillplan.plan.decision import add_months
from distillplan.plan.model import Plan, TeacherOut
from distillplan.text import count, usd

__all__ = ["is_stale", "months_between", "parse_as_of", "stale_gpu", "stale_prices", "stale_teacher"]


def parse_as_of(text: str) -> dt.date | None:
    """``2026-01`` (the first of that month) or ``2026-01-15``; None for anything else."""
    try:
        return dt.date.fromisoformat(text if len(text) > 7 else text + "-01")
    except ValueError:
        return None


def months_between(start: dt.date, end: dt.date) -> int:
    """Whole months from ``start`` to ``end`` (0 when ``end`` is earlier)."""
    months = (end.year - start.year) * 12 + end.month - start.month - (end.day < start.day)
    return max(0, months)


def is_stale(as_of: str | dt.date, today: dt.date, max_months: int) -> bool:
    """Whether a price read on ``as_of`` (a date, ``2026-01`` or ``2026-01-15``) is more than
    ``max_months`` calendar months old on ``today`` (read 2026-11-28, 6 months: stale from
    2027-05-29); an unreadable date is not called stale."""
    day = as_of if isinstance(as_of, dt.date) else parse_as_of(as_of)
    return day is not None and add_months(day, max_months) < today


def stale_prices(plan: Plan, today: dt.date, max_months: int) -> list[str]:
    """One sentence per price problem of ``plan`` on ``today`` (older than ``max_months``, a
    teacher retired or shutting down, prices from third parties only), saying what to pin."""
    s = plan.sizing
    return stale_teacher(plan.teacher, today, max_months) + stale_gpu(
        s.gpu, s.usd_per_gpu_hour, s.gpu_price_as_of, today, max_months
    )


def stale_teacher(te: TeacherOut, today: dt.date, max_months: int) -> list[str]:
    """The teacher's part of :func:`stale_prices`."""
    out: list[str] = []
    if te.as_of is not None and is_stale(te.as_of, today, max_months):
        age = months_between(te.as_of, today)
        out.append(
            f"the teacher prices ({te.model}) were read on {te.as_of.isoformat()}, {count(age, 'month')} ago "
            f"(older than [policy] price_staleness_months = {max_months}): pin today's prices in "
            "[teacher] usd_per_mtok_input / usd_per_mtok_output"
        )
    if te.status == "retired":
        out.append(f"the teacher {te.model} is retired by its vendor: plan against the model you will be billed for")
    elif te.shutdown is not None:
        when = "shut down on" if te.shutdown <= today else "shuts down on"
        out.append(
            f"the teacher {te.model} {when} {te.shutdown.isoformat()} (its vendor's deprecation notice): "
            "the frontier bill it prices ends then; plan against its successor"
        )
    if te.price_source_kind == "third-party":
        out.append(
            f"the teacher prices ({te.model}) come from third parties, not the vendor's own page: confirm them "
            "and pin them in [teacher] usd_per_mtok_input / usd_per_mtok_output"
        )
    return out


def stale_gpu(gpu: str, usd_per_gpu_hour: float, as_of: str, today: dt.date, max_months: int) -> list[str]:
    """The GPU's part of :func:`stale_prices` (``as_of`` "(distill.toml)": pinned, never stale)."""
    day = parse_as_of(as_of)
    if day is None or not is_stale(day, today, max_months):
        return []
    return [
        f"the {gpu} price ({usd(usd_per_gpu_hour, 2)}/h) is from {as_of}, "
        f"{count(months_between(day, today), 'month')} ago: "
        "pin what you pay in [hardware] usd_per_gpu_hour"
    ]
