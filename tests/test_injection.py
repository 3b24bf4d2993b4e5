"""Nothing is injected (issue 14): values from the spec reach the generated YAML, Markdown and
the terminal only escaped. Each file is read back by its real parser (PyYAML)."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
import yaml

from distillplan.errors import Problem, quote_value
from distillplan.outputs.render import dns_label
from distillplan.text import yaml_comment
from tests.conftest import EXAMPLES, git, run_cli

Cap = pytest.CaptureFixture[str]
UNESCAPED_HTML = re.compile(r"(?<!\\)<(?:script|/details>|!-- `)|(?<!\\)`x(?<!\\)`")
DNS_LABEL = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?")


def _repo(git_repo: Path, edit: tuple[str, str] | None = None, extra: str = "") -> Path:
    if not (git_repo / ".git").exists():
        git_repo.mkdir(parents=True, exist_ok=True)
        git(git_repo, "init", "-q", "-b", "main")
    shutil.copytree(EXAMPLES / "invoice-extraction", git_repo, dirs_exist_ok=True)
    spec = git_repo / "distill.toml"
    text = spec.read_text("utf-8")
    if edit is not None:
        assert edit[0] in text
        text = text.replace(edit[0], edit[1], 1)
    spec.write_text(text + extra, "utf-8")
    git(git_repo, "add", "-A")
    git(git_repo, "commit", "-q", "-m", "example")
    return git_repo


def _yaml_docs(root: Path) -> dict[str, list[object]]:
    return {
        p.relative_to(root).as_posix(): list(yaml.safe_load_all(p.read_text("utf-8")))
        for p in sorted(root.rglob("*.yaml"))
    }


def test_yaml_comment_cannot_end_the_line() -> None:
    hostile = "distill\ntrust-remote-code: true\r\n#\x1b[2J\u2028x"
    out = yaml_comment(hostile)
    assert "\n" not in out and "\r" not in out and "\x1b" not in out and "\u2028" not in out
    assert yaml.safe_load("# " + out + "\nkey: 1\n") == {"key": 1}


def test_a_root_with_yaml_syntax_adds_no_key(
    git_repo: Path, tmp_path: Path, capsys: Cap, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A legal but YAML-looking root (``: `` and `` #``) changes paths, never the documents' keys."""
    plain = _repo(tmp_path / "plain")
    monkeypatch.chdir(plain)
    assert run_cli("scaffold", capsys=capsys)[0] == 0
    hostile = _repo(git_repo, extra='\n[scaffold]\nroot = "gen: x #y"\n')
    monkeypatch.chdir(hostile)
    code, _, err = run_cli("scaffold", capsys=capsys)
    assert code == 0, err
    want = {k: [sorted(d) if isinstance(d, dict) else d for d in v] for k, v in _yaml_docs(plain / "distill").items()}
    got = {
        k: [sorted(d) if isinstance(d, dict) else d for d in v] for k, v in _yaml_docs(hostile / "gen: x #y").items()
    }
    assert {k: [type(d).__name__ for d in v] for k, v in got.items()} == {
        k: [type(d).__name__ for d in v] for k, v in want.items()
    }
    for rel in want:
        assert [d for d in got[rel] if isinstance(d, list)] == [d for d in want[rel] if isinstance(d, list)], rel


@pytest.mark.parametrize("name", ["x\n", "x\r", "x\n\n", "a" * 64])
def test_slug_refuses_trailing_newlines_and_length(
    git_repo: Path, capsys: Cap, monkeypatch: pytest.MonkeyPatch, name: str
) -> None:
    import json

    repo = _repo(git_repo, ('name = "invoice-extraction"', "name = " + json.dumps(name)))
    monkeypatch.chdir(repo)
    code, _, err = run_cli("validate", capsys=capsys)
    assert code == 1
    assert "project.name: must be a slug" in err
    assert len(err.strip().splitlines()) == 1


def test_kubernetes_names_are_labels_and_unique() -> None:
    a, b = "a" * 58 + "-one", "a" * 58 + "-two"  # 63-character slugs differing past character 58
    la, lb = dns_label("vllm-" + a), dns_label("vllm-" + b)
    assert la != lb
    for label in (la, lb, dns_label("vllm-x")):
        assert len(label) <= 63 and DNS_LABEL.fullmatch(label), label
    assert dns_label("vllm-x") == "vllm-x"  # short names are kept as they are (goldens unchanged)


def test_markdown_title_cannot_open_html(git_repo: Path, capsys: Cap, monkeypatch: pytest.MonkeyPatch) -> None:
    title = "</details><script>alert(1)</script> <!-- `x` | y"
    repo = _repo(git_repo, ('title = "Invoice field extraction"', f'title = "{title}"'))
    monkeypatch.chdir(repo)
    code, _, err = run_cli("scaffold", capsys=capsys)
    assert code == 0, err
    for doc in ("proposal.md", "contract.md"):
        text = (repo / "distill" / "docs" / doc).read_text("utf-8")
        assert "\\<script\\>" in text, doc  # the title is there, shown literally
        assert not UNESCAPED_HTML.search(text), doc
    code, out, _ = run_cli("plan", "--format", "markdown", capsys=capsys)
    assert code == 0
    assert not re.search(r"(?<!\\)<script", out)
    assert len(re.findall(r"(?<!\\)<details", out)) == len(re.findall(r"(?<!\\)</details>", out))  # none closed early


def test_error_lines_show_control_characters_as_escapes() -> None:
    p = Problem(
        "distill.toml", 3, 8, "project.name", "must be a slug (got " + quote_value("x\nFILE:1:1: ok\x1b[2J") + ")"
    )
    text = str(p)
    assert "\n" not in text and "\x1b" not in text
    assert text.endswith('(got "x\\nFILE:1:1: ok\\x1b[2J")')


def test_text_report_neutralises_control_characters(
    git_repo: Path, capsys: Cap, monkeypatch: pytest.MonkeyPatch
) -> None:
    repo = _repo(git_repo, ('title = "Invoice field extraction"', 'title = "Invoice\\u001b[2J\\nforged line"'))
    monkeypatch.chdir(repo)
    code, out, err = run_cli("plan", capsys=capsys)
    assert code == 0, err
    assert "\x1b" not in out
    assert "Invoice\\x1b[2J\\nforged line" in out.splitlines()[0]
