"""``distillplan lock [SPEC] [--reason TEXT]``: hash the eval set into ``distill.lock`` (P2.3)."""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

from distillplan import git
from distillplan.commands._io import EXIT_OK, say
from distillplan.commands.check import lock_display
from distillplan.evalset.fingerprint import lock_eval
from distillplan.evalset.lockfile import write_lock
from distillplan.spec.load import SpecFile, load_spec


def _today() -> dt.date:
    """The lock date: ``SOURCE_DATE_EPOCH`` when set (reproducible builds), else today."""
    epoch = os.environ.get("SOURCE_DATE_EPOCH")
    if epoch and epoch.isdigit():
        return dt.datetime.fromtimestamp(int(epoch), tz=dt.timezone.utc).date()
    return dt.date.today()


def lock(sf: SpecFile, *, reason: str | None) -> str:
    """Hash the spec's eval set into ``distill.lock`` (P2.3); returns a one-line summary."""
    root = git.repo_root(sf.dir)
    commit = git.head_commit(root) if root else ""
    new, summary = lock_eval(sf.dir, list(sf.spec.eval.datasets), reason=reason, today=_today(), commit=commit)
    write_lock(sf.dir, new)
    return f"{lock_display(sf)}: {summary}"


def run(spec: str | Path, *, reason: str | None) -> int:
    say(lock(load_spec(spec), reason=reason))
    return EXIT_OK
