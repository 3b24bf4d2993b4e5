"""``distillplan scaffold [SPEC] [--pretend] [--diff] [--check] [--force]``: the generated tree."""

from __future__ import annotations

from pathlib import Path

from distillplan.commands._io import say
from distillplan.commands._prices import warn_prices
from distillplan.outputs.scaffold import Mode, ScaffoldResult, scaffold


def scaffold_text(
    spec_arg: str | Path,
    *,
    pretend: bool = False,
    diff: bool = False,
    check: bool = False,
    force: bool = False,
) -> tuple[int, str]:
    """``distillplan scaffold``: (exit code, text to print)."""
    return _scaffold_text(spec_arg, pretend=pretend, diff=diff, check=check, force=force)[:2]


def _scaffold_text(
    spec_arg: str | Path, *, pretend: bool, diff: bool, check: bool, force: bool
) -> tuple[int, str, ScaffoldResult]:
    mode: Mode = "check" if check else "diff" if diff else "pretend" if pretend else "write"
    result = scaffold(spec_arg, mode=mode, force=force)
    if mode == "check":
        if result.ok:
            return 0, "generated files are up to date\n", result
        return 1, "\n".join(result.problems) + "\n", result
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
    return 0, text, result


def run(spec: str | Path, *, pretend: bool, diff: bool, check: bool, force: bool, stale_warning: bool = True) -> int:
    """Write (or pretend, diff, check) the tree; the documents carry prices, so their warnings
    (stale, retired, third-party) go to stderr as with `plan` (not with --check, the hook's path)."""
    code, text, result = _scaffold_text(spec, pretend=pretend, diff=diff, check=check, force=force)
    if text:
        say(text.rstrip("\n"))
    sf = result.spec_file
    if stale_warning and not check and result.plan is not None and sf is not None and not result.starter:
        warn_prices(sf.display, result.plan, sf.spec.policy.price_staleness_months)
    return code
