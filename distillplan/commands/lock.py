"""``distillplan lock [SPEC] [--reason TEXT] [--teacher-predictions FILE]``: hash the eval set
into ``distill.lock`` (P2.3) and fix the teacher baseline the acceptance test compares with.

The eval set is read with the same loader ``accept`` uses, so a set that ``accept`` would
refuse (a missing or duplicate id, a missing reference or stratum, a reference the metric
cannot score) is refused here, each problem at its file and line."""

from __future__ import annotations

import datetime as dt
import os
from dataclasses import fields, replace
from pathlib import Path

from distillplan import git
from distillplan.commands._io import EXIT_OK, say
from distillplan.commands.check import lock_display
from distillplan.errors import LockError, RepoError
from distillplan.evalset import accept as acc
from distillplan.evalset.baseline import build_baseline, remeasure_terms
from distillplan.evalset.fingerprint import content_hash, lock_eval
from distillplan.evalset.lockfile import (
    LOCK_NAME,
    LOCK_VERSION,
    MALFORMED_SUFFIX,
    Baseline,
    HistoryEntry,
    read_lock,
    write_lock,
)
from distillplan.files import exclusive, is_inside, stale_temp_files
from distillplan.spec.load import SpecFile, load_spec


def _today() -> dt.date:
    """The lock date: ``SOURCE_DATE_EPOCH`` when set (reproducible builds), else today."""
    epoch = os.environ.get("SOURCE_DATE_EPOCH")
    if epoch and epoch.isdigit():
        try:
            return dt.datetime.fromtimestamp(int(epoch), tz=dt.timezone.utc).date()
        except (OverflowError, OSError, ValueError):
            raise LockError(
                f"SOURCE_DATE_EPOCH: {epoch[:24]} is not a time distillplan can date a lock with "
                "(seconds since 1970, before the year 10000)"
            ) from None
    return dt.date.today()


def _teacher_file(path: Path, sf: SpecFile, root: Path | None) -> str:
    """The teacher predictions' path as the lock records it: POSIX, relative to the spec's folder.
    It must lie in the repository (or, outside git, the spec's folder): ``accept`` reads it from
    the commit to check its sha256 and re-measure the baseline the contract cites."""
    top = root or sf.dir.resolve()
    if not path.is_file():
        raise LockError(f"{path}: --teacher-predictions: not found, or not a regular file")
    if not is_inside(path, top):
        where = "the repository" if root is not None else "the spec's folder"
        raise LockError(
            f"{path}: --teacher-predictions: must be a file in {where} (accept re-measures the locked "
            "teacher baseline from its committed bytes)"
        )
    return Path(os.path.relpath(path.resolve(), sf.dir.resolve())).as_posix()


def lock(sf: SpecFile, *, reason: str | None, teacher_predictions: Path | None = None) -> str:
    """Hash the spec's eval set and its teacher baseline into ``distill.lock`` (P2.3); returns a
    one-line summary. A changed baseline on an unchanged set is a change of contract: it needs
    ``reason`` and the earlier lock goes to the history.

    The read-modify-write of the lock runs under :func:`exclusive`. A malformed lock is
    replaced only with ``--reason`` (it is kept as ``distill.lock.malformed``); a lock that
    git tracks but that is missing on disk is re-created only with one."""
    root = git.repo_root(sf.dir)
    commit = git.head_commit(root) if root else ""
    with exclusive(sf.dir):  # every read-modify-write of distill.lock, re-read under the lock
        kept = _recover(sf, reason, root)
        summary = _lock_locked(sf, reason=reason, teacher_predictions=teacher_predictions, commit=commit)
        for tmp in stale_temp_files(sf.dir, [LOCK_NAME]):  # left by a killed run; we hold the lock
            tmp.unlink(missing_ok=True)
    return summary + kept


