"""``distillplan catalog [--format text|json]``: the bundled catalogs with their sources; the teacher
prices are the ones `plan` uses here (the repository's ``.distillplan/prices.toml`` over the book)."""

from __future__ import annotations

from distillplan.commands._io import EXIT_OK, say, today
from distillplan.outputs.catalog import render_catalog


def run(fmt: str) -> int:
    from pathlib import Path

    from distillplan.catalogs.prices import price_book
    from distillplan.git import repo_root

    say(render_catalog(fmt, today=today(), book=price_book(repo_root(Path.cwd()))))
    return EXIT_OK
