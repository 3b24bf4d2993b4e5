"""Printing for the commands: one line at a time, flushed, to stdout or stderr; and the day
the commands that look at the calendar read."""

from __future__ import annotations

import datetime as dt
import os
import sys

from distillplan.errors import DistillError, terminal_text

EXIT_OK, EXIT_USER = 0, 1


def say(text: str, *, err: bool = False, end: str = "\n") -> None:
    """Print ``text``: every control character but line feed and tab shown as a ``\\uXXXX``
    escape (:func:`~distillplan.errors.terminal_text`), whatever a report let through."""
    stream = sys.stderr if err else sys.stdout
    stream.write(terminal_text(text) + end)
    stream.flush()


def today() -> dt.date:
    """The day the plan is read: ``DISTILLPLAN_TODAY`` (YYYY-MM-DD) when set, else the clock."""
    pinned = os.environ.get("DISTILLPLAN_TODAY")
    if pinned:
        try:
            return dt.date.fromisoformat(pinned)
        except ValueError:
            raise DistillError(f"DISTILLPLAN_TODAY: not a date (got {pinned[:40]!r}); use YYYY-MM-DD") from None
    return dt.date.today()
