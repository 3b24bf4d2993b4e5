"""``distillplan check [SPEC...]``: validate + eval lock intact + generated files fresh.

The pre-commit hook ``distillplan-check``: it must not import jinja2, gitpython or
transformers on its common path, so it speaks to git through :mod:`distillplan.git`'s
binary helpers only."""

from __future__ import annotations

import os
import posixpath
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from distillplan import git
from distillplan.commands._io import EXIT_OK, EXIT_USER, say
from distillplan.errors import DistillError, LockError, RepoError, SpecError
from distillplan.evalset.fingerprint import unrecorded_change, verify_eval
from distillplan.evalset.lockfile import LOCK_NAME, LOCK_VERSION, EvalLock, read_lock
from distillplan.files import open_regular
from distillplan.spec.load import SpecFile, load_spec


def lock_display(sf: SpecFile) -> str:
    """``distill.lock`` beside the spec, as the user named the spec."""
    return str(Path(sf.display).parent / LOCK_NAME)


CONTRACT = "docs/contract.md"
_CITED = re.compile(rb"content hash (sha256:[0-9a-f]{64})")
CONTRACT_MAX_BYTES = 16 << 20


def cited_hash(data: bytes) -> tuple[str, int] | None:
    """The eval content hash a contract's bytes cite, and the line it stands on; None when none."""
    m = _CITED.search(data)
    return None if m is None else (m.group(1).decode("ascii"), data[: m.start()].count(b"\n") + 1)


def contract_path(sf: SpecFile) -> tuple[str, str]:
    """The generated contract: (POSIX path relative to the spec's folder, the path as shown)."""
    rel = posixpath.normpath(posixpath.join(sf.spec.scaffold.root.replace("\\", "/"), CONTRACT))
    return rel, os.path.normpath(os.path.join(os.path.dirname(sf.display), rel))


def _contract_cites(sf: SpecFile, ev: EvalLock) -> str:
    """A problem when the contract.md on disk cites another eval hash than the lock's (whatever
    scaffold thinks of the file: a kept edit still cites the contract's terms); ``""`` otherwise."""
    rel, shown = contract_path(sf)
    try:  # a regular file only (a FIFO would block the hook); anything else is reported by the freshness check
        with open_regular(sf.dir / rel, shown=shown) as f:
            data = f.read(CONTRACT_MAX_BYTES)  # the citation is near the top; a padded file is still read
    except (OSError, DistillError):
        return ""
    found = cited_hash(data)
    if found is None or found[0] == ev.hash:
        return ""
    cited, line = found
    return (
        f"{shown}:{line}: cites eval hash {cited[:15]}…, but {lock_display(sf)}'s is "
        f"{ev.hash[:15]}…; run `distillplan scaffold` (a re-lock is an amendment both parties sign)"
    )


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
    problems: list[str] = []
    notes: list[str] = []
    lock_name = lock_display(sf)
    try:
        lk = read_lock(sf.dir)
    except LockError as e:
        return [str(e)], []
    if lk is None or lk.eval is None:
        notes.append(f"{lock_name}: note: the eval set is not locked yet (run `distillplan lock`, P2.3)")
        if problem := _unscorable(sf):
            problems.append(problem)
    elif lk.version < LOCK_VERSION:
        problems.append(
            f"{lock_name}: version: a version {lk.version} lock does not bind the contract's terms into its hash; "
            "re-lock with `distillplan lock --reason TEXT`"
        )
    else:
        base = Path(sf.display).parent
        for c in verify_eval(sf.dir, lk, list(sf.spec.eval.datasets)):
            problems.append(f"{base / c.path}: {c.kind}: {c.detail} (eval set locked in {lock_name})")
        if lk.eval.baseline is None:
            problems.append(
                f"{lock_name}: the lock records no teacher baseline, so accept cannot score; run `distillplan lock`"
            )
        else:
            from distillplan.evalset.baseline import baseline_drift  # deferred: only with a lock

            for d in baseline_drift(sf.spec.eval, lk.eval.baseline):
                problems.append(f"{lock_name}: {d}; restore it, or re-lock with `distillplan lock --reason TEXT`")
        if problem := unrecorded_change(sf.dir, lk.eval):
            problems.append(f"{problem}; restore it from git")
        if problem := _contract_cites(sf, lk.eval):
            problems.append(problem)
        if not problems and (note := _not_committed(sf)):
            notes.append(note)
    if lk is not None and lk.generated is not None:
        from distillplan.commands.scaffold import check_fresh  # deferred: only with a manifest

        problems.extend(check_fresh(sf, lock=lk))
    return problems, notes


def _unscorable(sf: SpecFile) -> str:
    """The first problem ``accept`` would refuse an unlocked set for (a locked set was read by
    ``lock`` and its bytes are verified), at its file and line; ``""`` when none."""
    from distillplan.evalset.accept import unscorable  # deferred: only for an unlocked set

    return unscorable(sf.dir, sf.spec.eval, shown_base=Path(sf.display).parent)


def _not_committed(sf: SpecFile) -> str:
    """A note when distill.lock (or the eval bytes it locks) is not in a commit yet: the contract
    cites the commit holding the locked bytes, so it has none to cite."""
    root = git.repo_root(sf.dir)
    if root is None:
        return ""
    try:
        rel = (sf.dir.resolve() / LOCK_NAME).relative_to(root).as_posix()
        if not git.uncommitted(root, rel):
            return ""
    except (ValueError, RepoError):
        return ""
    return (
        f"{lock_display(sf)}: note: the lock is not committed; the contract cites the commit holding the "
        "locked eval bytes once one exists (commit, then run `distillplan scaffold`)"
    )


def run(specs: Sequence[str | Path]) -> int:
    """0 when every spec checks out, 1 otherwise; problems on stderr."""
    result = check([str(s) for s in specs] or ["distill.toml"])
    for line in result.lines:
        say(line, err=not result.ok)
    return EXIT_OK if result.ok else EXIT_USER
