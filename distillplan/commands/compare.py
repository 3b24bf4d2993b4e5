"""``distillplan compare [SPEC] --format text|json|markdown``: every candidate student x serving
precision x GPU x fine-tuning method, planned and ranked by payback."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from distillplan.commands._io import EXIT_OK, say
from distillplan.outputs.compare_report import Format, render
from distillplan.plan.compare import compare_for_file
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
) -> int:
    """Print the ranked candidates; the flags replace the spec's ``[compare]`` axes."""
    result = compare_for_file(load_spec(spec), students=students, precisions=precisions, gpus=gpus, methods=methods)
    say(render(result, fmt), end="")
    return EXIT_OK
