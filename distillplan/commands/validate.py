"""``distillplan validate [SPEC...]``: every problem of every spec, one located line each
(the pre-commit hook ``distillplan-validate``; click is never imported on this path)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from distillplan.commands._io import EXIT_OK, EXIT_USER, say
from distillplan.errors import SpecError
from distillplan.spec.load import load_spec


def run(specs: Sequence[str | Path], *, quiet: bool) -> int:
    """0 when every spec is valid, 1 otherwise."""
    failed = False
    for arg in specs or ("distill.toml",):
        try:
            sf = load_spec(arg)
        except SpecError as e:
            failed = True
            say(str(e), err=True)
        else:
            if not quiet:
                say(f"{sf.display}: ok")
    return EXIT_USER if failed else EXIT_OK
