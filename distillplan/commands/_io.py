"""Printing for the commands: one line at a time, flushed, to stdout or stderr."""

from __future__ import annotations

import sys

EXIT_OK, EXIT_USER = 0, 1


def say(text: str, *, err: bool = False, end: str = "\n") -> None:
    stream = sys.stderr if err else sys.stdout
    stream.write(text + end)
    stream.flush()
