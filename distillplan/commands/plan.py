"""``distillplan plan [SPEC] --format text|json|markdown``: verdict, cost lines, payback, sizing."""

from __future__ import annotations

import sys
from pathlib import Path

from distillplan.commands._inputs import plan_for_file
from distillplan.commands._io import EXIT_OK, say
from distillplan.commands._prices import warn_prices
from distillplan.outputs.report import Format, render
from distillplan.spec.load import load_spec


def run(spec: str | Path, *, fmt: Format, color: bool | None, stale_warning: bool = True) -> int:
    """Print the plan; ``color`` None means: on a terminal, for the text report only. Prices
    older than ``[policy] price_staleness_months`` are warned about on stderr, so the report
    itself (and the JSON) stays the same bytes whatever the day."""
    sf = load_spec(spec)
    result = plan_for_file(sf)
    use_color = sys.stdout.isatty() if color is None else color
    say(render(result, fmt, color=use_color and fmt == "text"), end="")
    if stale_warning:
        warn_prices(sf.display, result, sf.spec.policy.price_staleness_months)
    return EXIT_OK
