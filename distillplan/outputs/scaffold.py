"""The generated tree: template -> path map, statuses, pretend / diff / check / force.

Each run renders every template (:func:`plan_tree`) and compares it with the disk and the
manifest in ``distill.lock``'s ``[generated]`` section (paths relative to the spec's folder,
with the sha256 of the bytes we last wrote). A file whose bytes differ from that hash, or an
existing file we never wrote, is *user-modified* and is only replaced with ``force``.

Freshness (:func:`check_fresh`, the pre-commit path) does not import jinja2 and does not
render when nothing changed. ``[generated].inputs_sha256`` stores an *inputs fingerprint*,
``"inputs-v1:" + sha256`` over: the spec's sha256, the distillplan version, the eval lock
hash, the locked files' git blob ids and the teacher baseline (the contract cites them; it
cites no commit, so committing never makes it stale: issue 23), the bundled templates'
bytes, and the ``config.json`` bytes of a local student and of local ``[compare].students``
(the proposal lists alternatives). Equal fingerprint:
only each file's sha256 is compared.
Changed fingerprint: the tree is rendered and compared with the disk. (An eval file edited
without re-locking is reported by the eval-lock verification of the same ``check``.)
"""

from __future__ import annotations

import dataclasses
import difflib
import hashlib
import os
import posixpath
import re
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any, Literal

from distillplan import __version__
from distillplan.catalogs.prices import price_book
from distillplan.errors import LockError, ScaffoldError, quote_value
from distillplan.evalset.lockfile import LOCK_NAME, GeneratedManifest, LockFile, read_lock, write_lock
from distillplan.files import (
    atomic_write,
    exclusive,
    is_inside,
    leaves_folder,
    read_regular,
    stale_temp_files,
    templates_dir,
)
from distillplan.git import repo_root as find_repo_root

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on 3.10 only
    import tomli as tomllib

if TYPE_CHECKING:  # pragma: no cover
    from distillplan.plan.model import Plan
    from distillplan.spec.load import SpecFile

__all__ = [
    "FileStatus",
    "ScaffoldResult",
    "check_fresh",
    "inputs_fingerprint",
    "lock_state",
    "plan_tree",
    "scaffold",
]

Mode = Literal["write", "pretend", "diff", "check"]
SPEC_NAME = "distill.toml"
FINGERPRINT_PREFIX = "inputs-v1:"
Ctx = dict[str, Any]


def _always(ctx: Ctx) -> bool:
    return True


def _distill(ctx: Ctx) -> bool:
    """The proposal and the contract follow a ``distill`` verdict; any other gets a decision memo."""
    return bool(ctx["plan"]["verdict"]["decision"] == "distill")


def _feasible(ctx: Ctx) -> bool:
    """Training and serving files follow a student that can run the workload (the verdict's P7
    ``feasible`` check): a student whose requests overflow its context window, or that does not fit
    the GPU, gets no vllm.yaml that vLLM would reject every request with."""
    return all(c["ok"] for c in ctx["plan"]["verdict"]["checks"] if c["id"] == "feasible")


