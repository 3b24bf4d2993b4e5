"""The package's layers and the absence of import cycles, checked by import-linter (the
contracts are in pyproject.toml's ``[tool.importlinter]``), on the real tree and on a copy
with a planted violation, so the check is known to bite."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
ARGS = ["--config", str(ROOT / "pyproject.toml"), "--no-cache"]


def lint_imports(tree: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(tree)}
    return subprocess.run(
        [sys.executable, "-c", "from importlinter.cli import lint_imports_command as c; c()", *ARGS],
        cwd=tree,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )


def test_contracts_kept() -> None:
    proc = lint_imports(ROOT)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "Contracts: 4 kept, 0 broken." in proc.stdout


@pytest.mark.parametrize(
    ("module", "planted", "broken"),
    [
        ("spec/models.py", "import distillplan.plan.build\n", "layers"),
        ("outputs/rows.py", "import distillplan.outputs.report\n", "no import cycles"),
        ("evalset/fingerprint.py", "import jinja2\n", "the hook path"),
        ("plan/costs.py", "import distillplan.files\n", "plan/ is pure"),
    ],
)
def test_a_planted_violation_breaks_a_contract(tmp_path: Path, module: str, planted: str, broken: str) -> None:
    shutil.copytree(ROOT / "distillplan", tmp_path / "distillplan", ignore=shutil.ignore_patterns("__pycache__"))
    target = tmp_path / "distillplan" / module
    target.write_text(target.read_text() + "\n" + planted)
    proc = lint_imports(tmp_path)
    assert proc.returncode == 1
    assert "Contracts: 4 kept" not in proc.stdout
    broken_section = proc.stdout.split("Broken contracts", 1)[1]
    assert broken in broken_section


def test_plan_reads_no_repository_price_file() -> None:
    """plan/ takes the bundled price book's types and rows from ``catalogs.prices``, but the
    repository's ``.distillplan/prices.toml`` is read at the edge (``commands._inputs.book_for``)
    and passed in (``PlanInputs.book``): no module of plan/ calls the reader or follows the
    spec's ``prices_root`` to it."""
    for path in sorted((ROOT / "distillplan" / "plan").glob("*.py")):
        text = path.read_text("utf-8")
        assert "price_book" not in text and "prices_root" not in text, path.name
