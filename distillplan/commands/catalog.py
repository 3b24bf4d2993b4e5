"""``distillplan catalog [--format text|json]``: the bundled catalogs with their sources (the teacher
prices are the ones `plan` uses here: the repository's ``.distillplan/prices.toml`` over the book); and
``distillplan catalog add PATH``: a local Hugging Face snapshot added to the repository's own
student catalog (:mod:`distillplan.catalogs.local`)."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

from distillplan.catalogs.local import REPO_CATALOG, repo_catalog_path, repo_students
from distillplan.catalogs.students import is_student_name
from distillplan.commands._io import EXIT_OK, say, today
from distillplan.errors import ArchitectureError, DistillError
from distillplan.files import atomic_write, is_inside, read_regular
from distillplan.git import repo_root
from distillplan.outputs.catalog import render_catalog
from distillplan.sizing.architecture import MAX_CONFIG_BYTES, active_parameter_count, load_architecture, parameter_count
from distillplan.text import toml_str

#: A catalog name: a hub id or a plain name (the characters `student.base_model` accepts).
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._+@-]*(/[A-Za-z0-9][A-Za-z0-9._+@-]*)?$")
_HUB_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*/[A-Za-z0-9][A-Za-z0-9._-]*$")


def run(fmt: str) -> int:
    from distillplan.catalogs.prices import price_book

    root = repo_root(Path.cwd())
    say(render_catalog(fmt, today=today(), book=price_book(root), local=repo_students(root)))
    return EXIT_OK


def run_add(path: Path, name: str | None, *, replace: bool) -> int:
    say(add(path, name, replace=replace, cwd=Path.cwd()))
    return EXIT_OK


def add(path: Path, name: str | None, *, replace: bool, cwd: Path) -> str:
    """Add the snapshot folder ``path`` to the repository catalog; the line to print."""
    folder = path if path.is_absolute() else cwd / path
    root = repo_root(cwd)  # the repository the command runs in
    if root is None:
        raise DistillError(f"{cwd}: not inside a git repository; `catalog add` writes {REPO_CATALOG} at its root")
    if not is_inside(folder, root):
        raise DistillError(f"{path}: outside the repository {root}; copy the snapshot into it first")
    config = folder / "config.json"
    if not config.is_file():
        raise DistillError(f"{path}: no config.json in this folder (a Hugging Face snapshot holds one)")
    raw = read_regular(config, limit_bytes=MAX_CONFIG_BYTES)
    arch = load_architecture(str(folder), base_dir=cwd)  # a config the sizing cannot size is refused here
    rel = folder.resolve().relative_to(root.resolve()).as_posix()
    chosen = name or _default_name(raw, folder)
    if not _NAME.match(chosen) or len(chosen) > 128:
        raise DistillError(
            f"--name: {chosen[:80]!r} is not a catalog name (letters, digits, . _ + @ -, at most one /; e.g. org/model)"
        )
    if is_student_name(chosen):
        raise DistillError(f"--name: {chosen} is a bundled student already; give the local copy another name")
    catalog = repo_catalog_path(root)
    if not is_inside(catalog.parent, root) or (catalog.exists() and not is_inside(catalog, root)):
        raise DistillError(f"{catalog}: leads outside the repository {root} (a symbolic link); not written")
    existing = repo_students(root)
    if chosen in existing and not replace:
        raise DistillError(f"{catalog}: {chosen}: already in the catalog (path {existing[chosen].path}); add --replace")
    entry = (
        f"[{toml_str(chosen)}]\n"
        f"path = {toml_str(rel)}\n"
        f"config_sha256 = {toml_str(hashlib.sha256(raw).hexdigest())}\n"
        f"model_type = {toml_str(arch.model_type)}\n"
        f"parameters = {parameter_count(arch)}\n"
        f"active_parameters = {active_parameter_count(arch)}\n"
        f"source = {toml_str(f'{rel}/config.json added by distillplan catalog add')}\n"
        f"added = {toml_str(today().isoformat())}\n"
    )
    text = catalog.read_text(encoding="utf-8") if catalog.is_file() else _HEADER
    if chosen in existing:
        text = _without_table(text, chosen, catalog)
    if text and not text.endswith("\n"):
        text += "\n"
    atomic_write(catalog, text + ("\n" if text.strip() else "") + entry)
    repo_students(root)  # what was written reads back through the validating reader
    counted = f"{parameter_count(arch):,} parameters" + (
        f", {active_parameter_count(arch):,} active" if arch.is_moe else ""
    )
    verb = "replaced" if chosen in existing else "added"
    use = f"student.base_model = {toml_str(chosen)}"
    return f"{REPO_CATALOG}: {verb} {chosen} ({arch.model_type}, {counted}) from {rel}; use {use}"


_HEADER = (
    "# The repository's own student catalog (distillplan catalog add PATH): bases the bundled catalog does not\n"
    "# know, each a folder inside this repository holding a Hugging Face snapshot's config.json.\n"
)


def _default_name(raw: bytes, folder: Path) -> str:
    """The snapshot's hub id when its config names one (``_name_or_path``), else the folder's name."""
    import json

    try:
        named = json.loads(raw).get("_name_or_path")
    except (ValueError, AttributeError):
        named = None
    return named if isinstance(named, str) and _HUB_ID.match(named) else folder.resolve().name


def _without_table(text: str, name: str, catalog: Path) -> str:
    """``text`` without the table ``[name]`` (its header line to the next table header)."""
    lines = text.splitlines(keepends=True)
    header = re.compile(r"\s*\[\s*(" + re.escape(toml_str(name)) + "|" + re.escape(name) + r")\s*\]\s*(#.*)?$")
    start = next((i for i, ln in enumerate(lines) if header.match(ln.rstrip("\n"))), None)
    if start is None:
        raise ArchitectureError(f"{catalog}: {name}: its table header was not found to replace; edit the file by hand")
    end = next((i for i in range(start + 1, len(lines)) if re.match(r"\s*\[", lines[i])), len(lines))
    return "".join(lines[:start] + lines[end:]).rstrip("\n") + "\n"
