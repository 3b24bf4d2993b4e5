"""``distillplan scaffold``: statuses, user edits, force, pretend, diff, check, containment."""

from __future__ import annotations

import dataclasses
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import tomllib

from distillplan.commands.scaffold import check_fresh, check_paths, scaffold
from distillplan.commands.scaffold import scaffold_text as run_scaffold_cli
from distillplan.errors import DistillError, ScaffoldError
from distillplan.evalset.lockfile import read_lock

from .conftest import EXAMPLES, git, run_cli

Cap = pytest.CaptureFixture[str]

PROPOSAL = "distill/docs/proposal.md"
SFT = "distill/training/sft.yaml"


@pytest.fixture
def repo(git_repo: Path) -> Path:
    """invoice-extraction with its eval lock (verdict distill) and no generated tree, committed
    in a real repo."""
    shutil.copytree(
        EXAMPLES / "invoice-extraction",
        git_repo,
        dirs_exist_ok=True,
        ignore=shutil.ignore_patterns("distill"),
    )
    git(git_repo, "add", "-A")
    git(git_repo, "commit", "-q", "-m", "example")
    return git_repo


def _snapshot(folder: Path) -> dict[str, bytes]:
    return {
        p.relative_to(folder).as_posix(): p.read_bytes()
        for p in folder.rglob("*")
        if p.is_file() and ".git" not in p.relative_to(folder).parts
    }


def _statuses(spec: Path, **kw: object) -> dict[str, str]:
    result = scaffold(spec, **kw)  # type: ignore[arg-type]
    return {f.path: f.status for f in result.files}


def test_first_run_creates_then_second_is_unchanged(repo: Path) -> None:
    first = _statuses(repo / "distill.toml")
    assert set(first.values()) == {"create"} and len(first) == 13  # 12 + docs/operations.md (the weekly monitor job)
    before = _snapshot(repo)
    second = _statuses(repo / "distill.toml")
    assert set(second.values()) == {"unchanged"}
    assert _snapshot(repo) == before  # bytes identical, lock included
    lock = read_lock(repo)
    assert lock is not None and lock.generated is not None
    assert sorted(str(repo / rel) for rel in lock.generated.files) == sorted(first)
    assert lock.generated.inputs_sha256.startswith("inputs-v1:")


def test_user_edit_is_kept_and_reported(repo: Path) -> None:
    scaffold(repo / "distill.toml")
    edited = (repo / PROPOSAL).read_bytes() + b"\nOur own note.\n"
    (repo / PROPOSAL).write_bytes(edited)
    code, text = run_scaffold_cli(repo / "distill.toml")
    assert code == 0
    assert f"user-modified, kept  {repo / PROPOSAL}" in text or "user-modified, kept  " + str(repo / PROPOSAL) in text
    assert "--force overwrites it" in text
    assert (repo / PROPOSAL).read_bytes() == edited
    # Still the person's on the next run, even though the spec did not change.
    assert _statuses(repo / "distill.toml")[str(repo / PROPOSAL)] == "user-modified, kept"


def test_untouched_files_update_when_the_spec_changes(repo: Path) -> None:
    scaffold(repo / "distill.toml")
    (repo / PROPOSAL).write_text("mine\n")
    spec = repo / "distill.toml"
    spec.write_text(spec.read_text().replace("epochs", "epochs").replace('method = "qlora"', 'method = "lora"'))
    st = _statuses(spec)
    assert st[str(repo / SFT)] == "update"
    assert st[str(repo / PROPOSAL)] == "user-modified, kept"
    assert "load_in_4bit" not in (repo / SFT).read_text()
    assert (repo / PROPOSAL).read_text() == "mine\n"


def test_force_overwrites(repo: Path) -> None:
    scaffold(repo / "distill.toml")
    original = (repo / PROPOSAL).read_bytes()
    (repo / PROPOSAL).write_text("mine\n")
    st = _statuses(repo / "distill.toml", force=True)
    assert st[str(repo / PROPOSAL)] == "user-modified, overwritten"
    assert (repo / PROPOSAL).read_bytes() == original
    assert set(_statuses(repo / "distill.toml").values()) == {"unchanged"}


def test_existing_file_never_generated_is_user_modified(repo: Path) -> None:
    (repo / "distill/eval").mkdir(parents=True)
    (repo / "distill/eval/eval.yaml").write_text("my: own\n")
    st = _statuses(repo / "distill.toml")
    assert st[str(repo / "distill/eval/eval.yaml")] == "user-modified, kept"
    assert (repo / "distill/eval/eval.yaml").read_text() == "my: own\n"


