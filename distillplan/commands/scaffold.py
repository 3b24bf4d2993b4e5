"""``distillplan scaffold [SPEC] [--pretend] [--diff] [--check] [--force]``: the generated tree.

The I/O edge of the scaffold: the spec is loaded (or the starter written), the plan built,
``distill.lock`` read, git asked for the repository, the files on disk read, and the files and
the manifest written. What the tree is, and each file's status, are computed by
:mod:`distillplan.outputs.scaffold` from the values read here.

Freshness (:func:`check_fresh`, the pre-commit path) does not import jinja2 and does not
render when nothing changed. ``[generated].inputs_sha256`` stores an *inputs fingerprint*,
``"inputs-v1:" + sha256`` over: the spec's sha256, the distillplan version, the eval lock
hash, the locked files' git blob ids and the teacher baseline (the contract cites them; it
cites no commit, so committing never makes it stale: issue 23), the bundled templates'
bytes, and the ``config.json`` bytes of a local student and of local ``[compare].students``
(the proposal lists alternatives). Equal fingerprint: only each file's sha256 is compared.
Changed fingerprint: the tree is rendered and compared with the disk. (An eval file edited
without re-locking is reported by the eval-lock verification of the same ``check``.)
"""

from __future__ import annotations

import hashlib
import os
import posixpath
import sys
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any

from distillplan import __version__
from distillplan.commands._io import say
from distillplan.commands._prices import warn_prices
from distillplan.errors import ScaffoldError, quote_value
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
from distillplan.outputs.scaffold import (
    VLLM_YAML,
    FileStatus,
    Mode,
    ScaffoldResult,
    _absolute,
    _sha,
    check_manifest,
    lock_state,
    plan_tree,
    statuses,
)

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on 3.10 only
    import tomli as tomllib

if TYPE_CHECKING:  # pragma: no cover
    from distillplan.plan.model import Plan
    from distillplan.spec.load import SpecFile

__all__ = ["check_fresh", "check_paths", "inputs_fingerprint", "run", "scaffold", "scaffold_text", "tree_for"]

SPEC_NAME = "distill.toml"
FINGERPRINT_PREFIX = "inputs-v1:"
#: The most bytes read of a generated file (or a person's edit of one): they are a few KB.
MAX_GENERATED_BYTES = 64 << 20


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


# ---------------------------------------------------------------- the run


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


def tree_for(sf: SpecFile, plan: Plan, lock: dict[str, Any], *, vllm_yaml: str | None = None) -> dict[str, bytes]:
    """The generated tree of ``sf`` from ``plan``, with the proposal's alternatives (``compare``
    over the spec's axes: each student's architecture read here)."""
    from distillplan.commands._inputs import book_for, compare_for_file  # deferred: planning stays off the hook path
    from distillplan.outputs.compare_report import alternatives  # deferred: likewise

    alts = alternatives(compare_for_file(sf), sf.spec.compare.alternatives)
    return plan_tree(sf, plan, lock, alternatives=alts, book=book_for(sf.spec), vllm_yaml=vllm_yaml)


def _render_all(
    sf: SpecFile, lock: LockFile | None, plan: Plan | None, *, force: bool = False
) -> tuple[dict[str, bytes], Plan | None]:
    """The tree, and the plan when it was built here (``plan``: the caller's plan); when the
    person's own vllm.yaml is on disk (edited and kept, or skipped), the ConfigMap the Deployment
    mounts is derived from those bytes, never from the generated ones."""
    built = None
    if plan is None:
        from distillplan.commands._inputs import plan_for_file  # deferred: planning stays off the hook path

        plan = built = plan_for_file(sf)
    tree = tree_for(sf, plan, lock_state(lock))
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
    return tree_for(sf, plan, lock_state(lock), vllm_yaml=edited), built


def scaffold(
    spec_arg: SpecFile | str | Path,
    *,
    mode: Mode = "write",
    force: bool = False,
    plan: Plan | None = None,
) -> ScaffoldResult:
    """Render the tree and write, pretend, diff or check it. ``plan`` overrides the plan.

    Writing runs under the lock's :func:`exclusive` lock (the manifest is a read-modify-write
    of ``distill.lock``) and is journalled: the files about to be written are recorded in
    ``[generated].pending`` first, so a run killed half-way is finished, not blamed, by the next."""
    sf, starter = _load(spec_arg, mode)
    if mode != "write":
        return _scaffold(sf, starter, mode=mode, force=force, plan=plan)
    with exclusive(sf.dir):
        return _scaffold(sf, starter, mode=mode, force=force, plan=plan)


