"""Every error a user can see. One root, ``DistillError``; each message is complete.

The command line prints ``str(error)`` (one line per problem) and exits 1 for any
``DistillError``. Anything else escaping a command is a bug (exit 3).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

#: C0 and C1 control characters, DEL, and the Unicode line/paragraph separators and
#: bidirectional overrides: anything that could end a line, move the cursor or reorder text.
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")


def _escape_control(m: re.Match[str]) -> str:
    c = ord(m.group())
    return {9: "\\t", 10: "\\n", 13: "\\r"}.get(c) or (f"\\x{c:02x}" if c < 0x100 else f"\\u{c:04x}")


def one_line(text: str) -> str:
    """``text`` with every control character shown as an escape (``\\n``, ``\\x1b``): a
    message built from a user's value stays one line and cannot drive the terminal."""
    return _CONTROL.sub(_escape_control, text)


_TERMINAL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")


def terminal_text(text: str) -> str:
    """Text for a terminal (or a file the output is redirected to): lines and tabs kept, every
    other control character, line separator and bidirectional override written as ``\\uXXXX``,
    which reads the same in a JSON string, so JSON output stays valid and means the same."""
    return _TERMINAL.sub(lambda m: f"\\u{ord(m.group()):04x}", text)


def quote_value(value: str, limit: int = 80) -> str:
    """A user's string as messages quote it: in double quotes, control characters escaped,
    cut to ``limit`` characters."""
    body = one_line(value.replace("\\", "\\\\").replace('"', '\\"'))
    return '"' + (body[:limit] + "…" if len(body) > limit else body) + '"'


class DistillError(Exception):
    """Root of every user-facing error. ``str()`` is what the user sees."""

    exit_code: int = 1


@dataclass(frozen=True, order=True)
class Problem:
    """One located problem: ``PATH:LINE:COL: key.path: message``."""

    path: str
    line: int
    col: int
    key: str
    message: str

    def __str__(self) -> str:
        key = f" {one_line(self.key)}:" if self.key else ""
        return f"{one_line(self.path)}:{self.line}:{self.col}:{key} {one_line(self.message)}"


class SpecError(DistillError):
    """A ``distill.toml`` (or another input file) has one or more located problems."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = sorted(problems)
        super().__init__("\n".join(str(p) for p in self.problems))


class LocatedError(DistillError):
    """A single problem in an input file other than the spec (predictions, eval JSONL)."""

    def __init__(self, *, path: str, line: int, message: str, key: str = "", col: int = 1) -> None:
        self.problem = Problem(path, line, col, key, message)
        super().__init__(str(self.problem))


class InputError(DistillError):
    """An input that is not a regular file (a FIFO, a device, a folder) or is too large to read:
    ``str()`` is the whole located message (``PATH: what is wrong``)."""


class ArchitectureError(DistillError):
    """A student architecture cannot be found or read."""


class LockError(DistillError):
    """``distill.lock`` is missing, malformed, or does not verify."""


class ScaffoldError(DistillError):
    """The generated tree cannot be written (path escape, refusal to overwrite)."""


class RepoError(DistillError):
    """A git operation failed (not a repo, unknown revision)."""


class AcceptanceError(DistillError):
    """The acceptance test cannot be run (lock does not verify, bad predictions)."""


class TeacherDataError(DistillError):
    """Teacher batch requests or results that cannot be built or read."""
