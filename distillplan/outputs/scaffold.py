"""The generated tree from a plan: template -> path map, and each file's status against the
disk and the manifest in ``distill.lock``'s ``[generated]`` section (paths relative to the spec's
folder, with the sha256 of the bytes we last wrote). A file whose bytes differ from that hash, or
an existing file we never wrote, is *user-modified* and is only replaced with ``force``.

This module computes only: the tree (:func:`plan_tree`) from a plan, and the statuses
(:func:`statuses`) from bytes read by the caller. Loading the spec, reading the lock and the
files, asking git and writing are the command's (:mod:`distillplan.commands.scaffold`).
"""

from __future__ import annotations

import difflib
import hashlib
import posixpath
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import PurePosixPath
from typing import TYPE_CHECKING, Any, Literal

from distillplan.errors import LockError, quote_value
from distillplan.evalset.lockfile import LOCK_NAME, GeneratedManifest, LockFile

if TYPE_CHECKING:  # pragma: no cover
    from distillplan.catalogs.prices import PriceBook
    from distillplan.plan.model import Plan
    from distillplan.spec.load import SpecFile

__all__ = [
    "FileStatus",
    "Outcome",
    "ScaffoldResult",
    "check_manifest",
    "lock_state",
    "plan_tree",
    "statuses",
]

Mode = Literal["write", "pretend", "diff", "check"]
SPEC_NAME = "distill.toml"
FINGERPRINT_PREFIX = "inputs-v1:"
Ctx = dict[str, Any]


def _always(ctx: Ctx) -> bool:
    return True


def _distill(ctx: Ctx) -> bool:
    """The proposal and the contract follow a ``distill`` verdict; any other gets a decision memo."""
    return bool(ctx["plan"].verdict.decision == "distill")


def _feasible(ctx: Ctx) -> bool:
    """Training and serving files follow a student that can run the workload (the verdict's P7
    ``feasible`` check): a student whose requests overflow its context window, or that does not fit
    the GPU, gets no vllm.yaml that vLLM would reject every request with."""
    return all(c.ok for c in ctx["plan"].verdict.checks if c.id == "feasible")


#: (template under templates/, output path under [scaffold].root, when it is generated)
TREE: tuple[tuple[str, str, Callable[[Ctx], bool]], ...] = (
    ("eval/eval.yaml.j2", "eval/eval.yaml", _always),
    ("training/sft.yaml.j2", "training/sft.yaml", _feasible),
    (
        "training/accelerate.yaml.j2",
        "training/accelerate.yaml",
        lambda c: _feasible(c) and c["plan"].sizing.training.gpus > 1,
    ),
    ("training/merge.py.j2", "training/merge.py", _feasible),
    (
        "training/recipe.yaml.j2",
        "training/recipe.yaml",
        lambda c: _feasible(c) and c["plan"].sizing.precision != "bf16",
    ),
    ("serving/vllm.yaml.j2", "serving/vllm.yaml", _feasible),
    (
        "serving/router/config.yaml.j2",
        "serving/router/config.yaml",
        lambda c: _feasible(c) and c["spec"].routing.mode == "cache",
    ),
    (
        "serving/router/confidence_hook.py.j2",
        "serving/router/confidence_hook.py",
        lambda c: _feasible(c) and c["spec"].routing.mode == "cache",
    ),
    ("serving/k8s/configmap.yaml.j2", "serving/k8s/configmap.yaml", _feasible),
    ("serving/k8s/deployment.yaml.j2", "serving/k8s/deployment.yaml", _feasible),
    ("serving/k8s/service.yaml.j2", "serving/k8s/service.yaml", _feasible),
    ("serving/k8s/pvc.yaml.j2", "serving/k8s/pvc.yaml", _feasible),
    ("serving/k8s/load/model-loader.yaml.j2", "serving/k8s/load/model-loader.yaml", _feasible),
    ("docs/proposal.md.j2", "docs/proposal.md", lambda c: _distill(c)),
    ("docs/contract.md.j2", "docs/contract.md", lambda c: _distill(c)),
    ("docs/operations.md.j2", "docs/operations.md", lambda c: _distill(c)),
    ("docs/decision-memo.md.j2", "docs/decision-memo.md", lambda c: not _distill(c)),
)


