"""``distillplan accept [SPEC] --predictions FILE``: the contract's binary acceptance test
(P9.2) against the thresholds fixed in ``distill.lock``. Refuses unless the eval lock
verifies and the spec's contract terms match the locked baseline.

The agreed terms are the committed ones: ``distill.lock`` is read from ``HEAD`` (and must equal
the work tree's), its content hash is recomputed from its entries and terms, every earlier
committed version's hash must be in its history (no change without ``lock --reason``), the
committed contract.md must cite that hash, the eval bytes scored are ``HEAD``'s raw blobs (no
filters), hashed as they are read, and a measured baseline is re-measured from the committed
teacher file.

Exit codes: 0 PASS, 4 FAIL, 1 cannot score (the lock, the spec or a predictions file is
unusable: one located line), 2 usage, 3 internal error, 130 interrupted."""

from __future__ import annotations

import hashlib
import json
import os
import posixpath
from dataclasses import dataclass
from pathlib import Path

from distillplan import git
from distillplan.commands._io import EXIT_OK, say
from distillplan.commands.check import CONTRACT_MAX_BYTES, cited_hash, contract_path, lock_display
from distillplan.errors import AcceptanceError, RepoError
from distillplan.evalset import accept as acc
from distillplan.evalset.baseline import baseline_drift, measured_baseline
from distillplan.evalset.commit import eval_commit
from distillplan.evalset.fingerprint import (
    MAX_SCORED_BYTES,
    content_hash,
    entry_file,
    norm_dataset,
    unrecorded_change,
    verify_eval,
)
from distillplan.evalset.lockfile import (
    LOCK_VERSION,
    MAX_LOCK_BYTES,
    Baseline,
    EvalEntry,
    EvalLock,
    loads_lock,
    read_lock,
)
from distillplan.files import leaves_folder, read_regular
from distillplan.outputs import accept_report
from distillplan.spec.load import SpecFile, load_spec

EXIT_FAIL = 4  # the student was scored and failed; 1 means it could not be scored


@dataclass(frozen=True)
class AcceptOutcome:
    passed: bool
    text: str


@dataclass(frozen=True)
class Commit:
    """Where the committed bytes are read from: the work tree's root, ``HEAD``, and the spec's
    folder relative to the root (POSIX)."""

    root: Path
    head: str
    base: str

    def rel(self, spec_rel: str) -> str:
        return posixpath.normpath(posixpath.join(self.base, spec_rel))


def _short(h: str) -> str:
    return h[: len("sha256:") + 8] + "…"


def _commit(sf: SpecFile) -> Commit:
    lock_name = lock_display(sf)
    root = git.repo_root(sf.dir)
    head = git.head_commit(root) if root is not None else ""
    if root is None or not head:
        raise AcceptanceError(
            f"{lock_name}: not in a git repository with a commit; accept scores the committed eval set and lock: "
            "commit them first"
        )
    try:
        base = sf.dir.resolve().relative_to(root).as_posix()
    except ValueError:
        raise AcceptanceError(f"{lock_name}: the spec's folder is outside the repository at {root}") from None
    return Commit(root, head, base)


