"""``distillplan diff REV [SPEC]``: the plan at a git revision against the plan now.

* :func:`spec_at_revision` reads the spec's bytes at ``REV`` (gitpython, via ``repo.py``).
* :func:`diff_plans` compares two plans; pure. ``old=None`` (no spec at ``REV``) shows
  everything as added.
* :func:`render_diff` prints the comparison as ``text``, ``json`` (versioned) or ``markdown``.
* :func:`diff_at` ties them together for the command line.

Both sides are planned with the **working tree's** eval state (lock and eval files) and
the working tree's architecture files (a catalog name, or a local folder resolved
against the spec's folder now): the diff shows what the spec change does to the verdict
and the money, not how the eval lock changed. A local ``base_model`` folder that exists
only at ``REV`` therefore cannot be planned and raises ``ArchitectureError``.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from distillplan.commands._io import say
from distillplan.git import file_at, relpath_in_repo
from distillplan.outputs.diff_report import render_diff
from distillplan.plan.build import eval_state_for, plan_for_file
from distillplan.plan.diff import PlanDiff, diff_plans
from distillplan.spec.load import SpecFile, load_spec, parse_spec

__all__ = ["diff_at", "run", "spec_at_revision"]


def spec_at_revision(spec_file_path: Path, rev: str) -> tuple[bytes | None, str]:
    """The spec's bytes at ``rev`` (None when absent there) and its display ``REV:relpath``."""
    _, rel = relpath_in_repo(spec_file_path)
    return file_at(spec_file_path, rev), f"{rev}:{rel}"


def diff_at(spec_arg: str | Path, rev: str) -> PlanDiff:
    """Plan the spec at ``rev`` and now, and compare (see the module docstring)."""
    sf = load_spec(spec_arg)
    data, display = spec_at_revision(sf.path, rev)
    state = eval_state_for(sf.spec, sf.dir)
    new = plan_for_file(sf, eval_state=state)
    old = None
    if data is not None:
        # the old spec is priced with today's price book of this repository: the diff shows what the spec changed
        spec = parse_spec(data, display=display, base_dir=None, prices_root=sf.spec.prices_root)
        old_sf = SpecFile(spec=spec, path=sf.path, display=display, sha256=hashlib.sha256(data).hexdigest())
        old = plan_for_file(old_sf, eval_state=state)
    return diff_plans(old, new, old_ref=display, new_ref=sf.display)


def run(spec_arg: str | Path, rev: str, fmt: str) -> int:
    """``distillplan diff REV [SPEC] --format FMT``: print the comparison; exit 0."""
    if fmt not in ("text", "json", "markdown"):
        raise ValueError(f"unknown diff format {fmt!r} (text, json or markdown)")
    say(render_diff(diff_at(spec_arg, rev), fmt), end="")  # type: ignore[arg-type]  # checked above
    return 0
