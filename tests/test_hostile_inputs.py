"""Bad input never hangs, never eats memory and never exits 3 (issue 26).

Every reader of a user's file (the spec, the lock, predictions, monitor samples, batch results)
meets what a hostile or careless party hands it: a device that never ends (``/dev/zero``), a named
pipe nobody writes to, values of every wrong JSON type, timestamps outside any calendar, numbers
near the float limit, ``true`` for an integer, a lock naming files outside the generated tree. Each
is one located line and exit 1. Real repositories, the real CLI, real FIFOs; the cases that could
hang run in a subprocess with a timeout so a regression fails instead of stalling the suite.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import EXAMPLES, GIT_ENV, git, run_cli

Cap = pytest.CaptureFixture[str]
HAS_FIFO = hasattr(os, "mkfifo")


def _one_line(code: int, err: str) -> str:
    assert "Traceback" not in err and "internal error" not in err, err
    assert code == 1, err
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    return lines[0]


@pytest.fixture
def repo(git_repo: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The invoice example with its lock, training inputs, and anthropic batch request files."""
    shutil.copytree(EXAMPLES / "invoice-extraction", git_repo, dirs_exist_ok=True)
    (git_repo / "data").mkdir()
    (git_repo / "data/inputs.jsonl").write_text(
        "".join(json.dumps({"input": f"Invoice #{9000 + i} from Vendor {i}"}) + "\n" for i in range(3)), "utf-8"
    )
    spec = git_repo / "distill.toml"
    spec.write_text(spec.read_text("utf-8") + '\n[teacher_data]\ninputs = ["data/inputs.jsonl"]\n', "utf-8")
    git(git_repo, "add", "-A")
    git(git_repo, "commit", "-q", "-m", "example")
    monkeypatch.chdir(git_repo)
    return git_repo


def _request_id(repo: Path, capsys: Cap) -> str:
    code, _, err = run_cli("teacher-data", "requests", capsys=capsys)
    assert code == 0, err
    first = (repo / "distill/training/batch/anthropic-requests-001.jsonl").read_text("utf-8").splitlines()[0]
    return str(json.loads(first)["custom_id"])


# ---------------------------------------------------------------- devices and pipes: refused at once


def _cli(repo: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, **GIT_ENV, "LITELLM_LOCAL_MODEL_COST_MAP": "True"}
    return subprocess.run(
        [sys.executable, "-m", "distillplan", *args], cwd=repo, env=env, capture_output=True, text=True, timeout=120
    )


@pytest.mark.skipif(not HAS_FIFO or not Path("/dev/zero").exists(), reason="needs POSIX named pipes and /dev/zero")
def test_devices_and_pipes_are_refused_not_read(repo: Path, tmp_path: Path, capsys: Cap) -> None:
    """``/dev/zero`` and a FIFO nobody writes to, as every input file: one line, exit 1, at once."""
    _request_id(repo, capsys)
    fifo = tmp_path / "pipe.jsonl"
    os.mkfifo(fifo)
    for bad in ("/dev/zero", str(fifo)):
        for args in (
            ("accept", "--predictions", bad),
            ("monitor", "--samples", bad),
            ("teacher-data", "collect", bad),
        ):
            ran = _cli(repo, *args)  # a hang would be a TimeoutExpired, a read of /dev/zero a MemoryError
            line = _one_line(ran.returncode, ran.stderr)
            assert line.startswith(bad) and "not a regular file" in line, (args, line)
    # the lock itself, and a generated file, as a device or a pipe
    lock = repo / "distill.lock"
    saved = lock.read_bytes()
    for bad in ("/dev/zero", str(fifo)):
        lock.unlink()
        lock.symlink_to(bad)
        ran = _cli(repo, "check")
        assert "not a regular file" in _one_line(ran.returncode, ran.stderr)
    lock.unlink()
    lock.write_bytes(saved)
    assert run_cli("scaffold", capsys=capsys)[0] == 0
    target = repo / "distill/docs/contract.md"
    target.unlink()
    os.mkfifo(target)
    ran = _cli(repo, "check")
    assert ran.returncode == 1 and "Traceback" not in ran.stderr and "contract.md" in ran.stderr, ran.stderr


# ---------------------------------------------------------------- the lock's [generated] paths


