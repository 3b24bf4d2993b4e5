"""``distillplan init [FOLDER] [--force]``: a commented starter ``distill.toml`` that validates."""

from __future__ import annotations

from pathlib import Path

from distillplan.commands._io import EXIT_OK, say
from distillplan.spec.starter import write_starter


def run(folder: Path | None, *, force: bool) -> int:
    path = write_starter(folder or Path("."), force=force)
    say(f"wrote {path}: fill in [project], [workload], [teacher] and [eval], then run `distillplan plan`")
    return EXIT_OK
