"""CONTRIBUTING.md stays in step with the tree: every path it names exists, and every package
and top-level module of distillplan is in its layout table."""

from __future__ import annotations

import re

from tests.conftest import ROOT

TEXT = (ROOT / "CONTRIBUTING.md").read_text()


def test_every_named_path_exists() -> None:
    paths = set(re.findall(r"`((?:distillplan|templates|docs|tests)/[\w./<>-]*)`", TEXT))
    assert len(paths) > 15
    missing = [p for p in sorted(paths) if "<" not in p and not (ROOT / p).exists()]
    assert missing == []


def test_every_package_and_module_is_in_the_layout() -> None:
    layout = TEXT.split("## The layout", 1)[1].split("## Where to change what", 1)[0]
    pkg = ROOT / "distillplan"
    names = {p.name for p in pkg.iterdir() if p.is_dir() and (p / "__init__.py").exists()}
    names |= {p.name for p in pkg.glob("*.py") if not p.name.startswith("_")}
    absent = sorted(n for n in names if n.removesuffix(".py") not in layout)
    assert absent == []
