"""``distillplan accept [SPEC] --predictions FILE``: the contract's binary acceptance test
(P9.2) against the thresholds fixed in ``distill.lock``. Refuses unless the eval lock
verifies and the spec's contract terms match the locked baseline.

Exit codes: 0 PASS, 4 FAIL, 1 cannot score (the lock, the spec or a predictions file is
unusable: one located line), 2 usage, 3 internal error, 130 interrupted."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

from distillplan import git
from distillplan.commands._io import EXIT_OK, say
from distillplan.commands.check import lock_display
from distillplan.errors import AcceptanceError
from distillplan.evalset import accept as acc
from distillplan.evalset.baseline import baseline_drift
from distillplan.evalset.commit import eval_commit
from distillplan.evalset.fingerprint import (
    MAX_SCORED_BYTES,
    entry_file,
    norm_dataset,
    read_regular,
    set_hash,
    verify_eval,
)
from distillplan.evalset.lockfile import EvalEntry, EvalLock, read_lock
from distillplan.outputs import accept_report
from distillplan.spec.load import SpecFile, load_spec

EXIT_FAIL = 4  # the student was scored and failed; 1 means it could not be scored


@dataclass(frozen=True)
class AcceptOutcome:
    passed: bool
    text: str


def scored_bytes(sf: SpecFile, ev: EvalLock) -> tuple[list[bytes], str]:
    """The eval files' bytes, read once, and the set hash computed from exactly those bytes.

    ``accept`` scores what it hashed: a file changed after ``verify_eval`` (or one git's
    index vouched for without a read) cannot be scored under the locked hash. Refuses when
    any file's sha256 or size differs from its lock entry."""
    lock_name = lock_display(sf)
    by_path = {x.path: x for x in ev.files}
    contents: list[bytes] = []
    entries: list[EvalEntry] = []
    for d in sf.spec.eval.datasets:
        rel = norm_dataset(sf.dir, d)
        path = entry_file(sf.dir, rel, lock_shown=lock_name)
        data = read_regular(path, limit_bytes=MAX_SCORED_BYTES)
        sha = hashlib.sha256(data).hexdigest()
        locked = by_path.get(rel)
        if locked is None or (locked.sha256, locked.size) != (sha, len(data)):
            raise AcceptanceError(f"{lock_name}: the eval lock does not verify ({rel} modified); refusing to score")
        contents.append(data)
        entries.append(EvalEntry(rel, sha, len(data)))
    scored = set_hash(entries)
    if scored != ev.hash:  # a file listed twice, or one locked but not listed
        raise AcceptanceError(
            f"{lock_name}: the eval set read does not hash to the locked {ev.hash}; refusing to score"
        )
    return contents, scored


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
    baseline = lk.eval.baseline
    if baseline is None:
        raise AcceptanceError(
            f"{lock_name}: the lock records no teacher baseline (locked by an older distillplan); "
            "run `distillplan lock` to fix the thresholds before accepting"
        )
    if drift := baseline_drift(e, baseline):
        raise AcceptanceError(
            f"{lock_name}: the spec's contract terms differ from the locked baseline ({'; '.join(drift[:2])}); "
            "restore them, or re-lock with `distillplan lock --reason TEXT`"
        )
    contents, lock_hash = scored_bytes(sf, lk.eval)
    rows = acc.load_spec_eval(e, sf.dir, contents=contents)
    ids = [r.id for r in rows]
    student = acc.load_predictions(predictions, eval_ids=ids, id_field=e.id_field)
    teacher = (
        acc.load_predictions(teacher_predictions, eval_ids=ids, id_field=e.id_field)
        if teacher_predictions is not None
        else None
    )
    result = acc.evaluate(rows, student, baseline=baseline, teacher_preds=teacher)
    # issue 23: the one commit cited for the lock, the first holding its bytes (evalset.commit)
    commit = eval_commit(sf.dir, lk) or (
        "(eval files not committed)" if git.repo_root(sf.dir) else "(not in a git repository)"
    )
    if fmt == "json":
        text = json.dumps(accept_report.to_json(result, lock_hash=lock_hash, commit=commit), indent=2, sort_keys=True)
    elif fmt == "markdown":
        text = accept_report.render_markdown(result, lock_hash=lock_hash, commit=commit, spec_name=spec.project.name)
    else:
        text = accept_report.render_text(result, lock_hash=lock_hash, commit=commit)
    return AcceptOutcome(passed=result.passed, text=text.rstrip("\n"))


def run(spec: str | Path, *, predictions: Path, teacher_predictions: Path | None, fmt: str) -> int:
    outcome = accept(load_spec(spec), predictions=predictions, teacher_predictions=teacher_predictions, fmt=fmt)
    say(outcome.text)
    return EXIT_OK if outcome.passed else EXIT_FAIL
