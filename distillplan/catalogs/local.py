"""The repository's own student catalog: ``.distillplan/students.toml`` at the repository root,
written by ``distillplan catalog add PATH``. Each table names a base the bundle does not know: a
folder inside the repository holding a Hugging Face snapshot's ``config.json``, with the sha256
of that file, its family, its parameter counts and where it came from. ``student.base_model``
(and ``compare --student``) then accept the table's name; the architecture is read from the
folder, and a ``config.json`` changed since it was added is refused until it is added again.

The file is hand-editable TOML validated like the bundled data files (one located line on a
problem); ``catalog add`` appends to it, or replaces one table with ``--replace``, through an
atomic write, and never writes outside the repository.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

from pydantic import Field

from distillplan.catalogs.datafile import Row, load_rows

__all__ = ["REPO_CATALOG", "LocalStudent", "repo_catalog_path", "repo_students"]

#: Where the repository's catalog lives, relative to the repository root.
REPO_CATALOG = ".distillplan/students.toml"

Text = Annotated[str, Field(min_length=1)]


class LocalStudent(Row):
    """One table of ``.distillplan/students.toml``."""

    path: Annotated[str, Field(min_length=1, pattern=r"^[A-Za-z0-9._+@/-]+$")]
    config_sha256: Annotated[str, Field(pattern=r"^[0-9a-f]{64}$")]
    model_type: Text
    parameters: Annotated[int, Field(gt=0)]
    active_parameters: Annotated[int, Field(gt=0)]
    source: Text
    added: Annotated[str, Field(pattern=r"^\d{4}-\d{2}-\d{2}$")]


def repo_catalog_path(root: Path) -> Path:
    return root / REPO_CATALOG


def repo_students(root: Path | None) -> dict[str, LocalStudent]:
    """The repository catalog at ``root`` (empty when there is none), validated, by name."""
    if root is None:
        return {}
    path = repo_catalog_path(root)
    if not path.is_file():
        return {}
    return load_rows(LocalStudent, path=path)
