"""``distillplan scaffold [SPEC] [--pretend] [--diff] [--check] [--force]``: the generated tree."""

from __future__ import annotations

from pathlib import Path

from distillplan.commands._io import say
from distillplan.outputs.scaffold import Mode, scaffold


def scaffold_text(
    spec_arg: str | Path,
    *,
    pretend: bool = False,
    diff: bool = False,
    check: bool = False,
    force: bool = False,
) -> tuple[int, str]:
    """``distillplan scaffold``: (exit code, text to print)."""
    mode: Mode = "check" if check else "diff" if diff else "pretend" if pretend else "write"
    result = scaffold(spec_arg, mode=mode, force=force)
    if mode == "check":
        if result.ok:
            return 0, "generated files are up to date\n"
        return 1, "\n".join(result.problems) + "\n"
    text = "\n".join(result.lines()) + "\n"
    if mode == "diff":
        text += result.diff
    if mode in ("pretend", "diff"):
        text += "(nothing written)\n"
    if result.starter:
        text += (
            f"{result.starter}: a starter spec; fill in [project] (client, provider, start), "
            "[workload] volume, [teacher], [student] and [eval] (datasets, teacher_score), "
            "then run `distillplan scaffold` again\n"
        )
    return 0, text


def run(spec: str | Path, *, pretend: bool, diff: bool, check: bool, force: bool) -> int:
    code, text = scaffold_text(spec, pretend=pretend, diff=diff, check=check, force=force)
    if text:
        say(text.rstrip("\n"))
    return code
