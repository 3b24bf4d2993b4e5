"""The console script's entry point and the one top-level error handler.

``distillplan validate`` and ``distillplan check`` run on every commit (pre-commit hooks),
so their plain forms (paths and ``-q``) are dispatched here without importing click, which
saves a tenth of their start-up; everything else, ``--help`` included, goes through the
click command line in :mod:`distillplan.cli`. Both paths share :func:`guarded`, which maps
exceptions to exit codes: user error 1, usage 2, internal bug 3, interrupt 130.
"""

from __future__ import annotations

import os
import sys
import traceback
from collections.abc import Callable, Sequence
from pathlib import Path

from distillplan.errors import DistillError, SpecError

EXIT_OK, EXIT_USER, EXIT_USAGE, EXIT_BUG, EXIT_INTERRUPT = 0, 1, 2, 3, 130


def _say(text: str, *, err: bool = False) -> None:
    stream = sys.stderr if err else sys.stdout
    stream.write(text + "\n")
    stream.flush()


def run_validate(specs: Sequence[str | Path], *, quiet: bool) -> int:
    """Every problem of every spec, one located line each; 0 when all are valid."""
    from distillplan.loader import load_spec

    failed = False
    for arg in specs or ("distill.toml",):
        try:
            sf = load_spec(arg)
        except SpecError as e:
            failed = True
            _say(str(e), err=True)
        else:
            if not quiet:
                _say(f"{sf.display}: ok")
    return EXIT_USER if failed else EXIT_OK


def run_check(specs: Sequence[str | Path]) -> int:
    """Validate + eval lock intact + generated files fresh (the pre-commit hook)."""
    from distillplan.actions import check

    result = check([str(s) for s in specs] or ["distill.toml"])
    for line in result.lines:
        _say(line, err=not result.ok)
    return EXIT_OK if result.ok else EXIT_USER


def verbose(argv: Sequence[str]) -> bool:
    for a in argv:
        if a == "--":
            return False
        if a in ("--verbose", "-v"):
            return True
    return False


def guarded(run: Callable[[], int], argv: Sequence[str]) -> int:
    """Run a command; turn any exception into its exit code and one line on stderr."""
    try:
        return run()
    except KeyboardInterrupt:
        _say("distillplan: interrupted", err=True)
        return EXIT_INTERRUPT
    except DistillError as e:
        _say(str(e), err=True)
        return e.exit_code
    except BrokenPipeError:
        return EXIT_USER
    except Exception as e:  # the top-level handler: anything else is a bug
        if verbose(argv):
            traceback.print_exc()
        _say(
            f"distillplan: internal error: {type(e).__name__}: {e}. This is a bug; please report it "
            "with the command you ran (add --verbose for the traceback).",
            err=True,
        )
        return EXIT_BUG


def _fast(args: list[str]) -> Callable[[], int] | None:
    """The hook commands in their plain form, or None to let click parse."""
    if not args or args[0] not in ("validate", "check"):
        return None
    rest = args[1:]
    quiet = args[0] == "validate" and any(a in ("-q", "--quiet") for a in rest)
    paths = [a for a in rest if a not in ("-q", "--quiet")]
    if any(a.startswith("-") for a in paths) or (args[0] == "check" and len(paths) != len(rest)):
        return None
    if args[0] == "validate":
        return lambda: run_validate(paths, quiet=quiet)
    return lambda: run_check(paths)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``distillplan`` console script and ``python -m distillplan``."""
    # distillplan uses no pydantic plugins; without this, pydantic reads the entry points of
    # every installed distribution when the first model is built (~15 ms of every hook run).
    # Only this process is affected, and a value the user set wins.
    os.environ.setdefault("PYDANTIC_DISABLE_PLUGINS", "__all__")
    args = list(sys.argv[1:] if argv is None else argv)
    fast = _fast(args)
    if fast is not None:
        return guarded(fast, args)
    from distillplan.cli import run_click

    return guarded(lambda: run_click(args), args)