def _scaffold(sf: SpecFile, starter: bool, *, mode: Mode, force: bool, plan: Plan | None) -> ScaffoldResult:
    """Read (the lock, the files), compute (the tree, the statuses), then write or report."""
    spec_dir = sf.dir
    lock = read_lock(spec_dir) if sf.path.exists() else None
    if lock is not None and lock.generated is not None:
        check_manifest(
            os.path.join(_display_base(sf), LOCK_NAME), sf.spec.scaffold.root, lock.generated, _fingerprint(sf, lock)
        )
    tree, built = _render_all(sf, lock, plan, force=force)
    check_paths(spec_dir, sf.spec.scaffold.root, list(sf.spec.scaffold.skip), sorted(tree))
    old = lock.generated if lock is not None and lock.generated is not None else GeneratedManifest("")
    base = _display_base(sf)
    current = {rel: _read_target(spec_dir / rel, os.path.join(base, rel)) for rel in tree}
    out = statuses(tree, current, old, mode=mode, force=force, shown=lambda rel: os.path.join(base, rel))
    result = ScaffoldResult(
        mode=mode,
        files=out.files,
        diff=out.diff,
        starter=sf.display if starter else None,
        problems=out.problems,
        plan=built,
        spec_file=sf,
    )
    if mode == "check":
        result.problems += _leftovers(sf, tree)
    if mode == "write":
        # Still ours while left in place: should it be generated again, bytes we wrote are updated, not
        # taken for a person's edit (and kept, stale, with check passing).
        obsolete = {
            rel: sha
            for rel, sha in sorted({**old.obsolete, **old.files}.items())
            if rel not in tree and (spec_dir / rel).is_file()
        }
        _write(sf, lock, old, out.manifest, out.kept, obsolete, out.writes, result)
    return result


def _fingerprint(sf: SpecFile, lock: LockFile | None) -> str:
    return inputs_fingerprint(
        sf.dir, sf.sha256, lock, sf.spec.student.base_model, compare_students=sf.spec.compare.students or ()
    )


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
    new = GeneratedManifest(_fingerprint(sf, lock), manifest, kept=kept, obsolete=obsolete)
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


@dataclass(frozen=True)
class _FreshInputs:
    """What the freshness check needs of a spec: read from its TOML alone on the hook path."""

    spec_dir: Path
    sha256: str
    display: str
    base_model: str | None
    students: list[str]
    root: str


def _fresh_inputs(spec: SpecFile | str | Path) -> _FreshInputs:
    """The spec's folder, hash and the few keys the fingerprint reads: from the file's TOML
    (no validation, no pydantic: the hook's ``validate`` has done it), or from a loaded spec."""
    if not isinstance(spec, str | Path):
        students = spec.spec.compare.students or []
        return _FreshInputs(
            spec.dir, spec.sha256, spec.display, spec.spec.student.base_model, list(students), spec.spec.scaffold.root
        )
    p = Path(spec)
    path = p / SPEC_NAME if p.is_dir() else p
    spec_bytes = read_regular(path, limit_bytes=MAX_GENERATED_BYTES)
    raw = tomllib.loads(spec_bytes.decode("utf-8"))
    table = raw.get("scaffold")
    given = table.get("root") if isinstance(table, dict) else None
    section = raw.get("compare")
    listed = section.get("students") if isinstance(section, dict) else None
    return _FreshInputs(
        path.parent,
        _sha(spec_bytes),
        str(path),
        raw.get("student", {}).get("base_model"),
        [n for n in listed if isinstance(n, str)] if isinstance(listed, list) else [],
        given if isinstance(given, str) else "distill",
    )


