"""Progress on stderr for long work (lock, check, accept, monitor, teacher-data, compare).

One line, rewritten in place (``\\r``) at most five times a second, and erased when the work ends,
so what the command prints after it is unchanged. It is shown only when all of these hold:

- stderr is a terminal (a pipe, a file or a CI log never receives it);
- the process is not a pre-commit hook (pre-commit sets ``PRE_COMMIT=1``), and ``DISTILLPLAN_PROGRESS``
  is not ``0``;
- the command is not writing ``--format json`` (:func:`silenced`);
- the work has run for :data:`DELAY_SECONDS` already (``DISTILLPLAN_PROGRESS_DELAY`` seconds when set):
  short work prints nothing at all.

Usage: ``with progress("reading eval/x.jsonl", total=size, unit="MiB") as tick: ... tick(done)``; ``tick``
takes the amount done so far and costs a clock read at most, so a loop calls it every few thousand
rows. With nothing to show, :func:`progress` yields a tick that does nothing.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from contextvars import ContextVar
from typing import TextIO

__all__ = ["DELAY_SECONDS", "Tick", "progress", "showing", "silenced"]

DELAY_SECONDS = 1.0  #: the line appears once the work has run this long
_EVERY = 0.2  #: seconds between redraws
_SILENCED: ContextVar[bool] = ContextVar("distillplan_progress_silenced", default=False)
_UNITS = {"MiB": 1 << 20}  #: a unit shown scaled (the others are counts)

Tick = Callable[[int], None]


def _nothing(done: int) -> None:
    pass


def showing(stream: TextIO | None = None) -> bool:
    """Whether progress would be shown on ``stream`` (default: stderr) now."""
    s = sys.stderr if stream is None else stream
    if _SILENCED.get() or os.environ.get("PRE_COMMIT") or os.environ.get("DISTILLPLAN_PROGRESS") == "0":
        return False
    try:
        return s is not None and s.isatty()
    except (AttributeError, ValueError, OSError):  # a closed or unusual stream: no terminal
        return False


@contextmanager
def silenced(yes: bool = True) -> Iterator[None]:
    """No progress inside (``--format json``: the output is for a program, even on a terminal)."""
    token = _SILENCED.set(_SILENCED.get() or yes)
    try:
        yield
    finally:
        _SILENCED.reset(token)


def _delay() -> float:
    """:data:`DELAY_SECONDS`, or ``DISTILLPLAN_PROGRESS_DELAY`` seconds when set (0: at once)."""
    try:
        return max(0.0, float(os.environ.get("DISTILLPLAN_PROGRESS_DELAY", DELAY_SECONDS)))
    except ValueError:
        return DELAY_SECONDS


class _Line:
    def __init__(self, what: str, total: int | None, unit: str, stream: TextIO) -> None:
        self.what, self.total, self.unit, self.stream = what, total, unit, stream
        self.start = time.monotonic()
        self.next = self.start + _delay()
        self.width = 0

    def __call__(self, done: int) -> None:
        now = time.monotonic()
        if now < self.next:
            return
        self.next = now + _EVERY
        scale = _UNITS.get(self.unit, 1)
        shown = f"{done // scale:,}" + (f"/{self.total // scale:,}" if self.total else "") + f" {self.unit}"
        if self.total:
            shown += f" ({min(100, done * 100 // max(self.total, 1))}%)"
        text = f"distillplan: {self.what} {shown}"
        pad = max(0, self.width - len(text))
        self.width = len(text)
        self.stream.write("\r" + text + " " * pad)
        self.stream.flush()

    def close(self) -> None:
        if self.width:  # erase the line: the command's own output starts on a clean line
            self.stream.write("\r" + " " * self.width + "\r")
            self.stream.flush()


@contextmanager
def progress(
    what: str, *, total: int | None = None, unit: str = "rows", stream: TextIO | None = None
) -> Iterator[Tick]:
    """A tick for work described as ``what`` (``total`` in ``unit``, when known); see the module docstring."""
    s = sys.stderr if stream is None else stream
    if not showing(s):
        yield _nothing
        return
    line = _Line(what, total, unit, s)
    try:
        yield line
    finally:
        with suppress(OSError, ValueError):  # stderr gone: nothing to erase
            line.close()