@pytest.mark.parametrize(
    ("path", "message"),
    [
        ("/dev/zero", "generated.files[0].path: is not a relative path"),
        ("/etc/shadow", "generated.files[0].path: is not a relative path"),
        ("../../etc/shadow", 'generated.files: "../../etc/shadow" is not under [scaffold].root "distill"'),
        ("distill/../../etc/shadow", "generated.files[0].path: is not a normalised path"),
        ("distill/./eval/eval.yaml", "generated.files[0].path: is not a normalised path"),
        ("distill.toml", 'generated.files: "distill.toml" is not under [scaffold].root "distill"'),
        ("distill/.git/config", "generated.files[0].path: leads into .git"),
        ("distill/x\u2028y", "generated.files[0].path: uses characters no generated path has"),
    ],
)
@pytest.mark.parametrize("command", ["check", "scaffold"])
def test_generated_paths_stay_in_the_tree(repo: Path, capsys: Cap, path: str, message: str, command: str) -> None:
    """A ``[generated]`` path outside ``[scaffold].root`` (or not a plain relative path) is refused,
    naming the lock, the key and the value: ``/dev/zero`` is never read, ``/etc/shadow`` never hashed."""
    from distillplan.text import toml_str

    assert run_cli("scaffold", capsys=capsys)[0] == 0
    lock = repo / "distill.lock"
    text = lock.read_text("utf-8")
    first = text.index('{ path = "distill/')
    end = text.index('"', first + len('{ path = "'))
    lock.write_text(text[:first] + "{ path = " + toml_str(path) + text[end + 1 :], "utf-8")
    code, _, err = run_cli(command, capsys=capsys)
    line = _one_line(code, err)
    assert line.startswith("distill.lock: ") and message in line, line


@pytest.mark.parametrize("key", ["pending", "kept_sha256"])
def test_pending_and_kept_paths_are_confined_too(repo: Path, capsys: Cap, key: str) -> None:
    assert run_cli("scaffold", capsys=capsys)[0] == 0
    lock = repo / "distill.lock"
    sha = "0" * 64
    if key == "pending":
        extra = f'pending = [\n  {{ path = "../../etc/shadow", sha256 = "{sha}" }},\n]\n'
        lock.write_text(lock.read_text("utf-8") + extra, "utf-8")
        want = 'generated.pending: "../../etc/shadow" is not under'
    else:
        text = lock.read_text("utf-8")
        first = text.index('{ path = "distill/')
        end = text.index('"', first + len('{ path = "'))
        row_end = text.index(" },", first)
        row = '{ path = "../x", ' + text[end + 2 : row_end] + f', kept_sha256 = "{sha}"'
        lock.write_text(text[:first] + row + text[row_end:], "utf-8")
        want = 'generated.files: "../x" is not under'
    # scaffold reads the manifest before anything else; check stops at the journal first (nothing read)
    code, _, err = run_cli("scaffold" if key == "pending" else "check", capsys=capsys)
    assert want in _one_line(code, err)


def test_a_new_root_leaves_the_old_tree_obsolete(repo: Path, capsys: Cap) -> None:
    """Paths outside the root are refused only when the manifest was written from the same inputs:
    after ``[scaffold].root`` changes, the old tree's paths are reported obsolete (never read)."""
    assert run_cli("scaffold", capsys=capsys)[0] == 0
    spec = repo / "distill.toml"
    spec.write_text(spec.read_text("utf-8") + '\n[scaffold]\nroot = "gen"\n', "utf-8")
    code, _, err = run_cli("check", capsys=capsys)
    assert code == 1 and "gen/" in err and "not under" not in err, err
    code, out, err = run_cli("scaffold", capsys=capsys)
    assert code == 0 and "obsolete  distill/serving/vllm.yaml" in out, err
    assert run_cli("check", capsys=capsys)[0] == 0


@pytest.mark.parametrize(
    ("pattern", "key"),
    [
        (r'hash = "sha256:[0-9a-f]{64}"', "eval.hash"),
        (r'locked_at_commit = "[0-9a-f]{40}"', "eval.locked_at_commit"),
        (r'git_blob = "[0-9a-f]{40}"', "eval.files[0].git_blob"),
        (r'metric = "field-f1"', "eval.baseline.metric"),
        (r'strata_field = "segment"', "eval.baseline.strata_field"),
    ],
)
def test_lock_strings_have_their_form(repo: Path, capsys: Cap, pattern: str, key: str) -> None:
    """A hash, an object id or a name edited into HTML, a shell line or an escape sequence is refused
    when the lock is read: the lock's values reach the contract, the reports and the terminal."""
    import re

    from distillplan.text import md_text, toml_str

    lock = repo / "distill.lock"
    text = lock.read_text("utf-8")
    name = pattern.split(" = ")[0]
    hostile = "</details><script>x</script>$(touch PWNED)\x1b[2J"
    edited = re.sub(pattern, lambda _: f"{name} = {toml_str(hostile)}", text, count=1)
    assert edited != text
    lock.write_text(edited, "utf-8")
    code, _, err = run_cli("check", capsys=capsys)
    line = _one_line(code, err)
    assert line.startswith(f"distill.lock: {key}: expected "), line
    code, out, _ = run_cli("plan", "--format", "markdown", capsys=capsys)  # the plan reports the lock as unusable
    assert code == 0 and f"{md_text(key)}: expected" in out and not re.search(r"(?<!\\)<script", out)