def test_pretend_writes_nothing(repo: Path) -> None:
    before = _snapshot(repo)
    code, text = run_scaffold_cli(repo / "distill.toml", pretend=True)
    assert code == 0 and f"create  {repo / SFT}" in text and "(nothing written)" in text
    assert _snapshot(repo) == before


def test_diff_shows_unified_diff_and_writes_nothing(repo: Path) -> None:
    scaffold(repo / "distill.toml")
    spec = repo / "distill.toml"
    spec.write_text(spec.read_text().replace('method = "qlora"', 'method = "lora"'))
    before = _snapshot(repo)
    code, text = run_scaffold_cli(spec, diff=True)
    assert code == 0
    assert f"--- a/{repo / 'distill/training/sft.yaml'}" in text
    assert "-load_in_4bit: true\n" in text
    assert "@@ " in text
    assert _snapshot(repo) == before


def test_check_fails_after_a_spec_change_and_passes_after_scaffold(repo: Path) -> None:
    spec = repo / "distill.toml"
    assert run_scaffold_cli(spec, check=True)[0] == 1  # nothing generated yet: missing
    scaffold(spec)
    assert run_scaffold_cli(spec, check=True) == (0, "generated files are up to date\n")
    assert check_fresh(spec) == []
    # (not teacher_score: once locked, every output states the lock's baseline, issue 23)
    spec.write_text(spec.read_text().replace("output_tokens_per_request = 250", "output_tokens_per_request = 300"))
    before = _snapshot(repo)
    code, text = run_scaffold_cli(spec, check=True)
    assert code == 1 and "distill/eval/eval.yaml: stale" in text
    problems = check_fresh(spec)
    assert any("eval.yaml: stale" in p for p in problems)
    assert _snapshot(repo) == before
    scaffold(spec)
    assert check_fresh(spec) == []


def test_check_reports_edited_and_missing_files(repo: Path) -> None:
    spec = repo / "distill.toml"
    scaffold(spec)
    (repo / PROPOSAL).write_text("mine\n")
    (repo / SFT).unlink()
    problems = check_fresh(spec)
    assert any(p.startswith(str(repo / PROPOSAL)) and "user-modified" in p for p in problems)
    assert any(p.startswith(str(repo / SFT)) and "missing" in p for p in problems)
    assert run_scaffold_cli(spec, check=True)[0] == 1


def test_comment_only_spec_change_is_still_fresh(repo: Path) -> None:
    spec = repo / "distill.toml"
    scaffold(spec)
    spec.write_text(spec.read_text() + "\n# a comment\n")
    assert check_fresh(spec) == []  # re-rendered: same bytes


