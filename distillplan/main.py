"""The console script's entry point and the one top-level error handler.

``distillplan validate`` and ``distillplan check`` run on every commit (pre-commit hooks),
so their plain forms (paths and ``-q``) are dispatched here without importing click, which
saves a tenth of their start-up; everything else, ``--help`` included, goes through the
click command line in :mod:`distillplan.cli`. Both paths share :func:`guarded`, which maps
exceptions to exit codes: user error 1, usage 2, internal bug 3, interrupt 130.
"""

from __future__ import annotations

import os
import signal
import sys
from collections.abc import Callable, Sequence

from distillplan.errors import DistillError, one_line

EXIT_USER, EXIT_BUG, EXIT_INTERRUPT = 1, 3, 130

#: Set by the console's SIGINT handler: a library that catches the KeyboardInterrupt and raises its own
#: error instead (pydantic-core turns one raised while it builds a model's schema into a SchemaError)
#: still ends as an interrupt, 130, not as an internal error.
_sigint_seen = False


def _on_sigint(signum: int, frame: object) -> None:
    global _sigint_seen
    _sigint_seen = True
    raise KeyboardInterrupt


def _interrupt_in(e: BaseException) -> bool:
    """A ^C this run received, or a KeyboardInterrupt in the exception's chain."""
    seen: set[int] = set()
    cur: BaseException | None = e
    while cur is not None and id(cur) not in seen:
        if isinstance(cur, KeyboardInterrupt):
            return True
        seen.add(id(cur))
        cur = cur.__cause__ or cur.__context__
    return _sigint_seen


def _say(text: str) -> None:
    sys.stderr.write(text + "\n")
    sys.stderr.flush()


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
        _say("distillplan: interrupted")
        return EXIT_INTERRUPT
    except DistillError as e:
        for line in str(e).split("\n"):
            _say(one_line(line))
        return e.exit_code
    except BrokenPipeError:
        _quiet_stdout()
        return EXIT_USER
    except OSError as e:  # the machine said no: a located line, not a bug
        _quiet_stdout()
        _say(os_error_line(e))
        return EXIT_USER
    except RecursionError:
        _say("distillplan: an input is nested too deeply to read (a table, array or JSON value nested hundreds deep)")
        return EXIT_USER
    except MemoryError:
        _say("distillplan: out of memory reading the inputs; is one of them far larger than expected?")
        return EXIT_USER
    except Exception as e:  # the top-level handler: anything else is a bug
        if _interrupt_in(e):  # a ^C that a library caught and re-raised as its own error
            _say("distillplan: interrupted")
            return EXIT_INTERRUPT
        if verbose(argv):
            import traceback  # deferred: only for --verbose (the hook path never loads it)

            traceback.print_exc()
        _say(
            f"distillplan: internal error: {type(e).__name__}: {e}. This is a bug; please report it "
            "with the command you ran (add --verbose for the traceback).",
        )
        return EXIT_BUG


def os_error_line(e: OSError) -> str:
    """``PATH: what the system said`` for a failed read or write (a full disk, a read-only
    folder, a path too long): one line, exit 1."""
    what = e.strerror or type(e).__name__
    if e.filename is None:
        return one_line(f"distillplan: {what} (errno {e.errno})" if e.errno else f"distillplan: {e}")
    names = [os.fsdecode(e.filename)] + ([os.fsdecode(e.filename2)] if e.filename2 is not None else [])
    names = [n if len(n) <= 200 else n[:100] + "…" + n[-99:] for n in names]  # an over-long path, shortened
    return one_line(f"{' -> '.join(names)}: {what}")


def _quiet_stdout() -> None:
    """After stdout failed (closed, or a full disk behind it), make the interpreter's final
    flush of it silent, so exit is one line and no 'Exception ignored' traceback."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError, AttributeError):
        pass


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
        from distillplan.commands import validate  # deferred: the hook path loads only its command

        return lambda: validate.run(paths, quiet=quiet)
    from distillplan.commands import check  # deferred: the hook path loads only its command

    return lambda: check.run(paths)


def _interrupted_outside_a_command(signum: int, frame: object) -> None:
    """^C while the interpreter starts or shuts down: one line and 130, never a traceback."""
    os.write(2, b"distillplan: interrupted\n")
    os._exit(EXIT_INTERRUPT)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``distillplan`` console script and ``python -m distillplan``."""
    if argv is None:  # the console: ^C outside the command exits at once (in-process callers keep theirs)
        try:
            try:
                signal.signal(signal.SIGINT, _on_sigint)  # inside: KeyboardInterrupt (and noted), cleaned up
                return _main(argv)
            finally:
                signal.signal(signal.SIGINT, _interrupted_outside_a_command)
        except KeyboardInterrupt:  # ^C between the handler's return and the swap above
            _say("distillplan: interrupted")
            return EXIT_INTERRUPT
    return _main(argv)


def _main(argv: Sequence[str] | None) -> int:
    # distillplan uses no pydantic plugins; without this, pydantic reads the entry points of
    # every installed distribution when the first model is built (~15 ms of every hook run).
    # Only this process is affected, and a value the user set wins.
    os.environ.setdefault("PYDANTIC_DISABLE_PLUGINS", "__all__")
    args = list(sys.argv[1:] if argv is None else argv)
    if sys.stdout is None or sys.stderr is None:  # started with a standard stream closed (`>&-`)
        if sys.stderr is not None:
            _say("distillplan: standard output is closed; nothing can be printed")
        return EXIT_USER
    return guarded(lambda: _dispatch(args), args)


def _dispatch(args: list[str]) -> int:
    """Choose and run the command. Runs inside :func:`guarded`, deferred imports included, so a
    ^C or a broken install while a command's modules load is one line too, never a traceback."""
    fast = _fast(args)
    if fast is not None:
        return fast()
    from distillplan.cli import run_click  # deferred: the hook path never loads click

    return run_click(args)