# ---------------------------------------------------------------- teacher-data collect: every malformed line kind

_BAD_RESULTS: list[tuple[str, Any, str]] = [
    ("array row", [], "expected a JSON object, got an array"),
    ("string row", "x", "expected a JSON object, got a string"),
    ("number row", 5, "expected a JSON object, got a number"),
    ("no custom_id", {}, "custom_id: missing"),
    ("custom_id number", {"custom_id": 5}, "custom_id: missing"),
    ("result string", {"result": "x"}, "result: expected an object, got a string"),
    ("result type number", {"result": {"type": 5}}, "result.type: expected a string, got a number"),
    ("message array", {"result": {"type": "succeeded", "message": []}}, "result.message: expected an object"),
    (
        "content string",
        {"result": {"type": "succeeded", "message": {"content": "x"}}},
        "result.message.content: expected an array, got a string",
    ),
    (
        "content item number",
        {"result": {"type": "succeeded", "message": {"content": [5]}}},
        "result.message.content[0]: expected an object, got a number",
    ),
    (
        "text number",
        {"result": {"type": "succeeded", "message": {"content": [{"type": "text", "text": 5}]}}},
        "result.message.content[0].text: expected a string, got a number",
    ),
    ("error string", {"result": {"type": "errored", "error": "x"}}, "result.error: expected an object"),
    ("inner error string", {"result": {"type": "errored", "error": {"error": "x"}}}, "result.error.error: expected"),
    (
        "error message object",
        {"result": {"type": "errored", "error": {"error": {"message": {}}}}},
        "result.error.error.message: expected a string, got an object",
    ),
    ("openai error string", {"error": "boom"}, "error: expected an object, got a string"),
    ("response array", {"response": []}, "response: expected an object, got an array"),
    ("body array", {"response": {"status_code": 200, "body": []}}, "response.body: expected an object"),
    (
        "choices object",
        {"response": {"status_code": 200, "body": {"choices": {}}}},
        "response.body.choices: expected an array",
    ),
    (
        "choice number",
        {"response": {"status_code": 200, "body": {"choices": [5]}}},
        "response.body.choices[0]: expected an object",
    ),
    (
        "message string",
        {"response": {"status_code": 200, "body": {"choices": [{"message": "x"}]}}},
        "response.body.choices[0].message: expected an object",
    ),
    (
        "content number",
        {"response": {"status_code": 200, "body": {"choices": [{"message": {"content": 5}}]}}},
        "response.body.choices[0].message.content: expected a string",
    ),
]


@pytest.mark.parametrize(("kind", "row", "message"), _BAD_RESULTS, ids=[k for k, _, _ in _BAD_RESULTS])
def test_collect_malformed_result_line(
    repo: Path, tmp_path: Path, capsys: Cap, kind: str, row: Any, message: str
) -> None:
    cid = _request_id(repo, capsys)
    if isinstance(row, dict) and kind not in ("no custom_id", "custom_id number"):
        row = {"custom_id": cid, **row}
    results = tmp_path / "results.jsonl"
    results.write_text(json.dumps(row) + "\n", "utf-8")
    code, _, err = run_cli("teacher-data", "collect", str(results), capsys=capsys)
    line = _one_line(code, err)
    assert line.startswith(f"{results}:1:") and message in line, line


def test_collect_edited_request_file(repo: Path, tmp_path: Path, capsys: Cap) -> None:
    _request_id(repo, capsys)
    requests = repo / "distill/training/batch/anthropic-requests-001.jsonl"
    requests.write_text('{"custom_id": "r1", "params": {"messages": 5}}\n', "utf-8")
    results = tmp_path / "results.jsonl"
    results.write_text('{"custom_id": "r1", "result": {"type": "succeeded"}}\n', "utf-8")
    code, _, err = run_cli("teacher-data", "collect", str(results), capsys=capsys)
    assert "not a batch request line as distillplan writes them" in _one_line(code, err)


