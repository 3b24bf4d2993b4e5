"""Nothing is injected (issue 14): values from the spec reach the generated YAML, Markdown and
the terminal only escaped. Each file is read back by its real parser (PyYAML)."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
import yaml
from markdown_it import MarkdownIt

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


# ---------------------------------------------------------------- issue 26: one payload through every output

#: Every attack at once: each Unicode line terminator YAML (1.1) or a terminal honours, a command
#: substitution and backticks (with spaces, so an unquoted copy splits), an escape sequence, HTML.
LINE_TERMINATORS = "\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029"
SHELL = "$(touch PWNED) `touch PWNED2`"
PAYLOAD = f"p{LINE_TERMINATORS}trust_remote_code: true\n{SHELL} \x1b[31m<script>alert(1)</script>|"
#: Where a command of the generated documents starts on a line.
COMMANDS = (
    "trl sft",
    "kubectl ",
    "lm_eval ",
    "python ",
    "vllm serve",
    "litellm ",
    "distillplan accept",
    "--model_args",
    "--include_path",
)
RAW_HTML = re.compile(r"(?<!\\)<script")
RAW_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029]")


def _toml(value: str) -> str:
    from distillplan.text import toml_str

    return toml_str(value)


def _top_level(files: dict[str, bytes]) -> dict[str, object]:
    """Per YAML file, the top-level keys of each document; per Python file, the top-level names."""
    import ast

    out: dict[str, object] = {}
    for rel, data in files.items():
        text = data.decode("utf-8")
        if rel.endswith(".yaml"):
            out[rel] = [sorted(d) if isinstance(d, dict) else type(d).__name__ for d in yaml.safe_load_all(text)]
        elif rel.endswith(".py"):
            tree = ast.parse(text)
            out[rel] = sorted(ast.dump(n.targets[0]) for n in tree.body if isinstance(n, ast.Assign))
    return out


def _shell_lines(files: dict[str, bytes], marker: str) -> list[str]:
    """Each command line of the generated files (YAML and Python comments) that carries ``marker``,
    from its command word on, continuation backslash dropped."""
    found = []
    for data in files.values():
        for line in data.decode("utf-8").splitlines():
            body = line.lstrip("# ")
            if marker not in body:
                continue
            starts = [body.find(c) for c in COMMANDS if c in body]
            if starts:
                found.append(body[min(starts) :].rstrip("\\ "))
    return found


def test_one_payload_through_every_output(
    git_repo: Path, tmp_path: Path, capsys: Cap, monkeypatch: pytest.MonkeyPatch
) -> None:
    """U+2028 (and every other line terminator), ``$()``, backticks, ESC and ``<script>`` in every
    field that takes free text and in the eval data's stratum names, through plan (text, JSON,
    Markdown), scaffold's tree, lock, check, accept (text, Markdown, JSON), monitor (text, Markdown,
    JSON) and compare; refused, located, in every field that names a path or a command argument;
    and pasted, quoted, into every shell line when the spec is built by a library caller."""
    import json
    import shlex
    import subprocess

    from distillplan.commands.scaffold import tree_for
    from distillplan.spec.load import load_spec

    # 1. Every field that reaches a command, a path or YAML refuses the payload at `validate`, located.
    plain = _repo(tmp_path / "plain")
    monkeypatch.chdir(plain)
    spec_text = (plain / "distill.toml").read_text("utf-8")
    for key, edit in [
        ("scaffold.root", (None, f"\n[scaffold]\nroot = {_toml(PAYLOAD)}\n")),
        ("scaffold.skip[0]", (None, f"\n[scaffold]\nskip = [{_toml(PAYLOAD)}]\n")),
        ("eval.datasets[0]", ('datasets = ["eval/locked.jsonl"]', f"datasets = [{_toml(PAYLOAD)}]")),
        ("student.base_model", ('base_model = "meta-llama/Llama-3.1-8B"', f"base_model = {_toml(PAYLOAD)}")),
        ("teacher.model", ('model = "claude-sonnet-5.5"', f"model = {_toml(PAYLOAD)}")),
        ("eval.strata_field", ('strata_field = "segment"', f"strata_field = {_toml(PAYLOAD)}")),
        ("serving.image", (None, f"\n[serving]\nimage = {_toml(PAYLOAD)}\n")),
        ("teacher_data.inputs[0]", (None, f"\n[teacher_data]\ninputs = [{_toml(PAYLOAD)}]\n")),
    ]:
        old, new = edit
        text = spec_text + new if old is None else spec_text.replace(old, new, 1)
        assert text != spec_text
        bad = tmp_path / "bad.toml"
        bad.write_text(text, "utf-8")
        code, _, err = run_cli("validate", str(bad), capsys=capsys)
        assert code == 1, key
        assert err.count("\n") == 1 and not RAW_CONTROL.search(err.rstrip("\n")), err
        assert re.match(rf"{re.escape(str(bad))}:\d+:\d+: {re.escape(key)}: ", err), err

    # 2. The quoting layer on its own: a library caller's spec with the payload as [scaffold].root.
    sf = load_spec(plain / "distill.toml")
    from distillplan.commands._inputs import plan_for_file

    plan = plan_for_file(sf)
    lock: dict[str, object] = {"eval_hash": None, "files": []}
    normal = tree_for(sf, plan, lock)
    root = PAYLOAD.replace("/", "_")
    hostile_spec = sf.spec.model_copy(update={"scaffold": sf.spec.scaffold.model_copy(update={"root": root})})
    hostile = tree_for(type(sf)(hostile_spec, sf.path, sf.display, sf.sha256), plan, lock)
    strip = {k.split("/", 1)[1]: v for k, v in normal.items()}
    mine = {k[len(posixpath_norm(root)) + 1 :]: v for k, v in hostile.items()}
    assert sorted(strip) == sorted(mine)
    assert _top_level(mine) == _top_level(strip)  # YAML documents and Python modules: the same keys
    for rel, data in mine.items():
        if rel.endswith((".yaml", ".py")):
            assert not RAW_CONTROL.search(data.decode("utf-8").replace("\n", "")), rel
        if rel.endswith(".md"):  # as a renderer shows it: no <script> element (in a code block it is text)
            assert "<script" not in MarkdownIt("commonmark").render(data.decode("utf-8")), rel
    lines = _shell_lines(mine, "touch PWNED")
    assert len(lines) >= 8, lines  # trl sft, kubectl (apply, cp), lm_eval, python merge.py, vllm, accept ...
    for line in lines:
        tokens = shlex.split(line, comments=True)
        assert any(SHELL in t for t in tokens), line  # the whole payload inside one word: quoted
    # one of them, run for real with a harmless program: the payload is an argument, never a command
    work = tmp_path / "run"
    work.mkdir()
    trl = next(x for x in _shell_lines({"sft": mine["training/sft.yaml"]}, "touch PWNED") if x.startswith("trl sft"))
    ran = subprocess.run(["sh", "-c", "printf '%s\\n' " + trl[len("trl sft") :]], cwd=work, capture_output=True)
    assert ran.returncode == 0 and SHELL.encode() in ran.stdout
    assert list(work.iterdir()) == []  # no PWNED, no PWNED2

    # 3. Free text and the eval data's stratum names, through the real commands.
    repo = _repo(git_repo)
    monkeypatch.chdir(repo)
    spec = repo / "distill.toml"
    text = spec.read_text("utf-8")
    for old in (
        '"Invoice field extraction"',
        '"Acme Payables Ltd."',
        '"Example Labs"',
        '"Eval set locked and signed off"',
    ):
        text = text.replace(old, _toml(PAYLOAD), 1)
    text = text.replace("saas = 0.94", f"{_toml(PAYLOAD)} = 0.94")
    spec.write_text(text, "utf-8")
    data = repo / "eval" / "locked.jsonl"
    rows = [json.loads(x) for x in data.read_text("utf-8").splitlines()]
    for r in rows:
        r["segment"] = PAYLOAD if r["segment"] == "saas" else r["segment"]
    data.write_text("".join(json.dumps(r) + "\n" for r in rows), "utf-8")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "hostile")
    preds = tmp_path / "preds.jsonl"
    preds.write_text("".join(json.dumps({"id": r["id"], "prediction": r["reference"]}) + "\n" for r in rows), "utf-8")
    samples = tmp_path / "samples.jsonl"
    samples.write_text(
        "".join(
            json.dumps({"id": i, "timestamp": f"2027-03-01T09:{i:02d}:00Z", "segment": seg, "student": 1, "teacher": 1})
            + "\n"
            for i, seg in enumerate([PAYLOAD, "freight"] * 20)
        ),
        "utf-8",
    )
    outputs: dict[str, str] = {}
    for args in [
        ("lock", "--reason", PAYLOAD),
        ("scaffold",),
        ("check",),
        ("plan",),
        ("plan", "--format", "json"),
        ("plan", "--format", "markdown"),
        ("accept", "--predictions", str(preds)),
        ("accept", "--predictions", str(preds), "--format", "markdown"),
        ("accept", "--predictions", str(preds), "--format", "json"),
        ("monitor", "--samples", str(samples)),
        ("monitor", "--samples", str(samples), "--format", "markdown"),
        ("monitor", "--samples", str(samples), "--format", "json"),
        ("compare",),
        ("compare", "--format", "markdown"),
        ("compare", "--format", "json"),
        ("diff", "HEAD~1"),
        ("diff", "HEAD~1", "--format", "markdown"),
        ("diff", "HEAD~1", "--format", "json"),
    ]:
        if args == ("check",):  # accept scores against the committed lock and contract: commit them first
            git(repo, "add", "-A")
            git(repo, "commit", "-q", "-m", "locked and scaffolded")
        code, out, err = run_cli(*args, capsys=capsys)
        assert code in (0, 4), (args, err)  # 4: accept's FAIL or monitor's breach, a finding, never a crash
        assert "internal error" not in err and "Traceback" not in err
        for stream in (out, err):
            assert not RAW_CONTROL.search(stream), (args, stream[:300])  # terminal: no ESC, no U+2028, no CR
        if "json" in args:
            json.loads(out)  # still valid JSON
        if "markdown" in args:
            assert not RAW_HTML.search(out), args
        outputs[" ".join(args)] = out
    assert "p\\u" in outputs["plan"] or "p\\r" in outputs["plan"]  # the title is there, shown escaped
    tree = {
        p.relative_to(repo / "distill").as_posix(): p.read_bytes() for p in (repo / "distill").rglob("*") if p.is_file()
    }
    assert _top_level(tree) == _top_level({k: v for k, v in strip.items() if k in tree})
    for rel, blob in tree.items():
        content = blob.decode("utf-8")
        if rel.endswith((".yaml", ".py")):
            assert not RAW_CONTROL.search(content.replace("\n", "")), rel
        if rel.endswith(".md"):
            assert not RAW_HTML.search(content) and "\x1b" not in content, rel
    assert not list(repo.rglob("PWNED*")) and not list(tmp_path.rglob("PWNED*"))


def posixpath_norm(root: str) -> str:
    import posixpath

    return posixpath.normpath(root)
