"""``distillplan diff BASE [HEAD] [SPEC]``: the plan at revision ``BASE`` against the plan at
``HEAD`` (default: the working tree), judged by the guardrails.

* :func:`diff_between` plans both sides and compares the plans
  (:func:`distillplan.plan.diff.diff_plans`); :func:`diff_at` is the working-tree form.
* Each side's spec and ``distill.lock`` are read at its revision through the git binary with
  capped reads (:func:`distillplan.git.blob_at`); a spec moved between the revisions is followed
  by git's rename detection, one added or removed is all ``+`` or all ``-``.
* A revision side is planned with its own lock (baseline, thresholds, hash, the eval files it
  names checked against that revision's tree) and, like the working tree, with the working
  tree's architecture files and eval rows (counts, pilot): the diff shows what the change does
  to the verdict, the money and the contract.
* Guardrails (``--fail-on`` and the **base** revision's ``[policy.guardrails]``, so a pull
  request cannot switch off the check that judges it) breach with exit code 6.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from distillplan.commands._io import say
from distillplan.errors import DistillError, LockError, RepoError
from distillplan.evalset.lockfile import LOCK_NAME, MAX_LOCK_BYTES, LockFile, loads_lock, read_lock
from distillplan.git import (
    blob_at,
    blobs_at,
    commit_id,
    is_revision,
    relpath_in_repo,
    renamed_path,
    repo_root,
    tree_entries,
)
from distillplan.outputs.diff_report import render_diff
from distillplan.plan.build import PlanInputs, build_plan, eval_state_for, plan_for_file
from distillplan.plan.build import _read_set as read_eval_rows  # the rows only: no lock to verify
from distillplan.plan.decision import EvalState
from distillplan.plan.diff import LockChange, PlanDiff, diff_plans
from distillplan.plan.guardrails import BREACH_EXIT_CODE, Breach, conditions_of, evaluate
from distillplan.plan.model import Plan
from distillplan.sizing.architecture import load_architecture
from distillplan.spec.load import MAX_SPEC_BYTES, SPEC_NAME, SpecFile, load_spec, parse_spec
from distillplan.spec.models import Spec

__all__ = ["FORMATS", "DiffResult", "diff_at", "diff_between", "resolve_args", "run", "spec_at_revision"]

FORMATS = ("text", "json", "markdown", "github")


@dataclass(frozen=True)
class _Side:
    ref: str  # REV:path, or the working-tree path as given
    spec: Spec
    plan: Plan
    lock: LockFile | None
    lock_problem: str


@dataclass(frozen=True)
class DiffResult:
    diff: PlanDiff
    breaches: list[Breach]
    spec_path: str  # POSIX, relative to the repository root (the comment's marker)


def spec_at_revision(spec_file_path: Path, rev: str) -> tuple[bytes | None, str]:
    """The spec's bytes at ``rev`` (None when absent there) and its display ``REV:relpath``."""
    root, rel = relpath_in_repo(spec_file_path)
    return blob_at(root, commit_id(root, rev), rel, limit_bytes=MAX_SPEC_BYTES + 1), f"{rev}:{rel}"


def _spec_path(spec_arg: str | Path) -> Path:
    """A SPEC argument as a file path: a folder (or, gone from the working tree, a path that does
    not end in ``.toml``: a folder removed since the base) means the ``distill.toml`` inside it."""
    p = Path(spec_arg)
    return p / SPEC_NAME if p.is_dir() or (not p.exists() and p.suffix != ".toml") else p


def _lock_change(old: _Side | None, new: _Side | None) -> LockChange:
    def h(s: _Side | None) -> str | None:
        return s.lock.eval.hash if s and s.lock and s.lock.eval else None

    old_hash, new_hash = h(old), h(new)
    reason = None
    if new is not None and new.lock is not None and new.lock.eval is not None and old_hash is not None:
        reason = next((e.reason for e in new.lock.eval.history if e.hash == old_hash), None)
    problem = "; ".join(s.lock_problem for s in (old, new) if s and s.lock_problem)
    return LockChange(old_hash=old_hash, new_hash=new_hash, reason=reason, problem=problem)


