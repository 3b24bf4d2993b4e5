"""``distillplan plan [SPEC] --format text|json|markdown``: verdict, cost lines, payback, sizing."""

from __future__ import annotations

import sys
from pathlib import Path

from distillplan.commands._io import EXIT_OK, say
from distillplan.outputs.report import Format, render
from distillplan.plan.build import plan_for_file
from distillplan.spec.load import load_spec


def run(spec: str | Path, *, fmt: Format, color: bool | None) -> int:
    """Print the plan; ``color`` None means: on a terminal, for the text report only."""
    result = plan_for_file(load_spec(spec))
    use_color = sys.stdout.isatty() if color is None else color
    say(render(result, fmt, color=use_color and fmt == "text"), end="")
    return EXIT_OK