VLLM_YAML = "serving/vllm.yaml"
#: The most bytes read of a generated file (or a person's edit of one): they are a few KB.
MAX_GENERATED_BYTES = 64 << 20


def plan_tree(
    sf: SpecFile,
    plan: Plan,
    lock: dict[str, Any],
    *,
    alternatives: Mapping[str, Any],
    book: PriceBook | None = None,
    vllm_yaml: str | None = None,
) -> dict[str, bytes]:
    """Every generated file: path relative to the spec's folder (POSIX) -> bytes.

    Conditional files are left out when their condition fails; ``[scaffold].skip`` too. ``vllm_yaml``:
    the person's own vllm.yaml (kept or skipped), from which the ConfigMap is derived instead.
    ``alternatives``: the proposal's "alternatives considered"
    (:func:`~distillplan.outputs.compare_report.alternatives` of ``compare`` over the spec's axes).
    ``book``: the price book pricing the spec (its repository's price file over the bundled one;
    None: the bundled book), through which the router calls the teacher."""
    from distillplan.outputs.render import build_context, render  # deferred: check_fresh runs on the hook path

    ctx = build_context(sf.spec, plan, lock, book)
    ctx["alternatives"] = alternatives
    skip = {posixpath.normpath(s.replace("\\", "/")) for s in sf.spec.scaffold.skip}
    out: dict[str, bytes] = {}
    for template, rel, wanted in TREE:
        if not wanted(ctx):
            continue
        text = render(template, ctx)
        if rel == VLLM_YAML:
            ctx["vllm_yaml"] = text if vllm_yaml is None else vllm_yaml
        if rel not in skip:
            out[posixpath.normpath(posixpath.join(ctx["paths"]["root"], rel))] = text.encode("utf-8")
    return out


def check_manifest(lock_shown: str, root: str, gen: GeneratedManifest, fingerprint: str) -> None:
    """Refuse a ``[generated]`` path outside ``[scaffold].root`` (LockError naming the lock, the
    key and the path) when the manifest was written from these very inputs (``fingerprint``): such
    a run wrote only under the root, so any other path was put there by hand (``../../etc/shadow``).
    After a change of inputs (a new root) the old paths are the previous tree's: reported obsolete,
    never read. The lock reader refused absolute and unnormalised paths (``/dev/zero``) already."""
    if gen.inputs_sha256 != fingerprint:
        return
    base = posixpath.normpath(root.replace("\\", "/"))
    for key, paths in (
        ("generated.files", gen.files),
        ("generated.pending", gen.pending),
        ("generated.kept", gen.kept),
    ):
        for rel in sorted(paths):
            norm = posixpath.normpath(rel)
            inside = not norm.startswith("../") and norm != ".." if base == "." else norm.startswith(base + "/")
            if not inside or norm != rel:
                raise LockError(
                    f"{lock_shown}: {key}: {quote_value(rel)} is not under [scaffold].root {quote_value(base)}; "
                    f"not a file scaffold writes; restore the lock from git (`git checkout -- {LOCK_NAME}`)"
                )


def _absolute(rel: str) -> bool:
    return PurePosixPath(rel.replace("\\", "/")).is_absolute() or bool(re.match(r"^[A-Za-z]:", rel))


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@dataclass(frozen=True)
class FileStatus:
    """One generated file: ``path`` relative to the spec's folder, as shown to the user."""

    path: str
    #: create | update | unchanged | user-modified, kept | user-modified, overwritten |
    #: obsolete; with --check: missing | stale | user-modified
    status: str
    note: str = ""

    def __str__(self) -> str:
        return f"{self.status}  {self.path}{' ' + self.note if self.note else ''}"


@dataclass
class ScaffoldResult:
    mode: Mode
    files: list[FileStatus] = field(default_factory=list)
    diff: str = ""
    starter: str | None = None  # the starter spec written (or that would be)
    problems: list[str] = field(default_factory=list)  # --check failures
    plan: Plan | None = None  # the plan the tree was rendered from, when scaffold built it
    spec_file: SpecFile | None = None

    @property
    def ok(self) -> bool:
        return not self.problems

    def lines(self) -> list[str]:
        out = [f"create  {self.starter} (starter spec)"] if self.starter else []
        return out + [str(f) for f in self.files]


