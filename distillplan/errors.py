"""Every error a user can see. One root, ``DistillError``; each message is complete.

The command line prints ``str(error)`` (one line per problem) and exits 1 for any
``DistillError``. Anything else escaping a command is a bug (exit 3).
"""

from __future__ import annotations

from dataclasses import dataclass


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
        key = f" {self.key}:" if self.key else ""
        return f"{self.path}:{self.line}:{self.col}:{key} {self.message}"


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