#: (template under templates/, output path under [scaffold].root, when it is generated)
TREE: tuple[tuple[str, str, Callable[[Ctx], bool]], ...] = (
    ("eval/eval.yaml.j2", "eval/eval.yaml", _always),
    ("training/sft.yaml.j2", "training/sft.yaml", _feasible),
    (
        "training/accelerate.yaml.j2",
        "training/accelerate.yaml",
        lambda c: _feasible(c) and c["plan"]["sizing"]["training"]["gpus"] > 1,
    ),
    ("training/merge.py.j2", "training/merge.py", _feasible),
    (
        "training/recipe.yaml.j2",
        "training/recipe.yaml",
        lambda c: _feasible(c) and c["plan"]["sizing"]["precision"] != "bf16",
    ),
    ("serving/vllm.yaml.j2", "serving/vllm.yaml", _feasible),
    (
        "serving/router/config.yaml.j2",
        "serving/router/config.yaml",
        lambda c: _feasible(c) and c["spec"]["routing"]["mode"] == "cache",
    ),
    (
        "serving/router/confidence_hook.py.j2",
        "serving/router/confidence_hook.py",
        lambda c: _feasible(c) and c["spec"]["routing"]["mode"] == "cache",
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
    sf: SpecFile, plan: dict[str, Any], lock: dict[str, Any], *, vllm_yaml: str | None = None
) -> dict[str, bytes]:
    """Every generated file: path relative to the spec's folder (POSIX) -> bytes.

    Conditional files are left out when their condition fails; ``[scaffold].skip`` too. ``vllm_yaml``:
    the person's own vllm.yaml (kept or skipped), from which the ConfigMap is derived instead.
    The proposal's "alternatives considered" come from ``compare`` over the spec's axes."""
    from distillplan.outputs.compare_report import alternatives  # deferred: check_fresh runs on the hook path
    from distillplan.outputs.render import build_context, render  # deferred: check_fresh runs on the hook path
    from distillplan.plan.compare import compare_for_file  # deferred: check_fresh runs on the hook path

    ctx = build_context(sf.spec.model_dump(mode="json"), plan, lock, price_book(sf.spec.prices_root))
    ctx["alternatives"] = alternatives(compare_for_file(sf), sf.spec.compare.alternatives)
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


# ---------------------------------------------------------------- fingerprint and paths


def _templates_digest() -> bytes:
    h = hashlib.sha256()
    base = templates_dir()
    for p in sorted(base.rglob("*.j2")):
        h.update(p.relative_to(base).as_posix().encode() + b"\0" + p.read_bytes() + b"\0")
    return h.digest()


def inputs_fingerprint(
    spec_dir: Path,
    spec_sha256: str,
    lock: LockFile | None,
    base_model: str | None,
    *,
    compare_students: Sequence[str] = (),
) -> str:
    """What the generated tree depends on, as one value for ``[generated].inputs_sha256``;
    ``compare_students``' local ``config.json`` files too (the proposal's alternatives)."""
    h = hashlib.sha256(b"distillplan scaffold inputs v1\0")
    ev = lock.eval if lock is not None else None
    for part in (
        spec_sha256,
        __version__,
        ev.hash if ev else "",
        " ".join(f"{e.path}={e.git_blob}" for e in ev.files) if ev else "",  # the contract cites them
        repr(ev.baseline) if ev else "",  # the contract prints the locked thresholds
    ):
        h.update(part.encode("utf-8") + b"\0")
    h.update(_templates_digest())
    if base_model:
        config = spec_dir / base_model / "config.json"
        if config.is_file() and is_inside(config, _repo_root(spec_dir)):
            h.update(read_regular(config, limit_bytes=MAX_GENERATED_BYTES))
    for name in compare_students:
        config = spec_dir / name / "config.json"
        if name != base_model and config.is_file() and is_inside(config, _repo_root(spec_dir)):
            h.update(
                b"compare\0" + name.encode("utf-8") + b"\0" + read_regular(config, limit_bytes=MAX_GENERATED_BYTES)
            )
    return FINGERPRINT_PREFIX + h.hexdigest()


def _repo_root(spec_dir: Path) -> Path:
    """The repository holding the spec (the nearest folder with ``.git``), else its folder."""
    d = spec_dir.resolve()
    return find_repo_root(d) or d


def check_paths(spec_dir: Path, root: str, skip: list[str], outputs: list[str]) -> None:
    """Refuse, before anything is written, any path leaving the repository (ScaffoldError).

    ``root`` may climb out of the spec's folder (``../gen``) as long as it stays inside the
    repository, as ``validate`` allows; ``.git`` is never written into."""
    repo = _repo_root(spec_dir)
    problems = (
        [f"[scaffold].root: must be a relative path inside the repository, not absolute (got {quote_value(root)})"]
        if _absolute(root)
        else [f"[scaffold].root: leads outside the repository {repo} (got {quote_value(root)})"]
        if not is_inside(spec_dir / root, repo)
        else []
    )
    problems += [
        f"[scaffold].skip: must be a path inside the generated tree (got {quote_value(s)})"
        for s in skip
        if leaves_folder(s)
    ]
    for rel in [*outputs, LOCK_NAME]:
        target = spec_dir / rel
        if _absolute(rel) or not is_inside(target, repo) or ".git" in PurePosixPath(rel).parts:
            problems.append(f"{rel}: leads outside the repository's work tree {repo}; refusing to write")
        elif target.is_symlink():
            problems.append(f"{rel}: is a symlink; distillplan writes regular files only")
    if problems:
        more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
        raise ScaffoldError(f"scaffold: nothing written: {problems[0]}{more}")


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


# ---------------------------------------------------------------- the run


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


def _display_base(sf: SpecFile) -> str:
    return os.path.dirname(sf.display)


def _load(spec_arg: SpecFile | str | Path, mode: Mode) -> tuple[SpecFile, bool]:
    """The spec file; in a folder without one, the starter (written unless pretending)."""
    from distillplan.spec.load import SpecFile, load_spec, parse_spec  # deferred: keeps check_fresh's import light
    from distillplan.spec.starter import starter_text, write_starter  # deferred: likewise

    if isinstance(spec_arg, SpecFile):
        return spec_arg, False
    p = Path(spec_arg)
    path = p / SPEC_NAME if p.is_dir() else p
    if path.exists() or path.name != SPEC_NAME or not path.parent.is_dir() or mode == "check":
        return load_spec(path), False
    if mode == "write":
        write_starter(path.parent)
        return load_spec(path), True
    text = starter_text(path.parent.resolve().name)
    spec = parse_spec(text, display=str(path), base_dir=path.parent.resolve())
    return SpecFile(spec=spec, path=path, display=str(path), sha256=_sha(text.encode())), True


def lock_state(spec_dir: Path, lock: LockFile | None) -> dict[str, Any]:
    ev = lock.eval if lock is not None else None
    baseline = None
    if ev is not None and ev.baseline is not None:
        baseline = dataclasses.asdict(ev.baseline)
    files = [{"path": e.path, "git_blob": e.git_blob} for e in ev.files] if ev else []
    # No commit: the contract cites the content hash and the blob ids, which committing does not change.
    return {"eval_hash": ev.hash if ev else None, "files": files, "baseline": baseline}


def _render_all(
    sf: SpecFile, lock: LockFile | None, plan: dict[str, Any] | None, *, force: bool = False
) -> tuple[dict[str, bytes], Plan | None]:
    """The tree, and the plan when it was built here (``plan``: the caller's plan JSON); when the
    person's own vllm.yaml is on disk (edited and kept, or skipped), the ConfigMap the Deployment
    mounts is derived from those bytes, never from the generated ones."""
    built = None
    if plan is None:
        from distillplan.plan.build import plan_for_file  # deferred: planning stays off the hook path

        built = plan_for_file(sf)
        plan = built.to_json()
    tree = plan_tree(sf, plan, lock_state(sf.dir, lock))
    rel = posixpath.normpath(posixpath.join(sf.spec.scaffold.root.replace("\\", "/"), VLLM_YAML))
    target = sf.dir / rel
    if force or not target.is_file() or target.is_symlink():
        return tree, built
    current = read_regular(target, shown=rel, limit_bytes=MAX_GENERATED_BYTES, follow_symlinks=False)
    recorded = lock.generated.files.get(rel) if lock is not None and lock.generated is not None else None
    theirs = rel not in tree or (current != tree[rel] and _sha(current) != recorded)
    if not theirs:
        return tree, built
    try:
        edited = current.decode("utf-8")
    except UnicodeDecodeError:
        return tree, built  # not text: the ConfigMap keeps the generated engine config (and vllm.yaml is reported)
    return plan_tree(sf, plan, lock_state(sf.dir, lock), vllm_yaml=edited), built


def scaffold(
    spec_arg: SpecFile | str | Path,
    *,
    mode: Mode = "write",
    force: bool = False,
    plan: dict[str, Any] | None = None,
) -> ScaffoldResult:
    """Render the tree and write, pretend, diff or check it. ``plan`` overrides the plan JSON.

    Writing runs under the lock's :func:`exclusive` lock (the manifest is a read-modify-write
    of ``distill.lock``) and is journalled: the files about to be written are recorded in
    ``[generated].pending`` first, so a run killed half-way is finished, not blamed, by the next."""
    sf, starter = _load(spec_arg, mode)
    if mode != "write":
        return _scaffold(sf, starter, mode=mode, force=force, plan=plan)
    with exclusive(sf.dir):
        return _scaffold(sf, starter, mode=mode, force=force, plan=plan)


def _scaffold(sf: SpecFile, starter: bool, *, mode: Mode, force: bool, plan: dict[str, Any] | None) -> ScaffoldResult:
    result = ScaffoldResult(mode=mode, starter=sf.display if starter else None, spec_file=sf)
    spec_dir = sf.dir
    lock = read_lock(spec_dir) if sf.path.exists() else None
    if lock is not None and lock.generated is not None:
        now = inputs_fingerprint(
            spec_dir, sf.sha256, lock, sf.spec.student.base_model, compare_students=sf.spec.compare.students or ()
        )
        check_manifest(os.path.join(_display_base(sf), LOCK_NAME), sf.spec.scaffold.root, lock.generated, now)
    tree, result.plan = _render_all(sf, lock, plan, force=force)
    check_paths(spec_dir, sf.spec.scaffold.root, list(sf.spec.scaffold.skip), sorted(tree))
    old = lock.generated if lock is not None and lock.generated is not None else GeneratedManifest("")
    manifest: dict[str, str] = {}
    kept: dict[str, str] = {}
    base = _display_base(sf)
    diffs: list[str] = []
    writes: list[tuple[str, bytes, bytes | None]] = []
    for rel, data in sorted(tree.items()):
        shown = os.path.join(base, rel)
        target = spec_dir / rel
        current = _read_target(target, shown)
        recorded = old.files.get(rel)
        # ours: written by a run (recorded, journalled, or written before and not generated since)
        ours = {h for h in (recorded, old.pending.get(rel), old.obsolete.get(rel)) if h is not None}
        if current is None:
            status, note = ("missing" if mode == "check" else "create"), ""
        elif current == data:
            status, note = "unchanged", ""
        elif _sha(current) in ours:
            status, note = ("stale" if mode == "check" else "update"), ""
        elif force and mode != "check":
            status, note = "user-modified, overwritten", ""
        elif old.kept.get(rel) == _sha(current):
            status, note = "user-modified, kept", "(your edit, recorded in distill.lock; --force overwrites it)"
        else:
            status = "user-modified" if mode == "check" else "user-modified, kept"
            note = (
                "(edited since generated; run `distillplan scaffold` to keep your edit, or --force to overwrite)"
                if mode == "check"
                else "(your edit is kept and recorded in distill.lock; --force overwrites it)"
            )
        result.files.append(FileStatus(shown, status, note))
        if status in ("create", "update", "user-modified, overwritten", "unchanged"):
            manifest[rel] = _sha(data)
            if status != "unchanged":
                writes.append((rel, data, current))
        else:  # kept as the person left it: still theirs next time, and check respects it
            manifest[rel] = recorded if recorded is not None else _sha(data)
            if current is not None:
                kept[rel] = _sha(current)
        if mode == "diff" and current != data:
            diffs.append(_unified(current, data, shown))
        if mode == "check" and status not in ("unchanged", "user-modified, kept"):
            result.problems.append(
                f"{shown}: {status} {note}".rstrip()
                + ("" if status == "user-modified" else "; run `distillplan scaffold`")
            )
    obsolete: dict[str, str] = {}
    for rel in sorted(set(old.files) - set(tree)):
        result.files.append(FileStatus(os.path.join(base, rel), "obsolete", "(no longer generated; left in place)"))
    for rel, sha in sorted({**old.obsolete, **old.files}.items()):
        # Still ours while left in place: should it be generated again, bytes we wrote are updated, not
        # taken for a person's edit (and kept, stale, with check passing).
        if rel not in tree and (spec_dir / rel).is_file():
            obsolete[rel] = sha
    result.diff = "".join(diffs)
    if mode == "check":
        result.problems += _leftovers(sf, tree)
    if mode == "write":
        _write(sf, lock, old, manifest, kept, obsolete, writes, result)
    return result


def _read_target(target: Path, shown: str) -> bytes | None:
    """The current bytes of a generated file; None when absent; refuses anything but a file."""
    if not target.exists() and not target.is_symlink():
        return None
    if not target.is_file():
        raise ScaffoldError(f"{shown}: is not a regular file (a folder?); distillplan writes regular files only")
    return read_regular(target, shown=shown, limit_bytes=MAX_GENERATED_BYTES)


def _write(
    sf: SpecFile,
    lock: LockFile | None,
    old: GeneratedManifest,
    manifest: dict[str, str],
    kept: dict[str, str],
    obsolete: dict[str, str],
    writes: list[tuple[str, bytes, bytes | None]],
    result: ScaffoldResult,
) -> None:
    """Journal, write (re-checking each file just before replacing it), record."""
    spec_dir = sf.dir
    base = lock or LockFile()
    if writes:  # the journal: what this run is about to write, before the first write
        pending = {rel: _sha(data) for rel, data, _ in writes}
        write_lock(spec_dir, replace(base, generated=replace(old, pending={**old.pending, **pending})))
    for rel, data, seen in writes:
        target = spec_dir / rel
        now = read_regular(target, limit_bytes=MAX_GENERATED_BYTES) if target.is_file() else None
        if now != seen:  # a person saved the file while this run rendered: theirs wins
            shown = os.path.join(_display_base(sf), rel)
            result.files = [
                FileStatus(shown, "user-modified, kept", "(edited while scaffold ran; run it again)")
                if f.path == shown
                else f
                for f in result.files
            ]
            if rel in old.files:
                manifest[rel] = old.files[rel]
            else:
                manifest.pop(rel, None)
            continue
        atomic_write(target, data)
    for tmp in _leftovers_paths(sf, manifest):
        tmp.unlink(missing_ok=True)
    fingerprint = inputs_fingerprint(
        spec_dir, sf.sha256, lock, sf.spec.student.base_model, compare_students=sf.spec.compare.students or ()
    )
    new = GeneratedManifest(fingerprint, manifest, kept=kept, obsolete=obsolete)
    if lock is None or lock.generated != new:
        write_lock(spec_dir, replace(base, generated=new))


def _leftovers_paths(sf: SpecFile, rels: dict[str, Any]) -> list[Path]:
    by_folder: dict[Path, list[str]] = {sf.dir: [LOCK_NAME]}
    for rel in rels:
        target = sf.dir / rel
        by_folder.setdefault(target.parent, []).append(target.name)
    out: list[Path] = []
    for folder, names in sorted(by_folder.items()):
        if folder.is_dir():
            out += stale_temp_files(folder, names)
    return out


def _leftovers(sf: SpecFile, rels: dict[str, Any]) -> list[str]:
    """Temporary files an interrupted write left behind, as ``check`` problems."""
    base = _display_base(sf)
    return [
        f"{os.path.join(base, os.path.relpath(p, sf.dir))}: left by an interrupted write; "
        "run `distillplan scaffold` to clean it up"
        for p in _leftovers_paths(sf, rels)
    ]


def _unified(old: bytes | None, new: bytes, shown: str) -> str:
    a = [] if old is None else old.decode("utf-8", "replace").splitlines(keepends=True)
    b = new.decode("utf-8").splitlines(keepends=True)
    lines = difflib.unified_diff(a, b, "/dev/null" if old is None else f"a/{shown}", f"b/{shown}")
    return "".join(line if line.endswith("\n") else line + "\n\\ No newline at end of file\n" for line in lines)


# ---------------------------------------------------------------- fast freshness


def check_fresh(spec: SpecFile | str | Path, *, lock: LockFile | None = None) -> list[str]:
    """Problems that make the generated tree out of step (empty: fresh). No jinja2 unless
    the inputs fingerprint changed; see the module docstring. ``lock``: the spec's
    ``distill.lock`` when the caller has read it already (otherwise it is read here)."""
    if isinstance(spec, str | Path):
        p = Path(spec)
        path = p / SPEC_NAME if p.is_dir() else p
        spec_bytes = read_regular(path, limit_bytes=MAX_GENERATED_BYTES)
        spec_dir, spec_sha, display = path.parent, _sha(spec_bytes), str(path)
        raw = tomllib.loads(spec_bytes.decode("utf-8"))
        base_model = raw.get("student", {}).get("base_model")
        table = raw.get("scaffold")
        given = table.get("root") if isinstance(table, dict) else None
        root = given if isinstance(given, str) else "distill"
        section = raw.get("compare")
        listed = section.get("students") if isinstance(section, dict) else None
        students = listed if isinstance(listed, list) else []
    else:
        spec_dir, spec_sha, display = spec.dir, spec.sha256, spec.display
        base_model = spec.spec.student.base_model
        students = spec.spec.compare.students or []
        root = spec.spec.scaffold.root
    if lock is None:
        lock = read_lock(spec_dir)
    lock_display = os.path.join(os.path.dirname(display), LOCK_NAME)
    if lock is None or lock.generated is None:
        return [f"{lock_display}: no generated files recorded; run `distillplan scaffold`"]
    if lock.generated.pending:
        return [f"{lock_display}: a scaffold run was interrupted; run `distillplan scaffold` to finish it"]
    students = [n for n in students if isinstance(n, str)]
    now = inputs_fingerprint(spec_dir, spec_sha, lock, base_model, compare_students=students)
    if lock.generated.inputs_sha256 != now:
        return scaffold(spec, mode="check").problems
    check_manifest(lock_display, root, lock.generated, now)  # read below: only files under the root
    problems: list[str] = []
    base = os.path.dirname(display)
    for rel, recorded in sorted(lock.generated.files.items()):
        target = spec_dir / rel
        shown = os.path.join(base, rel)
        try:  # a regular file inside the root: never a device, a FIFO or a symlink out of the tree
            current = _sha(read_regular(target, shown=shown, limit_bytes=MAX_GENERATED_BYTES, follow_symlinks=False))
        except FileNotFoundError:
            problems.append(f"{shown}: missing; run `distillplan scaffold`")
            continue
        if current != recorded and current != lock.generated.kept.get(rel):
            problems.append(
                f"{shown}: user-modified (edited since generated; run `distillplan scaffold` to keep your "
                "edit, or --force to overwrite)"
            )
    for tmp in stale_temp_files(spec_dir, [LOCK_NAME]) + [
        t for rel in lock.generated.files for t in stale_temp_files((spec_dir / rel).parent, [Path(rel).name])
    ]:
        problems.append(
            f"{os.path.join(base, os.path.relpath(tmp, spec_dir))}: left by an interrupted write; "
            "run `distillplan scaffold` to clean it up"
        )
    return problems
