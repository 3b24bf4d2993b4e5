"""`distillplan validate`, `schema` and `init`: every problem located, every exit code right."""

from __future__ import annotations

import datetime as dt
import json
import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import jsonschema
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from distillplan.errors import SpecError
from distillplan.spec.load import load_spec, parse_spec
from tests.conftest import EXAMPLES, ROOT, git, run_cli

INVALID = ROOT / "tests" / "cases" / "invalid"
CASES = sorted(p.name for p in INVALID.iterdir() if p.is_dir())
LOCATED = re.compile(r"^[^:\n]+:\d+:\d+: \S.*$")
if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib


def test_corpus_is_large_enough() -> None:
    assert len(CASES) >= 30


@pytest.mark.parametrize("case", CASES)
def test_invalid_spec_gives_located_lines(
    case: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(INVALID)
    code, out, err = run_cli("validate", case, capsys=capsys)
    assert code == 1
    assert out == ""
    assert "Traceback" not in err
    lines = err.splitlines()
    assert lines, "an invalid spec must say why"
    for line in lines:
        assert LOCATED.match(line), line
        assert line.startswith(f"{case}/distill.toml:")
    assert err == (INVALID / case / "expected.txt").read_text()


@pytest.mark.parametrize("example", sorted(p.name for p in EXAMPLES.iterdir() if p.is_dir()))
def test_examples_validate(example: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run_cli("validate", str(EXAMPLES / example), capsys=capsys)
    assert (code, err) == (0, "")
    assert out.strip().endswith("distill.toml: ok")


def test_many_specs_in_one_run_report_all(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(INVALID)
    code, out, err = run_cli("validate", "bad-enum-gpu", str(EXAMPLES / "open-chat"), "nan-score", capsys=capsys)
    assert code == 1
    assert "open-chat/distill.toml: ok" in out
    assert err.count("\n") == 2 and "bad-enum-gpu/" in err and "nan-score/" in err


def test_missing_path(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    code, _, err = run_cli("validate", str(tmp_path / "nope.toml"), capsys=capsys)
    assert code == 1
    assert err == f"{tmp_path / 'nope.toml'}:1:1: no such file\n"


def test_default_spec_is_cwd(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(EXAMPLES / "ticket-triage")
    assert run_cli("validate", capsys=capsys)[:2] == (0, "distill.toml: ok\n")


def test_symlink_leading_outside_the_repo_is_refused(git_repo: Path, tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "data.jsonl").write_text("{}\n")
    (git_repo / "eval").symlink_to(outside)
    text = (EXAMPLES / "invoice-extraction" / "distill.toml").read_text()
    (git_repo / "distill.toml").write_text(text)
    with pytest.raises(SpecError) as e:
        load_spec(git_repo)
    assert len(e.value.problems) == 1
    p = e.value.problems[0]
    assert (p.key, p.line) == ("eval.datasets[0]", 28)
    assert "through a symlink" in p.message


def test_dotdot_inside_the_repo_is_fine(git_repo: Path) -> None:
    sub = git_repo / "team" / "spec"
    sub.mkdir(parents=True)
    text = (EXAMPLES / "invoice-extraction" / "distill.toml").read_text()
    (sub / "distill.toml").write_text(text.replace('"eval/locked.jsonl"', '"../../shared/eval.jsonl"'))
    assert load_spec(sub).spec.eval.datasets == ["../../shared/eval.jsonl"]


def test_local_model_folder(git_repo: Path) -> None:
    folder = git_repo / "models" / "mine"
    folder.mkdir(parents=True)
    (folder / "config.json").write_text((ROOT / "distillplan/data/architectures/llama-3.1-8b.json").read_text())
    text = (EXAMPLES / "invoice-extraction" / "distill.toml").read_text()
    (git_repo / "distill.toml").write_text(text.replace('"meta-llama/Llama-3.1-8B"', '"models/mine"'))
    assert load_spec(git_repo).spec.student.base_model == "models/mine"
    (folder / "config.json").unlink()
    with pytest.raises(SpecError, match=r"student\.base_model: not a catalog model"):
        load_spec(git_repo)


def test_all_problems_of_a_file_in_one_run() -> None:
    text = (INVALID / "many-problems" / "distill.toml").read_text()
    with pytest.raises(SpecError) as e:
        parse_spec(text, display="x.toml")
    assert [p.key for p in e.value.problems] == ["student.methd", "eval.teacher_score", "hardware.gpu"]


def _jsonable(v: object) -> object:
    if isinstance(v, dict):
        return {k: _jsonable(x) for k, x in v.items()}
    if isinstance(v, list):
        return [_jsonable(x) for x in v]
    if isinstance(v, dt.date):
        return v.isoformat()
    return v


def test_schema_accepts_examples_and_rejects_a_bad_enum(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run_cli("schema", capsys=capsys)
    assert code == 0
    schema = json.loads(out)
    jsonschema.Draft202012Validator.check_schema(schema)
    validator = jsonschema.Draft202012Validator(schema)
    for spec in EXAMPLES.glob("*/distill.toml"):
        data = _jsonable(tomllib.loads(spec.read_text()))
        assert not list(validator.iter_errors(data)), spec
    bad = _jsonable(tomllib.loads((INVALID / "bad-enum-gpu" / "distill.toml").read_text()))
    assert list(validator.iter_errors(bad))


def test_init_writes_a_valid_starter_and_refuses_to_overwrite(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    work = tmp_path / "My Support Bot"
    work.mkdir()
    monkeypatch.chdir(work)
    code, out, _ = run_cli("init", capsys=capsys)
    assert code == 0 and "wrote distill.toml" in out
    spec = load_spec(work).spec
    assert spec.project.name == "my-support-bot"
    (work / "distill.toml").write_text("# mine\n")
    code, _, err = run_cli("init", capsys=capsys)
    assert code == 1 and "already exists; pass --force" in err
    assert (work / "distill.toml").read_text() == "# mine\n"
    assert run_cli("init", "--force", capsys=capsys)[0] == 0
    assert load_spec(work).spec.project.name == "my-support-bot"


def test_usage_error_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run_cli("plan", "--format", "yaml", capsys=capsys)
    assert code == 2 and "Invalid value" in err


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    from distillplan import __version__

    code, out, _ = run_cli("--version", capsys=capsys)
    assert code == 0 and __version__ in out


def test_internal_error_exits_3_with_one_line(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    import distillplan.commands.validate

    def boom(arg: object) -> object:
        raise RuntimeError("kaboom")

    monkeypatch.setattr(distillplan.commands.validate, "load_spec", boom)
    code, _, err = run_cli("validate", str(EXAMPLES / "open-chat"), capsys=capsys)
    assert code == 3
    assert err.count("\n") == 1 and "internal error: RuntimeError: kaboom" in err
    code, _, err = run_cli("--verbose", "validate", str(EXAMPLES / "open-chat"), capsys=capsys)
    assert code == 3 and "Traceback" in err


def test_interrupt_exits_130(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    import distillplan.commands.validate

    def interrupted(arg: object) -> object:
        raise KeyboardInterrupt

    monkeypatch.setattr(distillplan.commands.validate, "load_spec", interrupted)
    assert run_cli("validate", capsys=capsys)[0] == 130


def test_validate_path_imports_no_heavy_modules(tmp_path: Path) -> None:
    code = (
        "import sys\n"
        "from distillplan.main import main\n"
        f"rc = main(['validate', {str(EXAMPLES / 'invoice-extraction')!r}])\n"
        "heavy = sorted(m for m in ('jinja2', 'git', 'transformers', 'torch', 'click') if m in sys.modules)\n"
        "print(rc, heavy)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.splitlines()[-1] == "0 []"


def test_check_hook_path_imports_no_heavy_modules(example_repo: Callable[[str], Path]) -> None:
    """`distillplan check` on a locked, scaffolded, committed repo: the whole hook path
    (validate + eval lock + generated files) without jinja2, GitPython, transformers or click."""
    repo = example_repo("invoice-extraction")
    from distillplan.commands.scaffold import scaffold

    scaffold(repo / "distill.toml")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "scaffold")
    code = (
        "import sys\n"
        "from distillplan.main import main\n"
        "rc = main(['check'])\n"
        "heavy = sorted(m for m in ('jinja2', 'git', 'transformers', 'torch', 'click') if m in sys.modules)\n"
        "print(rc, heavy)\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], cwd=repo, capture_output=True, text=True, check=True)
    assert proc.stdout.splitlines()[-1] == "0 []", proc.stdout + proc.stderr


def test_console_script_and_module_entry_points(tmp_path: Path) -> None:
    spec = str(EXAMPLES / "open-chat")
    for cmd in (["distillplan", "validate", spec], [sys.executable, "-m", "distillplan", "validate", spec]):
        r = subprocess.run(cmd, capture_output=True, text=True)
        assert r.returncode == 0, r.stderr
        assert r.stdout.endswith("distill.toml: ok\n")
    bad = str(INVALID / "nan-score")
    r = subprocess.run(["distillplan", "validate", bad], capture_output=True, text=True)
    assert r.returncode == 1 and r.stderr.count("\n") == 1 and "Traceback" not in r.stderr


_BASE = (EXAMPLES / "invoice-extraction" / "distill.toml").read_text()


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.text(max_size=400))
def test_no_text_crashes_the_loader(text: str) -> None:
    try:
        parse_spec(text, display="fuzz.toml")
    except SpecError as e:
        assert all(LOCATED.match(str(p)) for p in e.problems)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.integers(0, len(_BASE) - 1), st.integers(0, 40), st.text(max_size=12))
def test_no_mutation_of_a_valid_spec_crashes_the_loader(at: int, cut: int, insert: str) -> None:
    text = _BASE[:at] + insert + _BASE[at + cut :]
    try:
        parse_spec(text, display="fuzz.toml")
    except SpecError as e:
        for p in e.problems:
            assert LOCATED.match(str(p)), str(p)
            assert 1 <= p.line <= text.count("\n") + 2


@pytest.mark.parametrize(
    ("key", "gap"), [("max_gap_points", "5e-324"), ("max_stratum_gap_points", "1e-308"), ("max_gap_points", "0.01")]
)
def test_a_gap_no_eval_set_can_resolve_is_refused_at_its_line(
    key: str, gap: str, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A contracted gap needing more than MAX_EXAMPLES examples (or an infinite number: 1e-308 points)
    is one located line at validate and plan, exit 1, naming the narrowest gap allowed."""
    from distillplan.spec.evalsize import narrowest_gap_points

    text = (EXAMPLES / "invoice-extraction/distill.toml").read_text("utf-8")
    assert re.search(rf"^{key} = ", text, re.M)
    text = re.sub(rf"^{key} = .*$", f"{key} = {gap}", text, flags=re.M)
    (tmp_path / "distill.toml").write_text(text, "utf-8")
    line = next(i for i, x in enumerate(text.splitlines(), 1) if x.startswith(f"{key} = "))
    monkeypatch.chdir(tmp_path)
    teacher = float(re.search(r"^teacher_score = (.*)$", text, re.M).group(1))  # type: ignore[union-attr]
    for command in ("validate", "plan"):
        code, _, err = run_cli(command, "distill.toml", capsys=capsys)
        assert code == 1, err
        [message] = err.strip().splitlines()
        assert message.startswith(f"distill.toml:{line}:") and f"eval.{key}: a gap of" in message, message
        assert message.endswith(f"use at least {narrowest_gap_points(teacher):g} points"), message


def test_the_narrowest_allowed_gap_is_sized_exactly_and_a_narrower_one_is_refused() -> None:
    """The exact search at the narrowest gap validate allows stays bounded (the size is within the
    approximation's limit plus the exact test's margin); a gap below it is refused by the search too."""
    from distillplan.evalset.samplesize import required_examples
    from distillplan.spec.evalsize import MAX_EXAMPLES, narrowest_gap_points, normal_examples

    for teacher in (0.5, 0.93, 0.999):
        gap = narrowest_gap_points(teacher)
        assert normal_examples(teacher, gap / 100) <= MAX_EXAMPLES < normal_examples(teacher, (gap - 0.01) / 100)
        with pytest.raises(ValueError):
            required_examples(teacher_score=teacher, gap_points=gap - 0.01)
    gap = narrowest_gap_points(0.5)
    assert (
        normal_examples(0.5, gap / 100) <= required_examples(teacher_score=0.5, gap_points=gap) <= MAX_EXAMPLES * 1.05
    )


def test_the_hook_paths_normal_quantiles_are_the_exact_ones() -> None:
    """spec/evalsize.py keeps the two quantiles validate needs as literals (the hook path does not
    import statistics): they are NormalDist's own, bit for bit."""
    from statistics import NormalDist

    from distillplan.spec.evalsize import _QUANTILES

    assert {p: NormalDist().inv_cdf(p) for p in (1 - (1 - 0.95) / 2, 0.8)} == _QUANTILES
