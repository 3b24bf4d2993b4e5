"""Stale prices: the only part of planning that looks at the calendar.

The plan itself is a pure function of the spec (same spec, same bytes); whether the prices it
used are still fresh depends on the day it is read, so the warning is computed apart, from the
plan and a date the caller supplies, and the commands print it on stderr.
"""

from __future__ import annotations

import datetime as dt

from distillplan.plan.model import Plan

__all__ = ["is_stale", "months_between", "parse_as_of", "stale_prices"]


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
    """Whether a price read on ``as_of`` (a date, ``2026-01`` or ``2026-01-15``) is older than
    ``max_months`` on ``today``; an unreadable date is not called stale."""
    day = as_of if isinstance(as_of, dt.date) else parse_as_of(as_of)
    return day is not None and months_between(day, today) > max_months


def stale_prices(plan: Plan, today: dt.date, max_months: int) -> list[str]:
    """One sentence per price older than ``max_months`` on ``today``, saying how to pin a current one."""
    out: list[str] = []
    te = plan.teacher
    if te.as_of is not None and (age := months_between(te.as_of, today)) > max_months:
        out.append(
            f"the teacher prices ({te.model}) were read on {te.as_of.isoformat()}, {age} months ago "
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
    gpu_date = parse_as_of(plan.sizing.gpu_price_as_of)
    if gpu_date is not None and (age := months_between(gpu_date, today)) > max_months:
        out.append(
            f"the {plan.sizing.gpu} price (${plan.sizing.usd_per_gpu_hour:.2f}/h) is from "
            f"{plan.sizing.gpu_price_as_of}, "
            f"{age} months ago: pin what you pay in [hardware] usd_per_gpu_hour"
        )
    return out