def test_check_fresh_does_not_import_jinja2(repo: Path) -> None:
    scaffold(repo / "distill.toml")
    code = (
        "import sys; from distillplan.commands.scaffold import check_fresh; "
        f"p = check_fresh({str(repo / 'distill.toml')!r}); "
        "assert p == [], p; "
        "bad = [m for m in ('jinja2', 'git', 'transformers') if m in sys.modules]; "
        "assert not bad, bad"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_skip_and_obsolete(repo: Path) -> None:
    spec = repo / "distill.toml"
    scaffold(spec)
    spec.write_text(spec.read_text() + '\n[scaffold]\nskip = ["docs/contract.md"]\n')
    st = _statuses(spec)
    assert st[str(repo / "distill/docs/contract.md")] == "obsolete"
    lock = read_lock(repo)
    assert lock is not None and lock.generated is not None
    assert "distill/docs/contract.md" not in lock.generated.files
    assert (repo / "distill/docs/contract.md").exists()  # left in place


def test_custom_root(repo: Path) -> None:
    spec = repo / "distill.toml"
    spec.write_text(spec.read_text() + '\n[scaffold]\nroot = "gen/plan"\n')
    scaffold(spec)
    assert (repo / "gen/plan/serving/vllm.yaml").is_file()
    assert "gen/plan/training/data" in (repo / "gen/plan/training/sft.yaml").read_text()


# ---------------------------------------------------------------- containment


@pytest.mark.parametrize("extra", ['root = "../x"', 'skip = ["../../etc/passwd"]', 'root = "/tmp/x"'])
def test_path_escapes_are_refused_before_writing(repo: Path, extra: str) -> None:
    spec = repo / "distill.toml"
    spec.write_text(spec.read_text() + f"\n[scaffold]\n{extra}\n")
    before = _snapshot(repo.parent)
    with pytest.raises(DistillError):
        scaffold(spec)
    assert _snapshot(repo.parent) == before


def test_symlinked_root_outside_is_refused(repo: Path, tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (repo / "distill").symlink_to(outside, target_is_directory=True)
    before = (repo / "distill.lock").read_bytes()
    with pytest.raises(DistillError, match="outside the repository"):
        scaffold(repo / "distill.toml")
    assert list(outside.iterdir()) == []
    assert (repo / "distill.lock").read_bytes() == before  # no manifest recorded


def test_check_paths_refuses_escapes_and_symlinks(repo: Path, tmp_path: Path) -> None:
    with pytest.raises(ScaffoldError, match="root"):
        check_paths(repo, "../x", [], [])
    with pytest.raises(ScaffoldError, match="skip"):
        check_paths(repo, "distill", ["a/../../b"], [])
    (repo / "gen").mkdir()
    (repo / "gen/vllm.yaml").symlink_to(repo / "distill.toml")
    with pytest.raises(ScaffoldError, match="symlink"):
        check_paths(repo, "gen", [], ["gen/vllm.yaml"])
    outside = tmp_path / "o"
    outside.mkdir()
    (repo / "out").symlink_to(outside)
    with pytest.raises(ScaffoldError, match="outside"):
        check_paths(repo, "out", [], ["out/a.yaml"])
    check_paths(repo, "distill", [], ["distill/a.yaml"])  # inside: fine


# ---------------------------------------------------------------- starter


def test_empty_folder_gets_the_starter_then_the_tree(git_repo: Path) -> None:
    folder = git_repo / "acme-tickets"
    folder.mkdir()
    before = _snapshot(git_repo)
    code, text = run_scaffold_cli(folder, pretend=True)
    assert code == 0 and "(starter spec)" in text and _snapshot(git_repo) == before
    code, text = run_scaffold_cli(folder)
    assert code == 0
    # the starter is not locked yet: a decision memo (lock the eval first), no proposal
    assert (folder / "distill.toml").is_file() and (folder / "distill/docs/decision-memo.md").is_file()
    assert "fill in" in text
    assert check_fresh(folder / "distill.toml") == []


def test_cli_scaffold(repo: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    from .conftest import run_cli

    monkeypatch.chdir(repo)
    code, out, _ = run_cli("scaffold", capsys=capsys)
    assert code == 0 and "create  distill/eval/eval.yaml" in out
    assert run_cli("scaffold", "--check", capsys=capsys)[0] == 0
    (repo / PROPOSAL).write_text("mine\n")
    code, out, err = run_cli("scaffold", "--check", capsys=capsys)
    assert code == 1 and "distill/docs/proposal.md: user-modified" in out + err


def test_locking_the_eval_makes_the_contract_stale_until_rescaffolded(repo: Path) -> None:
    """Unlocked, the verdict is lock-eval-first: a decision memo and no contract. Locking makes
    the tree stale (the contract is now due) until scaffold runs again."""
    from datetime import date

    from distillplan.evalset.fingerprint import content_hash, lock_eval
    from distillplan.evalset.lockfile import write_lock

    spec = repo / "distill.toml"
    locked = read_lock(repo)
    assert locked is not None and locked.eval is not None
    (repo / "distill.lock").unlink()
    scaffold(spec)
    contract = repo / "distill/docs/contract.md"
    assert not contract.exists()
    assert "## Decision: lock-eval-first" in (repo / "distill/docs/decision-memo.md").read_text()
    head = git(repo, "rev-parse", "HEAD").strip()
    new, _ = lock_eval(repo, ["eval/locked.jsonl"], reason=None, today=date(2027, 1, 4), commit=head)
    ev = dataclasses.replace(new.eval, baseline=locked.eval.baseline)
    new = dataclasses.replace(new, eval=dataclasses.replace(ev, hash=content_hash(ev.files, ev.baseline)))
    write_lock(repo, new)
    assert any("contract.md: missing" in p for p in check_fresh(spec))
    scaffold(spec)
    assert new.eval is not None and new.eval.hash in contract.read_text()
    blob = new.eval.files[0].git_blob
    assert blob and f"eval/locked.jsonl (git blob {blob})" in contract.read_text()
    assert head not in contract.read_text()  # no commit cited (issue 23)
    assert check_fresh(spec) == []
    lock = read_lock(repo)
    assert lock is not None and lock.eval == new.eval  # scaffold keeps the eval section


VLLM = "distill/serving/vllm.yaml"
CONFIGMAP = "distill/serving/k8s/configmap.yaml"


def _configmap_vllm(repo: Path) -> str:
    import yaml

    return str(yaml.safe_load((repo / CONFIGMAP).read_text())["data"]["vllm.yaml"])


def test_a_kept_edit_is_respected_by_check_and_feeds_the_configmap(repo: Path) -> None:
    spec = repo / "distill.toml"
    scaffold(spec)
    edited = (repo / VLLM).read_text().replace("gpu-memory-utilization: 0.9", "gpu-memory-utilization: 0.85")
    (repo / VLLM).write_text(edited)
    assert any("vllm.yaml: user-modified" in p for p in check_fresh(spec))  # not yet the person's decision
    assert _statuses(spec)[str(repo / VLLM)] == "user-modified, kept"  # scaffold records the decision
    assert (repo / VLLM).read_text() == edited
    assert _configmap_vllm(repo) == edited  # the Deployment mounts the edited engine config
    lock = read_lock(repo)
    assert lock is not None and lock.generated is not None and VLLM in lock.generated.kept
    assert check_fresh(spec) == []  # check respects the kept edit, on every later commit
    assert run_scaffold_cli(spec, check=True)[0] == 0
    # A new edit is a new decision: reported until scaffold records it.
    (repo / VLLM).write_text(edited + "# tuned again\n")
    problems = check_fresh(spec)
    assert len(problems) == 1 and "vllm.yaml: user-modified" in problems[0] and "to keep your edit" in problems[0]
    scaffold(spec)
    assert check_fresh(spec) == [] and _configmap_vllm(repo) == edited + "# tuned again\n"
    # --force takes the generated file back, and the ConfigMap with it.
    scaffold(spec, force=True)
    assert "0.85" not in (repo / VLLM).read_text() and "0.85" not in _configmap_vllm(repo)
    read = read_lock(repo)
    assert read is not None and read.generated is not None and read.generated.kept == {}


def test_a_skipped_vllm_yaml_of_ones_own_feeds_the_configmap(repo: Path) -> None:
    spec = repo / "distill.toml"
    scaffold(spec)
    own = "model: /models/invoice-extraction\nmax-num-seqs: 8\n"
    (repo / VLLM).write_text(own)
    spec.write_text(spec.read_text() + '\n[scaffold]\nskip = ["serving/vllm.yaml"]\n')
    scaffold(spec)
    assert (repo / VLLM).read_text() == own and _configmap_vllm(repo) == own
    assert check_fresh(spec) == []


def test_a_file_that_stops_and_starts_being_generated_stays_ours(unlocked_invoice: Path, capsys: Cap) -> None:
    """Issue 20/26: an eval row added without re-locking turns the contract and the proposal obsolete
    (the documents wait for a lock); after `lock --reason` they come back. They are still the bytes
    scaffold wrote, so they are updated, never "user-modified, kept" (the old manifest forgot them, and
    `check` then passed with a contract citing the old hash)."""
    repo = unlocked_invoice
    assert run_cli("lock", capsys=capsys)[0] == 0
    assert run_cli("scaffold", capsys=capsys)[0] == 0
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "locked and scaffolded")
    rows = repo / "eval" / "locked.jsonl"
    row = json.loads(rows.read_text("utf-8").splitlines()[0])
    row["id"] = "added-1"
    rows.write_text(rows.read_text("utf-8") + json.dumps(row) + "\n", "utf-8")
    code, out, _ = run_cli("scaffold", capsys=capsys)
    assert code == 0 and "obsolete  distill/docs/contract.md" in out, out
    assert run_cli("lock", "--reason", "one more row", capsys=capsys)[0] == 0
    code, out, _ = run_cli("scaffold", capsys=capsys)
    assert code == 0 and "user-modified" not in out, out
    assert "update  distill/docs/contract.md" in out and "update  distill/docs/proposal.md" in out, out
    new_hash = tomllib.loads((repo / "distill.lock").read_text("utf-8"))["eval"]["hash"]
    assert new_hash.split(":")[1][:8] in (repo / "distill/docs/contract.md").read_text("utf-8")
    # an obsolete file a person edited is theirs: when it comes back it is kept, not overwritten
    memo = repo / "distill/docs/decision-memo.md"
    memo.write_text(memo.read_text("utf-8") + "\nour note\n", "utf-8")
    rows.write_text(rows.read_text("utf-8") + json.dumps({**row, "id": "added-2"}) + "\n", "utf-8")
    code, out, _ = run_cli("scaffold", capsys=capsys)
    assert code == 0 and "user-modified, kept  distill/docs/decision-memo.md" in out, out
    assert memo.read_text("utf-8").endswith("our note\n")