def _rev_eval_state(spec: Spec, wt_dir: Path, root: Path, commit: str, folder: str, lock: LockFile | None) -> EvalState:
    """The eval state at a revision: the files the spec names and the lock's hashes checked against
    that revision's tree (git blob ids); the rows (counts, pilot) read from the working tree."""

    def rel(p: str) -> str:
        return str(PurePosixPath(folder, p)) if folder else p

    locked = lock.eval.files if lock is not None and lock.eval is not None else ()
    tree = tree_entries(root, commit, [rel(d) for d in spec.eval.datasets] + [rel(e.path) for e in locked])
    missing = tuple(d for d in spec.eval.datasets if rel(d) not in tree)
    here_missing = any(not (wt_dir / d).is_file() for d in spec.eval.datasets)
    counts, problem, pilot = ((), "", None) if here_missing else read_eval_rows(spec, wt_dir)
    state = EvalState(files_missing=missing, examples_per_stratum=counts, data_problem=problem, pilot=pilot)
    if lock is None or lock.eval is None:
        return state
    changes = []
    for e in locked:
        at = tree.get(rel(e.path))
        if at is None:
            changes.append(f"deleted {e.path}")
        elif e.git_blob and at[1] != e.git_blob:
            changes.append(f"modified {e.path}")
    return dataclasses.replace(state, locked=True, lock_hash=lock.eval.hash, changes=tuple(changes))


def _side_at(root: Path, rev: str, commit: str, rel: str) -> _Side | None:
    folder = str(PurePosixPath(rel).parent)
    folder = "" if folder == "." else folder
    lock_rel = f"{folder}/{LOCK_NAME}" if folder else LOCK_NAME
    # One read of both files (capped at the lock's limit; parse_spec refuses a spec above its own).
    found = blobs_at(root, commit, [rel, lock_rel], limit_bytes=max(MAX_SPEC_BYTES + 1, MAX_LOCK_BYTES))
    data = found[rel]
    if data is None:
        return None
    ref = f"{rev}:{rel}"
    spec = parse_spec(data, display=ref, base_dir=None)
    lock, problem = None, ""
    raw = found[lock_rel]
    try:
        lock = loads_lock(raw, f"{rev}:{lock_rel}") if raw is not None else None
    except LockError as e:
        problem = str(e)
    wt_dir = root / folder if folder else root
    state = _rev_eval_state(spec, wt_dir, root, commit, folder, lock)
    arch = load_architecture(spec.student.base_model, base_dir=wt_dir)
    baseline = lock.eval.baseline if lock is not None and lock.eval is not None else None
    plan = build_plan(spec, PlanInputs(architecture=arch, eval_state=state, baseline=baseline))
    return _Side(ref=ref, spec=spec, plan=plan, lock=lock, lock_problem=problem)


def _side_now(path: Path) -> _Side | None:
    if not path.exists():
        return None
    sf: SpecFile = load_spec(path)
    lock, problem = None, ""
    try:
        lock = read_lock(sf.dir)
    except LockError as e:
        problem = str(e)
    plan = plan_for_file(sf, eval_state=eval_state_for(sf.spec, sf.dir))
    return _Side(ref=sf.display, spec=sf.spec, plan=plan, lock=lock, lock_problem=problem)


