"""The commented starter ``distill.toml`` written by ``init`` (and by ``scaffold`` in an empty folder)."""

from __future__ import annotations

import re
from pathlib import Path

from distillplan.errors import DistillError
from distillplan.files import atomic_write, data_text
from distillplan.spec.load import SPEC_NAME


def starter_text(folder_name: str) -> str:
    """The starter spec, named after ``folder_name`` (made a slug)."""
    slug = re.sub(r"[^a-z0-9]+", "-", folder_name.lower()).strip("-")[:63].strip("-") or "my-workload"
    title = slug.replace("-", " ").capitalize()
    return data_text("starter.toml").replace("{name}", slug).replace("{title}", title)


def write_starter(folder: Path, *, force: bool = False) -> Path:
    """Write the starter spec into ``folder``; refuse to replace one unless ``force``."""
    path = folder / SPEC_NAME
    if path.exists() and not force:
        raise DistillError(f"{path}: already exists; pass --force to replace it with the starter")
    atomic_write(path, starter_text(folder.resolve().name))
    return path