def check_fresh(spec: SpecFile | str | Path, *, lock: LockFile | None = None) -> list[str]:
    """Problems that make the generated tree out of step (empty: fresh). No jinja2 unless
    the inputs fingerprint changed; see the module docstring. ``lock``: the spec's
    ``distill.lock`` when the caller has read it already (otherwise it is read here)."""
    f = _fresh_inputs(spec)
    if lock is None:
        lock = read_lock(f.spec_dir)
    lock_display = os.path.join(os.path.dirname(f.display), LOCK_NAME)
    if lock is None or lock.generated is None:
        return [f"{lock_display}: no generated files recorded; run `distillplan scaffold`"]
    if lock.generated.pending:
        return [f"{lock_display}: a scaffold run was interrupted; run `distillplan scaffold` to finish it"]
    now = inputs_fingerprint(f.spec_dir, f.sha256, lock, f.base_model, compare_students=f.students)
    if lock.generated.inputs_sha256 != now:
        return scaffold(spec, mode="check").problems
    check_manifest(lock_display, f.root, lock.generated, now)  # read below: only files under the root
    base = os.path.dirname(f.display)
    return _changed_files(f.spec_dir, base, lock.generated) + _interrupted_writes(f.spec_dir, base, lock.generated)


def _changed_files(spec_dir: Path, base: str, gen: GeneratedManifest) -> list[str]:
    """Recorded files that are missing or whose bytes are neither ours nor a kept edit."""
    problems: list[str] = []
    for rel, recorded in sorted(gen.files.items()):
        shown = os.path.join(base, rel)
        try:  # a regular file inside the root: never a device, a FIFO or a symlink out of the tree
            current = _sha(
                read_regular(spec_dir / rel, shown=shown, limit_bytes=MAX_GENERATED_BYTES, follow_symlinks=False)
            )
        except FileNotFoundError:
            problems.append(f"{shown}: missing; run `distillplan scaffold`")
            continue
        if current != recorded and current != gen.kept.get(rel):
            problems.append(
                f"{shown}: user-modified (edited since generated; run `distillplan scaffold` to keep your "
                "edit, or --force to overwrite)"
            )
    return problems


def _interrupted_writes(spec_dir: Path, base: str, gen: GeneratedManifest) -> list[str]:
    """Temporary files an interrupted write left beside the lock or a recorded file."""
    temps = stale_temp_files(spec_dir, [LOCK_NAME]) + [
        t for rel in gen.files for t in stale_temp_files((spec_dir / rel).parent, [Path(rel).name])
    ]
    return [
        f"{os.path.join(base, os.path.relpath(tmp, spec_dir))}: left by an interrupted write; "
        "run `distillplan scaffold` to clean it up"
        for tmp in temps
    ]


def scaffold_text(
    spec_arg: str | Path,
    *,
    pretend: bool = False,
    diff: bool = False,
    check: bool = False,
    force: bool = False,
) -> tuple[int, str]:
    """``distillplan scaffold``: (exit code, text to print)."""
    return _scaffold_text(spec_arg, pretend=pretend, diff=diff, check=check, force=force)[:2]


def _scaffold_text(
    spec_arg: str | Path, *, pretend: bool, diff: bool, check: bool, force: bool
) -> tuple[int, str, ScaffoldResult]:
    mode: Mode = "check" if check else "diff" if diff else "pretend" if pretend else "write"
    result = scaffold(spec_arg, mode=mode, force=force)
    if mode == "check":
        if result.ok:
            return 0, "generated files are up to date\n", result
        return 1, "\n".join(result.problems) + "\n", result
    text = "\n".join(result.lines()) + "\n"
    if mode == "diff":
        text += result.diff
    if mode in ("pretend", "diff"):
        text += "(nothing written)\n"
    if result.starter:
        text += (
            f"{result.starter}: a starter spec; fill in [project] (client, provider, start), "
            "[workload] volume, [teacher], [student] and [eval] (datasets, teacher_score), "
            "then run `distillplan scaffold` again\n"
        )
    return 0, text, result


def run(spec: str | Path, *, pretend: bool, diff: bool, check: bool, force: bool, stale_warning: bool = True) -> int:
    """Write (or pretend, diff, check) the tree; the documents carry prices, so their warnings
    (stale, retired, third-party) go to stderr as with `plan` (not with --check, the hook's path)."""
    code, text, result = _scaffold_text(spec, pretend=pretend, diff=diff, check=check, force=force)
    if text:
        say(text.rstrip("\n"))
    sf = result.spec_file
    if stale_warning and not check and result.plan is not None and sf is not None and not result.starter:
        warn_prices(sf.display, result.plan, sf.spec.policy.price_staleness_months)
    return code