def diff_between(
    spec_arg: str | Path, base: str, head: str | None = None, *, fail_on: Sequence[str] = ()
) -> DiffResult:
    """Plan the spec at ``base`` and at ``head`` (None: the working tree), compare, and judge the
    guardrails (``fail_on`` and the base spec's ``[policy.guardrails]``)."""
    cli_conditions = conditions_of(fail_on)
    path = _spec_path(spec_arg)
    root, rel = relpath_in_repo(path)
    base_commit = commit_id(root, base)
    head_commit = commit_id(root, head) if head is not None else None
    old = _side_at(root, base, base_commit, rel)
    if head is not None and head_commit is not None:
        new = _side_at(root, head, head_commit, rel)
    else:
        new = _side_now(path)
    old_rel = new_rel = rel
    # Absent on one side: moved? (git's rename detection, asked only then: it diffs whole trees.)
    moved = renamed_path(root, base_commit, head_commit, rel) if old is None or new is None else None
    if moved is not None:
        old_rel, new_rel = moved
        if old is None:
            old = _side_at(root, base, base_commit, old_rel)
        elif head is not None and head_commit is not None:
            new = _side_at(root, head, head_commit, new_rel)
        else:
            new = _side_now(root / new_rel)
    if old is None and new is None:
        where = f"{head!r}" if head is not None else "the working tree"
        raise RepoError(f"{rel}: no spec at {base!r} nor in {where} (a SPEC is a distill.toml or a folder holding one)")
    diff = diff_plans(
        old.plan if old else None,
        new.plan if new else None,
        old_ref=old.ref if old else f"{base}:{old_rel}",
        new_ref=new.ref if new else (f"{head}:{new_rel}" if head is not None else str(path)),
        old_milestones=old.spec.milestones if old else (),
        new_milestones=new.spec.milestones if new else (),
        lock=_lock_change(old, new),
        moved_from=old_rel if old_rel != new_rel else "",
    )
    owner = old or new
    assert owner is not None
    policy_conditions = conditions_of(owner.spec.policy.guardrails.fail_on)
    conditions = list({c.text: c for c in [*cli_conditions, *policy_conditions]}.values())
    return DiffResult(diff=diff, breaches=evaluate(conditions, diff), spec_path=new_rel)


def diff_at(spec_arg: str | Path, rev: str) -> PlanDiff:
    """The plan at ``rev`` against the working tree's."""
    return diff_between(spec_arg, rev).diff


def resolve_args(args: Sequence[str], spec_opt: Path | None) -> tuple[str, str | None, str | Path]:
    """``BASE [HEAD] [SPEC]`` -> (base, head or None, spec). With two arguments the second is
    the SPEC when it names an existing file or folder, else a revision; both: ambiguous, refused."""
    if not args or len(args) > 3:
        raise RepoError(
            "diff takes BASE [HEAD] [SPEC]: the base revision, the head revision (default: the "
            "working tree) and the spec (default: distill.toml)"
        )
    if spec_opt is not None and len(args) == 3:
        raise RepoError("diff: the spec is given twice (a third argument and --spec)")
    base = args[0]
    spec: str | Path = spec_opt if spec_opt is not None else SPEC_NAME
    if len(args) == 3:
        return base, args[1], args[2]
    if len(args) == 1:
        return base, None, spec
    second = args[1]
    if spec_opt is not None or not Path(second).exists():
        return base, second, spec
    root = repo_root(Path.cwd()) or repo_root(Path(second))
    if root is not None and is_revision(root, second):
        raise RepoError(
            f"diff: {second!r} is both a revision and a path: give the spec with --spec, or both revisions and the spec"
        )
    return base, None, second


def run(args: Sequence[str], fmt: str, *, spec_opt: Path | None = None, fail_on: Sequence[str] = ()) -> int:
    """``distillplan diff BASE [HEAD] [SPEC] --format FMT [--fail-on COND]...``: print the
    comparison; exit 0, or 6 when a guardrail is breached (each named on stderr, both values)."""
    if fmt not in FORMATS:
        raise ValueError(f"unknown diff format {fmt!r} ({', '.join(FORMATS)})")
    try:
        conditions_of(fail_on)  # a condition that does not parse: one line, before any git work
    except ValueError as e:
        raise DistillError(str(e)) from None
    base, head, spec = resolve_args(args, spec_opt)
    result = diff_between(spec, base, head, fail_on=fail_on)
    say(render_diff(result.diff, fmt, breaches=result.breaches, spec_path=result.spec_path), end="")  # type: ignore[arg-type]
    for b in result.breaches:
        say(f"distillplan diff: {b}", err=True)
    return BREACH_EXIT_CODE if result.breaches else 0