def _lock_locked(sf: SpecFile, *, reason: str | None, teacher_predictions: Path | None, commit: str) -> str:
    e = sf.spec.eval
    today = _today()
    old = read_lock(sf.dir)
    has_reason = bool(reason and reason.strip())
    upgrading = old is not None and old.eval is not None and old.version < LOCK_VERSION
    if upgrading and not has_reason:
        raise LockError(
            f"{lock_display(sf)}: version: a version {old.version if old else 1} lock does not bind the contract's "
            "terms into its hash; re-lock with `distillplan lock --reason TEXT` (the new hash goes in the contract)"
        )
    prev = old.eval.baseline if old is not None and old.eval is not None else None
    new, summary = lock_eval(sf.dir, list(e.datasets), reason=reason, today=today, commit=commit)
    rows = acc.load_spec_eval(e, sf.dir)
    ev = new.eval
    assert ev is not None
    unchanged = summary.startswith("eval set unchanged")
    if teacher_predictions is None and prev is not None and prev.source == "teacher-predictions":
        if not unchanged:
            raise LockError(
                f"{lock_display(sf)}: the teacher baseline was measured from {prev.teacher_predictions}; "
                "the eval set changed, so pass `--teacher-predictions FILE` to measure it on the new set"
            )
        baseline = remeasure_terms(prev, e, where=lock_display(sf))
    else:
        baseline = build_baseline(
            rows,
            e,
            spec_display=sf.display,
            teacher_predictions=teacher_predictions,
            predictions_display=_teacher_file(teacher_predictions, sf, git.repo_root(sf.dir))
            if teacher_predictions
            else "",
        )
    if prev is not None and unchanged and (prev != baseline or upgrading):
        if not has_reason:
            raise LockError(
                f"{lock_display(sf)}: the contract terms changed since they were locked ({_changed(prev, baseline)}); "
                "re-locking changes the contract: pass --reason TEXT"
            )
        past = HistoryEntry(ev.hash, ev.locked_on, ev.locked_at_commit, today, " ".join((reason or "").split()))
        ev = replace(ev, locked_on=today, locked_at_commit=commit, history=(*ev.history, past))
        summary = "eval set unchanged, terms re-locked" if prev != baseline else "eval set unchanged, re-locked"
    elif prev is None and unchanged:
        summary = "eval set unchanged, teacher baseline recorded"
    ev = replace(ev, baseline=baseline)
    ev = replace(ev, hash=content_hash(ev.files, baseline))
    if summary.startswith(("locked ", "re-locked ")):
        head, sep, tail = summary.partition(" (was")
        summary = f"{head}, {_short(ev.hash)}{sep}{tail}"
    write_lock(sf.dir, replace(new, eval=ev, version=LOCK_VERSION))
    how = "measured from " + baseline.teacher_predictions if baseline.source != "spec" else "from the spec"
    teacher, threshold = baseline.teacher_score * 100, baseline.threshold * 100
    return f"{lock_display(sf)}: {summary}; teacher {teacher:.2f} ({how}), threshold {threshold:.2f}"


def _short(h: str) -> str:
    return h[: len("sha256:") + 8] + "…"


def _term(value: object) -> str:
    """A locked term as the message shows it: a count thousands-separated, anything else as written."""
    return f"{value:,}" if isinstance(value, int) and not isinstance(value, bool) else repr(value)


def _changed(prev: Baseline, new: Baseline) -> str:
    """The first terms that differ, ``key old -> new``; the overall threshold when it moved."""
    diffs = [
        f"{f.name} {_term(getattr(prev, f.name))} -> {_term(getattr(new, f.name))}"
        for f in fields(Baseline)
        if f.name != "strata" and getattr(prev, f.name) != getattr(new, f.name)
    ]
    if prev.strata != new.strata:
        diffs.append("the per-stratum baseline")
    if prev.threshold != new.threshold:
        diffs = [f"overall threshold {prev.threshold:.4f} -> {new.threshold:.4f}"] + [
            d for d in diffs if not d.startswith("threshold ")
        ]
    return ", ".join(diffs[:3]) or "unchanged"


def _recover(sf: SpecFile, reason: str | None, root: Path | None) -> str:
    """Deal with an unreadable or deleted lock before re-locking; returns a note for the summary."""
    path = sf.dir / LOCK_NAME
    if not path.exists():
        if root is not None and not (reason and reason.strip()) and _tracked(root, path):
            raise LockError(
                f"{lock_display(sf)}: deleted, but git tracks it (its history is the contract's); "
                "restore it with `git checkout -- distill.lock`, or re-lock with `distillplan lock --reason TEXT`"
            )
        return ""
    try:
        read_lock(sf.dir)
    except LockError:
        if not (reason and reason.strip()):
            raise
        backup = path.with_name(LOCK_NAME + MALFORMED_SUFFIX)
        os.replace(path, backup)
        return f" (the unreadable lock is kept as {backup.name}; its history is not carried over)"
    return ""


def _tracked(root: Path, path: Path) -> bool:
    try:
        rel = path.resolve().relative_to(root).as_posix()
        return bool(git.index_blobs(root, [rel]))
    except (ValueError, RepoError):
        return False


def run(spec: str | Path, *, reason: str | None, teacher_predictions: Path | None = None) -> int:
    say(lock(load_spec(spec), reason=reason, teacher_predictions=teacher_predictions))
    return EXIT_OK
