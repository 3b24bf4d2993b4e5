"""The wheel: templates and data ship inside it, and work from an installed copy."""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from tests.conftest import EXAMPLES, ROOT

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("dist")
    subprocess.run(
        [sys.executable, "-m", "build", "--wheel", "--no-isolation", "--outdir", str(out), str(ROOT)],
        check=True,
        capture_output=True,
    )
    (found,) = out.glob("distillplan-*.whl")
    return found


def test_templates_and_data_are_in_the_wheel(wheel: Path) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())
    templates = sorted(p.relative_to(ROOT).as_posix() for p in (ROOT / "templates").rglob("*") if p.is_file())
    assert templates
    for t in templates:
        assert f"distillplan/{t}" in names, t
    for data in ("teachers.toml", "gpus.toml", "starter.toml", "architectures/llama-3.1-8b.json"):
        assert f"distillplan/data/{data}" in names
    assert any(n.endswith("entry_points.txt") for n in names)


def test_an_installed_wheel_scaffolds_from_its_own_templates(wheel: Path, tmp_path: Path) -> None:
    target = tmp_path / "site"
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--target", str(target), str(wheel)],
        check=True,
        capture_output=True,
    )
    work = tmp_path / "work"
    subprocess.run(["cp", "-r", str(EXAMPLES / "open-chat"), str(work)], check=True)
    env = {**os.environ, "PYTHONPATH": str(target)}
    code = (
        "import distillplan, distillplan.files as r;"
        "print(distillplan.__file__); print(r.templates_dir());"
        "from distillplan.main import main; raise SystemExit(main(['scaffold', '.']))"
    )
    proc = subprocess.run([sys.executable, "-c", code], cwd=work, env=env, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    module, templates = proc.stdout.splitlines()[:2]
    assert module.startswith(str(target)) and templates.startswith(str(target))
    assert (work / "distill" / "docs" / "decision-memo.md").is_file()  # open-chat stays on the frontier
