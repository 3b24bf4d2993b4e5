"""``distillplan validate [SPEC...]``: every problem of every spec, one located line each
(the pre-commit hook ``distillplan-validate``; click is never imported on this path)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from distillplan.commands._io import EXIT_OK, EXIT_USER, say
from distillplan.errors import SpecError
from distillplan.spec.load import SpecFile, load_spec

#: validate reads the eval set only up to this size (the hook stays fast; lock reads any size)
EVAL_READ_LIMIT_BYTES = 64 * 2**20


def _eval_data(sf: SpecFile) -> str:
    """When the eval files exist (and are not huge): the first problem ``accept`` would refuse
    the set for, at its file and line, so bad data is caught before the lock and the payment."""
    e = sf.spec.eval
    if not all((sf.dir / d).is_file() for d in e.datasets):
        return ""
    from distillplan.evalset.accept import unscorable  # deferred: only when the eval files exist

    return unscorable(sf.dir, e, shown_base=Path(sf.display).parent, limit_bytes=EVAL_READ_LIMIT_BYTES)


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
            if problem := _eval_data(sf):
                failed = True
                say(problem, err=True)
            elif not quiet:
                say(f"{sf.display}: ok")
    return EXIT_USER if failed else EXIT_OK
