"""``distillplan catalog [--format text|json]``: the bundled catalogs with their sources."""

from __future__ import annotations

from distillplan.commands._io import EXIT_OK, say, today
from distillplan.outputs.catalog import render_catalog


def run(fmt: str) -> int:
    say(render_catalog(fmt, today=today()))
    return EXIT_OK
