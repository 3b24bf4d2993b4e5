"""``distillplan accept [SPEC] --predictions FILE``: the contract's binary acceptance test
(P9.2). Refuses unless the eval lock verifies; PASS exits 0, FAIL exits 1."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from distillplan import git
from distillplan.commands._io import EXIT_OK, EXIT_USER, say
from distillplan.commands.check import lock_display
from distillplan.errors import AcceptanceError
from distillplan.evalset import accept as acc
from distillplan.evalset.fingerprint import verify_eval
from distillplan.evalset.lockfile import read_lock
from distillplan.outputs import accept_report
from distillplan.spec.load import SpecFile, load_spec


@dataclass(frozen=True)
class AcceptOutcome:
    passed: bool
    text: str


def accept(sf: SpecFile, *, predictions: Path, teacher_predictions: Path | None, fmt: str) -> AcceptOutcome:
    """The contract's binary acceptance test (P9.2). Refuses unless the eval lock verifies."""
    spec, lock_name = sf.spec, lock_display(sf)
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
    root = git.repo_root(sf.dir)
    commit = (git.head_commit(root) if root else "") or "(not in a git repository)"
    if fmt == "json":
        text = json.dumps(
            accept_report.to_json(result, lock_hash=lk.eval.hash, commit=commit), indent=2, sort_keys=True
        )
    elif fmt == "markdown":
        text = accept_report.render_markdown(result, lock_hash=lk.eval.hash, commit=commit, spec_name=spec.project.name)
    else:
        text = accept_report.render_text(result, lock_hash=lk.eval.hash, commit=commit)
    return AcceptOutcome(passed=result.passed, text=text.rstrip("\n"))


def run(spec: str | Path, *, predictions: Path, teacher_predictions: Path | None, fmt: str) -> int:
    outcome = accept(load_spec(spec), predictions=predictions, teacher_predictions=teacher_predictions, fmt=fmt)
    say(outcome.text)
    return EXIT_OK if outcome.passed else EXIT_USER