def committed_lock(sf: SpecFile, at: Commit) -> EvalLock:
    """The lock as committed in ``HEAD``: refused when it is not committed, when the work tree's
    differs from it, when its hash does not cover its entries and terms, or when an earlier committed
    version's hash is neither its own nor in its history (edited without ``lock --reason``)."""
    lock_name = lock_display(sf)
    rel = at.rel("distill.lock")
    entry = git.tree_entries(at.root, at.head, [rel]).get(rel)
    if entry is None:
        raise AcceptanceError(
            f"{lock_name}: not committed; accept scores against the committed lock: commit distill.lock "
            "(and the eval files), then accept"
        )
    data = git.blob_bytes(at.root, entry[1], limit_bytes=MAX_LOCK_BYTES)
    try:
        disk = read_regular(sf.dir / "distill.lock", shown=lock_name, limit_bytes=MAX_LOCK_BYTES)
    except OSError as e:
        raise AcceptanceError(f"{lock_name}: cannot read: {e.strerror or e}") from None
    if disk != data:
        raise AcceptanceError(
            f"{lock_name}: differs from the one committed in {at.head[:12]}; accept scores against the committed "
            "lock: commit it, or restore it with `git checkout -- distill.lock`"
        )
    lk = loads_lock(data, f"{lock_name} (committed in {at.head[:12]})")
    ev = lk.eval
    if ev is None or lk.version < LOCK_VERSION:
        raise AcceptanceError(f"{lock_name}: the committed lock does not bind the contract's terms; re-lock")
    if ev.hash != content_hash(ev.files, ev.baseline):
        raise AcceptanceError(
            f"{lock_name}: eval.hash: does not match the locked file entries and terms "
            f"(recomputed {_short(content_hash(ev.files, ev.baseline))}); the lock was edited by hand: "
            "restore it from git"
        )
    if problem := unrecorded_change(sf.dir, ev):
        raise AcceptanceError(f"{problem}; refusing to score")
    return ev


def check_contract(sf: SpecFile, at: Commit, ev: EvalLock) -> None:
    """The committed contract.md, when there is one, cites the lock's hash."""
    rel_spec, shown = contract_path(sf)
    rel = at.rel(rel_spec)
    entry = git.tree_entries(at.root, at.head, [rel]).get(rel)
    if entry is None:
        if (sf.dir / rel_spec).exists():
            raise AcceptanceError(f"{shown}: not committed; commit the contract the parties signed, then accept")
        return  # no contract generated (a decision memo, or skipped): the report prints the hash
    data = git.blob_bytes(at.root, entry[1], limit_bytes=CONTRACT_MAX_BYTES)
    found = cited_hash(data)
    if found is None:
        raise AcceptanceError(
            f"{shown}: cites no locked eval hash (generated before `distillplan lock`); run `distillplan scaffold` "
            "and commit it, then accept"
        )
    cited, line = found
    if cited != ev.hash:
        raise AcceptanceError(
            f"{shown}:{line}: cites eval hash {_short(cited)}, but distill.lock's is {_short(ev.hash)}; "
            "the contract and the lock disagree (a re-lock is an amendment: regenerate and sign it)"
        )


def scored_bytes(sf: SpecFile, ev: EvalLock, at: Commit) -> tuple[list[bytes], str]:
    """The committed eval files' bytes (raw blobs of ``HEAD``: no filters), read once, and the
    content hash computed from exactly those bytes and the locked terms.

    ``accept`` scores what it hashed. Refuses when a file is not committed or not a regular file
    there, or when its sha256, size or blob id differs from its lock entry."""
    lock_name = lock_display(sf)
    by_path = {x.path: x for x in ev.files}
    rels = [norm_dataset(sf.dir, d) for d in sf.spec.eval.datasets]
    for rel in rels:
        entry_file(sf.dir, rel, lock_shown=lock_name)  # refuses paths out of the repository
    tree = git.tree_entries(at.root, at.head, [at.rel(r) for r in rels])
    contents: list[bytes] = []
    entries: list[EvalEntry] = []
    for rel in rels:
        shown = os.path.join(os.path.dirname(sf.display), rel)
        got = tree.get(at.rel(rel))
        if got is None:
            raise AcceptanceError(f"{shown}: not committed; accept scores the committed eval bytes: commit it")
        mode, blob, _size = got
        if mode not in ("100644", "100755"):
            raise AcceptanceError(f"{shown}: not a regular file in {at.head[:12]} (mode {mode}); refusing to score")
        data = git.blob_bytes(at.root, blob, limit_bytes=MAX_SCORED_BYTES)
        sha = hashlib.sha256(data).hexdigest()
        locked = by_path.get(rel)
        if locked is None or (locked.sha256, locked.size) != (sha, len(data)) or locked.git_blob not in ("", blob):
            raise AcceptanceError(
                f"{lock_name}: the eval lock does not verify ({rel} as committed in {at.head[:12]} differs from "
                "its lock entry); refusing to score"
            )
        contents.append(data)
        entries.append(EvalEntry(rel, sha, len(data)))
    scored = content_hash(entries, ev.baseline)
    if scored != ev.hash:  # a file listed twice, or one locked but not listed
        raise AcceptanceError(
            f"{lock_name}: the eval set read does not hash to the locked {ev.hash}; refusing to score"
        )
    return contents, scored


