"""``distillplan catalog add PATH`` (issue 29): a local Hugging Face snapshot added to the
repository's own student catalog (``.distillplan/students.toml``), then planned by its name, in
real temporary git repositories through the real entry point."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path

import pytest
import tomllib

from distillplan.files import data_path
from distillplan.sizing.architecture import load_architecture, parameter_count
from tests.conftest import git, run_cli

NAME = "acme/qwen3-8b-copy"


def _snapshot(repo: Path, rel: str = "models/snap", source: str = "qwen3-8b.json") -> Path:
    folder = repo / rel
    folder.mkdir(parents=True)
    (folder / "config.json").write_bytes(data_path("architectures", source).read_bytes())
    return folder


def _use(repo: Path, base_model: str) -> Path:
    spec = repo / "distill.toml"
    text = re.sub(r'base_model = "[^"]*"', f"base_model = {json.dumps(base_model)}", spec.read_text(), count=1)
    spec.write_text(text, encoding="utf-8")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", f"student {base_model}")
    return spec


def test_a_snapshot_added_by_name_is_planned_like_its_folder(
    example_repo: Callable[[str], Path], capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    repo = example_repo("invoice-extraction")
    folder = _snapshot(repo)
    monkeypatch.chdir(repo / "models")  # PATH is read from the working folder
    code, out, err = run_cli("catalog", "add", "snap", "--name", NAME, capsys=capsys)
    assert (code, err) == (0, "") and f"added {NAME} (qwen3, 8,190,735,360 parameters)" in out
    code, out, _ = run_cli("catalog", capsys=capsys)
    assert code == 0 and f"{NAME} " in out.split("Repository catalog", 1)[1]
    listed = json.loads(run_cli("catalog", "--format", "json", capsys=capsys)[1])["repository_students"]
    assert [(r["name"], r["path"]) for r in listed] == [(NAME, "models/snap")]
    table = tomllib.loads((repo / ".distillplan/students.toml").read_text())[NAME]
    assert table["path"] == "models/snap" and table["parameters"] == 8190735360 == table["active_parameters"]
    assert table["model_type"] == "qwen3" and len(table["config_sha256"]) == 64
    monkeypatch.chdir(repo)
    spec = _use(repo, NAME)
    assert run_cli("validate", str(spec), capsys=capsys)[0] == 0
    code, out, _ = run_cli("plan", str(spec), "--format", "json", capsys=capsys)
    by_name = json.loads(out)
    _use(repo, "models/snap")
    code2, out2, _ = run_cli("plan", str(spec), "--format", "json", capsys=capsys)
    by_folder = json.loads(out2)
    assert code == code2 == 0
    assert by_name["student"]["parameters"] == parameter_count(load_architecture(str(folder), base_dir=repo))
    named = {k: v for k, v in by_name["sizing"].items() if k not in ("base_model", "p71_note")}
    assert named == {k: v for k, v in by_folder["sizing"].items() if k not in ("base_model", "p71_note")}
    # the snapshot changes after it was added: refused until added again
    config = json.loads((folder / "config.json").read_text())
    (folder / "config.json").write_text(json.dumps({**config, "num_hidden_layers": 12}))
    _use(repo, NAME)
    code, _, err = run_cli("plan", str(spec), capsys=capsys)
    assert code == 1 and err.count("\n") == 1
    assert ".distillplan/students.toml: acme/qwen3-8b-copy.config_sha256:" in err and "--replace" in err
    code, out, _ = run_cli("catalog", "add", "models/snap", "--name", NAME, "--replace", capsys=capsys)
    assert code == 0 and "replaced" in out
    assert run_cli("plan", str(spec), capsys=capsys)[0] == 0


def test_replace_keeps_the_other_entries_and_a_persons_edits(
    git_repo: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    _snapshot(git_repo, "a")
    _snapshot(git_repo, "b", "qwen3-30b-a3b.json")
    monkeypatch.chdir(git_repo)
    assert run_cli("catalog", "add", "a", "--name", "one", capsys=capsys)[0] == 0
    code, out, _ = run_cli("catalog", "add", "b", capsys=capsys)  # no --name: the folder's name
    assert code == 0 and "added b (qwen3_moe, 30,532,122,624 parameters, 3,353,032,704 active)" in out
    catalog = git_repo / ".distillplan/students.toml"
    edited = catalog.read_text().replace('["b"]\n', '["b"]\n# checked by hand on 2026-12-01\n')
    catalog.write_text(edited)
    assert run_cli("catalog", "add", "a", "--name", "one", "--replace", capsys=capsys)[0] == 0
    text = catalog.read_text()
    assert "# checked by hand on 2026-12-01" in text and text.count('["one"]') == 1
    assert list(tomllib.loads(text)) == ["b", "one"]


@pytest.mark.parametrize(
    ("args", "setup", "expected"),
    [
        (["outside"], "outside", "outside the repository"),
        (["empty"], "empty", "no config.json"),
        (["a", "--name", "Qwen/Qwen3-8B"], "a", "is a bundled student already"),
        (["a", "--name", "a b"], "a", "--name: 'a b' is not a catalog name"),
        (["a", "--name", "x/y/z"], "a", "is not a catalog name"),
        (["t5"], "t5", "encoder-decoder"),
        (["a", "--name", "one"], "twice", "already in the catalog"),
        (["a"], "linked", "leads outside the repository"),
    ],
)
def test_what_catalog_add_refuses_is_one_line(
    git_repo: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    args: list[str],
    setup: str,
    expected: str,
) -> None:
    monkeypatch.chdir(git_repo)
    if setup == "outside":
        (tmp_path / "outside").mkdir()
        (tmp_path / "outside" / "config.json").write_text("{}")
        args = [str(tmp_path / "outside")]
    elif setup == "empty":
        (git_repo / "empty").mkdir()
    elif setup == "t5":
        (git_repo / "t5").mkdir()
        (git_repo / "t5" / "config.json").write_text(json.dumps({"model_type": "t5", "d_model": 8}))
    else:
        _snapshot(git_repo, "a")
        if setup == "linked":  # .distillplan is a link to a folder outside the repository
            (tmp_path / "elsewhere").mkdir()
            (git_repo / ".distillplan").symlink_to(tmp_path / "elsewhere")
        if setup == "twice":
            assert run_cli("catalog", "add", "a", "--name", "one", capsys=capsys)[0] == 0
    before = (git_repo / ".distillplan/students.toml").read_bytes() if setup == "twice" else None
    code, out, err = run_cli("catalog", "add", *args, capsys=capsys)
    assert code == 1 and out == "" and err.count("\n") == 1 and expected in err, err
    after = git_repo / ".distillplan/students.toml"
    assert (after.read_bytes() if after.exists() else None) == before  # nothing written on a refusal
    assert not (tmp_path / "elsewhere" / "students.toml").exists()


def test_a_damaged_repository_catalog_is_one_located_line(
    example_repo: Callable[[str], Path], capsys: pytest.CaptureFixture[str]
) -> None:
    repo = example_repo("invoice-extraction")
    _snapshot(repo)
    catalog = repo / ".distillplan/students.toml"
    catalog.parent.mkdir()
    catalog.write_text(f'["{NAME}"]\npath = "models/snap"\nparameter = 1\n')
    spec = _use(repo, NAME)
    code, _, err = run_cli("plan", str(spec), capsys=capsys)
    assert code == 1 and err.count("\n") == 1 and f"{catalog}:" in err
