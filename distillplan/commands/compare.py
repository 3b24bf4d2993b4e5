"""``distillplan compare [SPEC] --format text|json|markdown``: every candidate student x serving
precision x GPU x fine-tuning method, planned and ranked by payback."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from distillplan.commands._inputs import compare_for_file
from distillplan.commands._io import EXIT_OK, say
from distillplan.commands._prices import warn_compare_prices
from distillplan.outputs.compare_report import Format, render
from distillplan.spec.load import load_spec
from distillplan.spec.registry import Method, Precision


def run(
    spec: str | Path,
    *,
    fmt: Format,
    students: Sequence[str] = (),
    precisions: Sequence[Precision] = (),
    gpus: Sequence[str] = (),
    methods: Sequence[Method] = (),
    stale_warning: bool = True,
) -> int:
    """Print the ranked candidates; the flags replace the spec's ``[compare]`` axes. The price
    warnings of `plan` go to stderr, for the teacher and every GPU swept."""
    sf = load_spec(spec)
    result = compare_for_file(sf, students=students, precisions=precisions, gpus=gpus, methods=methods)
    say(render(result, fmt), end="")
    if stale_warning:
        warn_compare_prices(sf, dict.fromkeys([*result.axes.gpus, sf.spec.hardware.gpu]))
    return EXIT_OK