# ---------------------------------------------------------------- monitor timestamps outside the calendar


@pytest.mark.parametrize(
    ("stamp", "message"),
    [
        ("0001-01-01T00:00:00+01:00", "is out of range"),
        ("9999-12-31T23:59:59-23:59", "is out of range"),
        ("99999-01-01T00:00:00Z", "not an ISO 8601 time"),
        (1e20, "not an ISO 8601 time: a number"),
        (-1e20, "not an ISO 8601 time: a number"),
        (10**30, "not an ISO 8601 time: a number"),
    ],
)
def test_extreme_monitor_timestamp(repo: Path, capsys: Cap, stamp: Any, message: str) -> None:
    row = {"id": 1, "timestamp": stamp, "segment": "saas", "student": 1, "teacher": 1}
    (repo / "s.jsonl").write_text(json.dumps(row) + "\n", "utf-8")
    code, _, err = run_cli("monitor", "--samples", "s.jsonl", capsys=capsys)
    line = _one_line(code, err)
    assert line.startswith("s.jsonl:1:1: timestamp: ") and message in line, line


# ---------------------------------------------------------------- policy numbers


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ("[policy]\nobservability_usd_per_month = 1e308", "policy.observability_usd_per_month: must be at most 1e+15"),
        (
            "[policy]\nredistillation_usd_per_year = [1e308, 1e308]",
            "policy.redistillation_usd_per_year: must be at most",
        ),
        ("[policy.sizing]\nadapter_flops_factor = 1e308", "policy.sizing.adapter_flops_factor: must be at most"),
        ("[policy.project_bands_usd]\neval_set = [1.0, 1e300]", "policy.project_bands_usd.eval_set: must be at most"),
        ("[policy.sizing]\nmax_num_seqs = true", "policy.sizing.max_num_seqs: must be an integer (got true)"),
        ("[policy.sizing]\nserving_cpus = 8.0", "policy.sizing.serving_cpus: must be an integer"),
        ("[policy.sizing]\ngradient_checkpointing = 1", "policy.sizing.gradient_checkpointing: must be true or false"),
        ("[policy.sizing]\nwarmup_share = true", "policy.sizing.warmup_share: must be a number (got true)"),
        ("[policy.sizing]\nlearning_rate_full = [true, 1e-5]", "policy.sizing.learning_rate_full[0]: must be a number"),
        ("[policy]\nprice_staleness_months = true", "policy.price_staleness_months: must be an integer (got true)"),
        ("[policy]\ngap_defensible_points = [false, 3.0]", "policy.gap_defensible_points[0]: must be a number"),
        ("[policy.sizing]\nactivation_reserve_gib = inf", "policy.sizing.activation_reserve_gib: must be a finite"),
    ],
)
def test_policy_values_are_strict_and_bounded(repo: Path, capsys: Cap, extra: str, message: str) -> None:
    spec = repo / "distill.toml"
    spec.write_text(spec.read_text("utf-8") + "\n" + extra + "\n", "utf-8")
    for command in ("validate", "plan"):
        code, _, err = run_cli(command, capsys=capsys)
        line = _one_line(code, err)
        assert line.startswith("distill.toml:") and message in line, line


def test_every_integer_field_refuses_true() -> None:
    """Strict integers everywhere: no int field of the spec or the policy takes a boolean."""
    from pydantic import BaseModel

    from distillplan.spec.models import Spec

    seen: list[str] = []

    def walk(model: type[BaseModel], where: str) -> None:
        for name, f in model.model_fields.items():
            ann = f.annotation
            args = [ann, *getattr(ann, "__args__", ())]
            for a in args:
                if isinstance(a, type) and issubclass(a, BaseModel):
                    walk(a, f"{where}{name}.")
            if int in args or ann is int:
                seen.append(f"{where}{name}")
                with pytest.raises(Exception, match="integer"):
                    model.model_validate({name: True})

    walk(Spec, "")
    assert "policy.sizing.max_num_seqs" in seen and "finance.horizon_months" in seen and len(seen) > 20


# ---------------------------------------------------------------- exit 3 is unreachable from any reader