def lock_state(lock: LockFile | None) -> dict[str, Any]:
    """What the documents cite of the lock: the eval set's content hash and its files' blob ids (the
    baseline and thresholds reach them through the plan). No commit: committing changes neither."""
    ev = lock.eval if lock is not None else None
    files = [{"path": e.path, "git_blob": e.git_blob} for e in ev.files] if ev else []
    return {"eval_hash": ev.hash if ev else None, "files": files}


@dataclass
class Outcome:
    """What a run would do, computed from the tree and the bytes on disk: each file's status,
    the manifest to record, the files to write (path, bytes, the bytes seen before), the diff and,
    with ``check``, the problems."""

    files: list[FileStatus] = field(default_factory=list)
    manifest: dict[str, str] = field(default_factory=dict)
    kept: dict[str, str] = field(default_factory=dict)
    writes: list[tuple[str, bytes, bytes | None]] = field(default_factory=list)
    diff: str = ""
    problems: list[str] = field(default_factory=list)


def _status(
    current: bytes | None, data: bytes, rel: str, old: GeneratedManifest, mode: Mode, force: bool
) -> FileStatus:
    """One file's status (``path`` is ``rel`` here; the caller names it as the user sees it)."""
    if current is None:
        return FileStatus(rel, "missing" if mode == "check" else "create")
    if current == data:
        return FileStatus(rel, "unchanged")
    # ours: written by a run (recorded, journalled, or written before and not generated since)
    ours = {h for h in (old.files.get(rel), old.pending.get(rel), old.obsolete.get(rel)) if h is not None}
    if _sha(current) in ours:
        return FileStatus(rel, "stale" if mode == "check" else "update")
    if force and mode != "check":
        return FileStatus(rel, "user-modified, overwritten")
    if old.kept.get(rel) == _sha(current):
        return FileStatus(rel, "user-modified, kept", "(your edit, recorded in distill.lock; --force overwrites it)")
    if mode == "check":
        return FileStatus(
            rel,
            "user-modified",
            "(edited since generated; run `distillplan scaffold` to keep your edit, or --force to overwrite)",
        )
    return FileStatus(
        rel, "user-modified, kept", "(your edit is kept and recorded in distill.lock; --force overwrites it)"
    )


def statuses(
    tree: Mapping[str, bytes],
    current: Mapping[str, bytes | None],
    old: GeneratedManifest,
    *,
    mode: Mode,
    force: bool,
    shown: Callable[[str], str],
) -> Outcome:
    """Compare the tree with the bytes on disk (``current``: path -> bytes, None when absent) and
    the previous manifest ``old``; pure. ``shown`` names a path as the user sees it."""
    out = Outcome()
    diffs: list[str] = []
    for rel, data in sorted(tree.items()):
        now = current[rel]
        st = _status(now, data, rel, old, mode, force)
        out.files.append(FileStatus(shown(rel), st.status, st.note))
        if st.status in ("create", "update", "user-modified, overwritten", "unchanged"):
            out.manifest[rel] = _sha(data)
            if st.status != "unchanged":
                out.writes.append((rel, data, now))
        else:  # kept as the person left it: still theirs next time, and check respects it
            recorded = old.files.get(rel)
            out.manifest[rel] = recorded if recorded is not None else _sha(data)
            if now is not None:
                out.kept[rel] = _sha(now)
        if mode == "diff" and now != data:
            diffs.append(_unified(now, data, shown(rel)))
        if mode == "check" and st.status not in ("unchanged", "user-modified, kept"):
            out.problems.append(
                f"{shown(rel)}: {st.status} {st.note}".rstrip()
                + ("" if st.status == "user-modified" else "; run `distillplan scaffold`")
            )
    for rel in sorted(set(old.files) - set(tree)):
        out.files.append(FileStatus(shown(rel), "obsolete", "(no longer generated; left in place)"))
    out.diff = "".join(diffs)
    return out


def _unified(old: bytes | None, new: bytes, shown: str) -> str:
    a = [] if old is None else old.decode("utf-8", "replace").splitlines(keepends=True)
    b = new.decode("utf-8").splitlines(keepends=True)
    lines = difflib.unified_diff(a, b, "/dev/null" if old is None else f"a/{shown}", f"b/{shown}")
    return "".join(line if line.endswith("\n") else line + "\n\\ No newline at end of file\n" for line in lines)