def check_teacher_file(sf: SpecFile, at: Commit, baseline: Baseline, rows: list[acc.EvalRow]) -> None:
    """A baseline measured from teacher predictions is re-measured from the committed file."""
    if baseline.source != "teacher-predictions":
        return
    lock_name = lock_display(sf)
    name = baseline.teacher_predictions
    key = f"{lock_name}: eval.baseline.teacher_predictions"
    if not name or (leaves_folder(name) and not name.startswith("../")):
        raise AcceptanceError(f"{key}: {name!r} is not a path in the repository; re-lock with --teacher-predictions")
    rel = at.rel(name)
    got = git.tree_entries(at.root, at.head, [rel]).get(rel) if not rel.startswith("../") else None
    if got is None or got[0] not in ("100644", "100755"):
        raise AcceptanceError(
            f"{key}: {name} is not committed; accept re-measures the locked teacher baseline from it: commit it"
        )
    data = git.blob_bytes(at.root, got[1], limit_bytes=MAX_SCORED_BYTES)
    sha = hashlib.sha256(data).hexdigest()
    if sha != baseline.teacher_predictions_sha256:
        raise AcceptanceError(
            f"{lock_name}: eval.baseline.teacher_predictions_sha256: {name} as committed hashes to {sha[:12]}…, "
            f"not the locked {baseline.teacher_predictions_sha256[:12]}…; refusing to score"
        )
    e = sf.spec.eval
    preds = acc.load_predictions(
        sf.dir / name, eval_ids=[r.id for r in rows], id_field=e.id_field, display_path=name, data=data
    )
    again = measured_baseline(rows, preds, e=e, predictions_path=name, predictions_sha256=sha)
    if again != baseline:
        raise AcceptanceError(
            f"{lock_name}: eval.baseline.teacher_score: {name} scores the teacher {again.teacher_score * 100:.2f} "
            f"on the locked set (per stratum too), not the locked {baseline.teacher_score * 100:.2f}; "
            "refusing to score"
        )


def accept(sf: SpecFile, *, predictions: Path, teacher_predictions: Path | None, fmt: str) -> AcceptOutcome:
    """The contract's binary acceptance test (P9.2). Refuses unless the eval lock verifies, on
    disk and as committed, and every term it decides by is the locked one."""
    spec, lock_name = sf.spec, lock_display(sf)
    lk = read_lock(sf.dir)
    if lk is None or lk.eval is None:
        raise AcceptanceError(f"{lock_name}: the eval set is not locked; run `distillplan lock` before accepting")
    if lk.version < LOCK_VERSION:
        raise AcceptanceError(
            f"{lock_name}: version: a version {lk.version} lock does not bind the contract's terms into its hash; "
            "re-lock with `distillplan lock --reason TEXT` and regenerate the contract"
        )
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
            f"{lock_name}: the contract terms differ from the locked ones ({'; '.join(drift[:2])}); "
            "restore them, or re-lock with `distillplan lock --reason TEXT`"
        )
    at = _commit(sf)
    try:
        ev = committed_lock(sf, at)
        check_contract(sf, at, ev)
        contents, lock_hash = scored_bytes(sf, ev, at)
    except RepoError as err:
        raise AcceptanceError(f"{lock_name}: cannot read the commit: {err}") from None
    rows = acc.load_spec_eval(e, sf.dir, contents=contents)
    try:
        check_teacher_file(sf, at, baseline, rows)
    except RepoError as err:
        raise AcceptanceError(f"{lock_name}: cannot read the commit: {err}") from None
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
