"""The commands that touch a user's repo besides planning: ``lock``, ``check`` and
``accept``. Each returns what the CLI prints and an outcome; none imports click.

``check`` is the pre-commit hook: it must not import jinja2, git(python) or transformers
on its common path, so it speaks to git through :mod:`distillplan.gitfast` only."""

from __future__ import annotations

import datetime as dt
import json
import os
from dataclasses import dataclass
from pathlib import Path

from distillplan.errors import AcceptanceError, LockError, SpecError
from distillplan.loader import SpecFile, load_spec


def _today() -> dt.date:
    """The lock date: ``SOURCE_DATE_EPOCH`` when set (reproducible builds), else today."""
    epoch = os.environ.get("SOURCE_DATE_EPOCH")
    if epoch and epoch.isdigit():
        return dt.datetime.fromtimestamp(int(epoch), tz=dt.timezone.utc).date()
    return dt.date.today()


def lock(sf: SpecFile, *, reason: str | None) -> str:
    """Hash the spec's eval set into ``distill.lock`` (P2.3); returns a one-line summary."""
    from distillplan import gitfast
    from distillplan.lock import lock_eval
    from distillplan.lockfile import write_lock

    root = gitfast.repo_root(sf.dir)
    commit = gitfast.head_commit(root) if root else ""
    new, summary = lock_eval(sf.dir, list(sf.spec.eval.datasets), reason=reason, today=_today(), commit=commit)
    write_lock(sf.dir, new)
    return f"{_lock_display(sf)}: {summary}"


def _lock_display(sf: SpecFile) -> str:
    from distillplan.lockfile import LOCK_NAME

    return str(Path(sf.display).parent / LOCK_NAME)


@dataclass(frozen=True)
class CheckResult:
    ok: bool
    lines: list[str]


def check(spec_args: list[str]) -> CheckResult:
    """Validate + eval lock intact + generated files fresh, for every spec."""
    lines: list[str] = []
    ok = True
    for arg in spec_args:
        try:
            sf = load_spec(arg)
        except SpecError as e:
            ok = False
            lines.append(str(e))
            continue
        problems, notes = _check_one(sf)
        ok = ok and not problems
        lines.extend(problems)
        lines.extend(notes)
        if not problems:
            lines.append(f"{sf.display}: ok")
    return CheckResult(ok=ok, lines=lines)


def _check_one(sf: SpecFile) -> tuple[list[str], list[str]]:
    from distillplan.lock import verify_eval
    from distillplan.lockfile import read_lock

    problems: list[str] = []
    notes: list[str] = []
    lock_name = _lock_display(sf)
    try:
        lk = read_lock(sf.dir)
    except LockError as e:
        return [str(e)], []
    if lk is None or lk.eval is None:
        notes.append(f"{lock_name}: note: the eval set is not locked yet (run `distillplan lock`, P2.3)")
    else:
        base = Path(sf.display).parent
        for c in verify_eval(sf.dir, lk, list(sf.spec.eval.datasets)):
            problems.append(f"{base / c.path}: {c.kind}: {c.detail} (eval set locked in {lock_name})")
    if lk is not None and lk.generated is not None:
        from distillplan.scaffold import check_fresh

        problems.extend(check_fresh(sf, lock=lk))
    return problems, notes


@dataclass(frozen=True)
class AcceptOutcome:
    passed: bool
    text: str


def accept(sf: SpecFile, *, predictions: Path, teacher_predictions: Path | None, fmt: str) -> AcceptOutcome:
    """The contract's binary acceptance test (P9.2). Refuses unless the eval lock verifies."""
    from distillplan import accept as acc
    from distillplan import accept_report, gitfast
    from distillplan.lock import verify_eval
    from distillplan.lockfile import read_lock

    spec, lock_name = sf.spec, _lock_display(sf)
    lk = read_lock(sf.dir)
    if lk is None or lk.eval is None:
        raise AcceptanceError(f"{lock_name}: the eval set is not locked; run `distillplan lock` before accepting")
    changes = verify_eval(sf.dir, lk, list(spec.eval.datasets))
    if changes:
        listed = "; ".join(f"{c.path} {c.kind}" for c in changes[:3])
        raise AcceptanceError(f"{lock_name}: the eval lock does not verify ({listed}); refusing to score")
    e = spec.eval
    rows = acc.load_eval(
        [sf.dir / d for d in e.datasets],
        id_field=e.id_field,
        reference_field=e.reference_field,
        strata_field=e.strata_field,
        display_base=sf.dir,
    )
    ids = [r.id for r in rows]
    student = acc.load_predictions(predictions, eval_ids=ids, id_field=e.id_field)
    teacher = (
        acc.load_predictions(teacher_predictions, eval_ids=ids, id_field=e.id_field)
        if teacher_predictions is not None
        else None
    )
    result = acc.evaluate(
        rows,
        student,
        metric=e.metric,
        strata_field=e.strata_field,
        teacher_preds=teacher,
        teacher_score=None if teacher is not None else e.teacher_score,
        max_gap_points=e.max_gap_points,
        max_stratum_gap_points=e.max_stratum_gap_points,
    )
    root = gitfast.repo_root(sf.dir)
    commit = (gitfast.head_commit(root) if root else "") or "(not in a git repository)"
    if fmt == "json":
        text = json.dumps(
            accept_report.to_json(result, lock_hash=lk.eval.hash, commit=commit), indent=2, sort_keys=True
        )
    elif fmt == "markdown":
        text = accept_report.render_markdown(result, lock_hash=lk.eval.hash, commit=commit, spec_name=spec.project.name)
    else:
        text = accept_report.render_text(result, lock_hash=lk.eval.hash, commit=commit)
    return AcceptOutcome(passed=result.passed, text=text.rstrip("\n"))