_JSON = st.recursive(
    st.one_of(
        st.none(),
        st.booleans(),
        st.integers(min_value=-(10**30), max_value=10**30),
        st.floats(allow_nan=False, allow_infinity=False),
        st.text(max_size=6),
        st.sampled_from(["2027-03-01T00:00:00Z", "0001-01-01T00:00:00+05:00", "inv-0000", "succeeded", "text"]),
    ),
    lambda inner: st.one_of(st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=4), inner, max_size=3)),
    max_leaves=8,
)
_KEYS = [
    "id", "prediction", "timestamp", "segment", "student", "teacher", "reference", "custom_id", "result", "type",
    "message", "content", "text", "error", "response", "status_code", "body", "choices", "doc", "doc_id",
    "filtered_resps",
]  # fmt: skip
_ROW = st.one_of(_JSON, st.dictionaries(st.sampled_from(_KEYS), _JSON, max_size=6))


@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
@given(rows=st.lists(_ROW, min_size=1, max_size=4), reader=st.sampled_from(["accept", "monitor", "collect"]))
def test_no_jsonl_line_reaches_exit_3(
    repo_for_fuzz: tuple[Path, str], capsys: Cap, rows: list[Any], reader: str
) -> None:
    """Any JSON values, in every reader of JSONL: exit 0 or 1 (4 is a finding, not reachable here)."""
    repo, cid = repo_for_fuzz
    lines = [
        json.dumps({**r, "custom_id": cid} if reader == "collect" and isinstance(r, dict) and r else r) for r in rows
    ]
    path = repo / "fuzz.jsonl"
    path.write_text("\n".join(lines) + "\n", "utf-8")
    args = {
        "accept": ("accept", "--predictions", "fuzz.jsonl"),
        "monitor": ("monitor", "--samples", "fuzz.jsonl"),
        "collect": ("teacher-data", "collect", "fuzz.jsonl"),
    }[reader]
    code, _, err = run_cli(*args, capsys=capsys)
    assert code in (0, 1, 4), err
    assert "internal error" not in err and "Traceback" not in err, err


_TOML_VALUES = [
    "true",
    "-1",
    "0",
    "1e308",
    "-1e308",
    "1e-308",
    '"x"',
    "[]",
    "[true, 1]",
    "{}",
    "2027-01-01",
    "nan",
    "inf",
]


@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
@given(data=st.data())
def test_no_spec_or_lock_value_reaches_exit_3(
    repo_for_fuzz: tuple[Path, str], capsys: Cap, data: st.DataObject
) -> None:
    """Any one value of ``distill.toml`` or ``distill.lock`` replaced by a hostile TOML value:
    ``validate``, ``check`` and ``plan`` exit 0 or 1, never 3."""
    repo, _ = repo_for_fuzz
    name = data.draw(st.sampled_from(["distill.toml", "distill.lock"]))
    path = repo / name
    original = path.read_text("utf-8")
    lines = original.splitlines()
    candidates = [i for i, x in enumerate(lines) if " = " in x and not x.lstrip().startswith("#")]
    i = data.draw(st.sampled_from(candidates))
    key = lines[i].split(" = ", 1)[0]
    value = data.draw(st.sampled_from(_TOML_VALUES))
    lines[i] = f"{key} = {value}"
    try:
        path.write_text("\n".join(lines) + "\n", "utf-8")
        for command in ("validate", "check", "plan"):
            code, _, err = run_cli(command, capsys=capsys)
            assert code in (0, 1), (name, lines[i], command, err)
            assert "internal error" not in err and "Traceback" not in err, err
    finally:
        path.write_text(original, "utf-8")


@pytest.fixture(scope="module")
def repo_for_fuzz(tmp_path_factory: pytest.TempPathFactory) -> Any:
    """One scaffolded repository for the hypothesis tests (a function-scoped fixture would be shared
    between examples anyway); the working directory is restored after."""
    root = tmp_path_factory.mktemp("fuzz") / "repo"
    shutil.copytree(EXAMPLES / "invoice-extraction", root)
    (root / "data").mkdir()
    (root / "data/inputs.jsonl").write_text(json.dumps({"input": "Invoice #9000"}) + "\n", "utf-8")
    spec = root / "distill.toml"
    spec.write_text(spec.read_text("utf-8") + '\n[teacher_data]\ninputs = ["data/inputs.jsonl"]\n', "utf-8")
    git(root, "init", "-q", "-b", "main")
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "example")
    old = Path.cwd()
    os.chdir(root)
    try:
        from distillplan.main import main

        assert main(["scaffold"]) == 0
        assert main(["teacher-data", "requests"]) == 0
        git(root, "add", "-A")
        git(root, "commit", "-q", "-m", "scaffold")
        first = (root / "distill/training/batch/anthropic-requests-001.jsonl").read_text("utf-8").splitlines()[0]
        yield root, str(json.loads(first)["custom_id"])
    finally:
        os.chdir(old)
