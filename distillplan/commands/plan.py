"""``distillplan plan [SPEC] --format text|json|markdown``: verdict, cost lines, payback, sizing."""

from __future__ import annotations

import datetime as dt
import os
import sys
from pathlib import Path

from distillplan.commands._io import EXIT_OK, say
from distillplan.errors import DistillError
from distillplan.outputs.report import Format, render
from distillplan.plan.build import plan_for_file
from distillplan.plan.staleness import stale_prices
from distillplan.spec.load import load_spec


def today() -> dt.date:
    """The day the plan is read: ``DISTILLPLAN_TODAY`` (YYYY-MM-DD) when set, else the clock."""
    pinned = os.environ.get("DISTILLPLAN_TODAY")
    if pinned:
        try:
            return dt.date.fromisoformat(pinned)
        except ValueError:
            raise DistillError(f"DISTILLPLAN_TODAY: not a date (got {pinned[:40]!r}); use YYYY-MM-DD") from None
    return dt.date.today()


def run(spec: str | Path, *, fmt: Format, color: bool | None, stale_warning: bool = True) -> int:
    """Print the plan; ``color`` None means: on a terminal, for the text report only. Prices
    older than ``[policy] price_staleness_months`` are warned about on stderr, so the report
    itself (and the JSON) stays the same bytes whatever the day."""
    sf = load_spec(spec)
    result = plan_for_file(sf)
    use_color = sys.stdout.isatty() if color is None else color
    say(render(result, fmt, color=use_color and fmt == "text"), end="")
    if stale_warning:
        for line in stale_prices(result, today(), sf.spec.policy.price_staleness_months):
            say(f"{sf.display}: warning: {line}", err=True)
    return EXIT_OK
