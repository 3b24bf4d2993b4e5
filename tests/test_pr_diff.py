"""Issue 28: ``distillplan diff BASE [HEAD]`` in a pull request: two revisions in real temporary
repos (the merge base, a spec added, removed or moved, a revision that does not exist), the
guardrails (``--fail-on`` and ``[policy.guardrails]``, exit 6 with both values) and the
``--format github`` comment (marker, escaping, the short forms, the size limit)."""

from __future__ import annotations

import dataclasses
import json
import re
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
from markdown_it import MarkdownIt

from distillplan.commands.diff import diff_between
from distillplan.errors import RepoError
from distillplan.outputs.diff_report import COMMENT_LIMIT, comment_marker, render_diff, render_github
from distillplan.plan.guardrails import BREACH_EXIT_CODE
from distillplan.spec.guardrails import parse_condition

from .conftest import EXAMPLES, git, run_cli
from .test_report import check_tables

MakeRepo = Callable[[str], Path]
Cap = pytest.CaptureFixture[str]
VOLUME = "requests_per_month = 6_000_000"


def edit(spec: Path, old: str, new: str) -> None:
    text = spec.read_text(encoding="utf-8")
    assert old in text, old
    spec.write_text(text.replace(old, new, 1), encoding="utf-8")


def commit(root: Path, message: str) -> str:
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", message)
    return git(root, "rev-parse", "HEAD").strip()


@pytest.fixture
def pr_repo(example_repo: MakeRepo) -> Path:
    """main holds the invoice example; branch `feature` triples the volume; main moves on after it
    branched (an unrelated commit), so the merge base is not main's tip."""
    root = example_repo("invoice-extraction")
    git(root, "checkout", "-q", "-b", "feature")
    edit(root / "distill.toml", VOLUME, "requests_per_month = 18_000_000")
    commit(root, "triple the volume")
    git(root, "checkout", "-q", "main")
    (root / "NOTES.md").write_text("unrelated\n", encoding="utf-8")
    commit(root, "unrelated")
    git(root, "checkout", "-q", "feature")
    return root


def test_pull_request_case_merge_base_to_head(pr_repo: Path, capsys: Cap, monkeypatch: pytest.MonkeyPatch) -> None:
    base = git(pr_repo, "merge-base", "main", "feature").strip()
    assert base != git(pr_repo, "rev-parse", "main").strip()
    r = diff_between(pr_repo, base, "feature")
    d = r.diff
    assert (d.old_ref, d.new_ref) == (f"{base}:distill.toml", "feature:distill.toml")
    assert d.get("totals", "frontier_usd_per_month").delta == pytest.approx(2 * 31_800)
    assert d.get("student", "gpu_hosting").delta > 0
    assert all(c.kind == "=" for c in d.changes if c.section == "contract")
    assert r.breaches == [] and r.spec_path == "distill.toml"
    # HEAD defaults to the working tree: the same figures while the tree is clean.
    assert render_diff(diff_between(pr_repo, base).diff, "json") != ""
    assert diff_between(pr_repo, base).diff.changed == tuple(
        dataclasses.replace(c) for c in diff_between(pr_repo, base, "HEAD").diff.changed
    )
    monkeypatch.chdir(pr_repo)
    code, out, err = run_cli("diff", base, "HEAD", "--format", "json", capsys=capsys)
    assert (code, err) == (0, "")
    doc = json.loads(out)
    assert doc["old_ref"] == f"{base}:distill.toml" and doc["new_ref"] == "HEAD:distill.toml"
    assert doc["breaches"] == [] and doc["changed"] is True
    # Two arguments: the second is a SPEC when it is a path, else HEAD.
    code, out2, _ = run_cli("diff", base, "distill.toml", "--format", "json", capsys=capsys)
    assert code == 0 and json.loads(out2)["new_ref"] == "distill.toml"


def test_unknown_revisions_are_one_line(pr_repo: Path, capsys: Cap, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(pr_repo)
    for args in (["nope"], ["main", "nope"], ["nope", "main", "distill.toml"], ["--", "-x"], ["HEAD~9", "HEAD"]):
        code, out, err = run_cli("diff", *args, capsys=capsys)
        assert code == 1 and out == "", (args, err)
        assert len(err.strip().splitlines()) == 1 and "unknown revision" in err and "Traceback" not in err, err
    code, _, err = run_cli("diff", "main", "--fail-on", "budget-increase>5000", capsys=capsys)
    assert code == 1 and err.strip().startswith("--fail-on: 'budget-increase>5000': the limit must be")


def test_ambiguous_second_argument_is_refused(pr_repo: Path, capsys: Cap, monkeypatch: pytest.MonkeyPatch) -> None:
    (pr_repo / "main").mkdir()
    monkeypatch.chdir(pr_repo)
    code, _, err = run_cli("diff", "HEAD", "main", capsys=capsys)
    assert code == 1 and "both a revision and a path" in err
    code, _, err = run_cli("diff", "HEAD", "main", "--spec", "distill.toml", capsys=capsys)
    assert code == 0, err


def test_spec_added_and_removed_between_revisions(git_repo: Path) -> None:
    (git_repo / "README.md").write_text("hello\n", encoding="utf-8")
    before = commit(git_repo, "empty")
    shutil.copytree(EXAMPLES / "invoice-extraction", git_repo, dirs_exist_ok=True)
    added = commit(git_repo, "add the spec")
    d = diff_between(git_repo, before, added).diff
    assert d.old_absent and not d.new_absent and all(c.kind == "+" for c in d.changes)
    git(git_repo, "rm", "-q", "distill.toml")
    removed = commit(git_repo, "remove the spec")
    d = diff_between(git_repo, added, removed).diff
    assert d.new_absent and d.new_decision is None and all(c.kind == "-" for c in d.changes)
    assert d.get("totals", "frontier_usd_per_month").delta == pytest.approx(-31_800)
    assert "spec removed" in render_diff(d, "text")
    body = render_github(d, spec_path="distill.toml")
    assert "Spec removed" in body and body.startswith(comment_marker("distill.toml"))
    # The working tree form: the file deleted, not committed.
    d = diff_between(git_repo, added).diff
    assert d.new_absent and d.old_decision is not None
    with pytest.raises(RepoError, match="no spec at") as e:
        diff_between(git_repo, before, removed)
    assert "\n" not in str(e.value)


def test_spec_moved_between_revisions_is_followed(git_repo: Path) -> None:
    shutil.copytree(EXAMPLES / "invoice-extraction", git_repo / "teams" / "a")
    before = commit(git_repo, "spec under teams/a")
    git(git_repo, "mv", "teams/a", "teams/b")
    edit(git_repo / "teams" / "b" / "distill.toml", VOLUME, "requests_per_month = 7_000_000")
    # The working tree (the move staged): followed from the new path, a change, not all new.
    d = diff_between(git_repo / "teams" / "b", before).diff
    assert d.moved_from == "teams/a/distill.toml" and not d.old_absent
    assert d.get("totals", "frontier_usd_per_month").kind == "~"
    moved = commit(git_repo, "move to teams/b")
    d = diff_between(git_repo / "teams" / "b" / "distill.toml", before, moved).diff
    assert (d.old_ref, d.new_ref) == (f"{before}:teams/a/distill.toml", f"{moved}:teams/b/distill.toml")
    assert not d.old_absent and not d.new_absent and d.get("sizing", "gpu").kind == "="
    assert "Moved from `teams/a/distill.toml`" in render_github(d, spec_path="teams/b/distill.toml")
    # Given the old path (the file, or its folder now gone from the working tree), the move is followed forward.
    gone = diff_between(git_repo / "teams" / "a", before, moved)
    assert gone.spec_path == "teams/b/distill.toml" and gone.diff.moved_from == "teams/a/distill.toml"
    assert diff_between(git_repo / "teams" / "a" / "distill.toml", before, moved).diff.new_ref.endswith(
        "teams/b/distill.toml"
    )


def test_guardrails_breach_exit_6_with_both_values(pr_repo: Path, capsys: Cap, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(pr_repo)
    base = git(pr_repo, "merge-base", "main", "HEAD").strip()
    code, _, err = run_cli(
        "diff",
        base,
        "--fail-on",
        "run-rate-increase>10%",
        "--fail-on",
        "payback-months>100",
        "--fail-on",
        "verdict-change",
        capsys=capsys,
    )
    assert code == BREACH_EXIT_CODE == 6, err
    lines = err.strip().splitlines()
    assert len(lines) == 1, err  # payback fell and the verdict held: only the run-rate fired
    m = re.fullmatch(
        r"distillplan diff: guardrail run-rate-increase>10% breached: the monthly run-rate rose \+([\d.]+)%, "
        r"above 10% \((\$[\d,]+) -> (\$[\d,]+)\)",
        lines[0],
    )
    assert m, lines[0]
    doc = json.loads(run_cli("diff", base, "--format", "json", "--fail-on", "run-rate-increase>10%", capsys=capsys)[1])
    old = next(c for c in doc["changes"] if c["name"] == "student_usd_per_month")
    assert m.group(2) == f"${old['old']:,.0f}" and m.group(3) == f"${old['new']:,.0f}"
    assert float(m.group(1)) == pytest.approx((old["new"] / old["old"] - 1) * 100, abs=0.05)
    assert doc["breaches"][0]["condition"] == "run-rate-increase>10%"
    # Dollars: the rise in $ against the limit; a limit above the rise holds.
    rise = old["new"] - old["old"]
    assert run_cli("diff", base, "--fail-on", f"run-rate-increase>${rise + 1:.0f}", capsys=capsys)[0] == 0
    assert run_cli("diff", base, "--fail-on", f"run-rate-increase>${rise - 1:.0f}", capsys=capsys)[0] == 6
    # The github body names the breach.
    code, body, _ = run_cli("diff", base, "--format", "github", "--fail-on", "run-rate-increase>10%", capsys=capsys)
    assert code == 6 and "1 guardrail breached" in body and "`run-rate-increase>10%`" in body


def test_base_policy_guardrails_judge_the_change(
    example_repo: MakeRepo, capsys: Cap, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = example_repo("invoice-extraction")
    spec = root / "distill.toml"
    spec.write_text(
        spec.read_text("utf-8") + '\n[policy.guardrails]\nfail_on = ["verdict-change", "contract-change"]\n', "utf-8"
    )
    base = commit(root, "guardrails")
    # The change removes the guardrails and drops the volume below the floor: the base's still judge it.
    spec.write_text(spec.read_text("utf-8").split("\n[policy.guardrails]")[0] + "\n", "utf-8")
    edit(spec, VOLUME, "requests_per_month = 20_000")
    edit(spec, "payment_share = 0.3", "payment_share = 0.4")
    edit(spec, "payment_share = 0.7", "payment_share = 0.6")
    monkeypatch.chdir(root)
    code, _, err = run_cli("diff", base, capsys=capsys)
    assert code == 6
    fired = [ln.split(" breached")[0].rsplit(" ", 1)[1] for ln in err.strip().splitlines()]
    assert fired == ["verdict-change", "contract-change"], err
    assert "(distill -> stay-on-frontier)" in err
    assert (
        "milestone Eval set locked and signed off changed (and 1 more) (30% due 2027-02-01 -> 40% due 2027-02-01)"
        in err
    )


def test_lock_change_needs_a_reason(example_repo: MakeRepo, capsys: Cap, monkeypatch: pytest.MonkeyPatch) -> None:
    root = example_repo("invoice-extraction")
    monkeypatch.chdir(root)
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1798761600")
    base = git(root, "rev-parse", "HEAD").strip()
    rows = (root / "eval" / "locked.jsonl").read_text("utf-8").splitlines()
    (root / "eval" / "locked.jsonl").write_text("\n".join(rows[:-1]) + "\n", "utf-8")  # one example fewer
    assert run_cli("lock", "--reason", "dropped a mislabelled example", capsys=capsys)[0] == 0
    code, out, err = run_cli("diff", base, "--fail-on", "lock-change-without-reason", capsys=capsys)
    assert (code, err) == (0, ""), err
    assert "reason: dropped a mislabelled example" in out
    code, _, err = run_cli("diff", base, "--fail-on", "contract-change", capsys=capsys)
    assert code == 6 and "the contract's eval lock hash changed" in err, err
    # The same new lock with its history entry cut out (a lock written by hand, or by a tool
    # that dropped it): the change has no reason on record.
    lock = (root / "distill.lock").read_text("utf-8")
    (root / "distill.lock").write_text(lock[: lock.rindex("[[eval.history]]")], "utf-8")
    code, out, err = run_cli("diff", base, "--fail-on", "lock-change-without-reason", capsys=capsys)
    assert code == 6 and "no `distillplan lock --reason` entry for the old one" in err, err
    assert "(no `lock --reason` entry)" in out
    assert re.search(r"\(([0-9a-f:sha]{12}) -> ([0-9a-f:sha]{12})\)$", err.strip()), err


def test_condition_language() -> None:
    assert parse_condition("budget-increase > $5,000").text == "budget-increase>$5000"
    assert parse_condition("payback-months>18").text == "payback-months>18"
    assert parse_condition("payback-months>18 months").unit == "months"
    assert parse_condition("run-rate-increase>12.5%").limit == 12.5
    for bad, words in [
        ("payback-months", "needs a limit"),
        ("verdict-change>3", "takes no limit"),
        ("budget-increase>10", "the limit must be"),
        ("budget-increase>$10%", "not both"),
        ("cost-up>5%", "unknown condition 'cost-up'"),
        ("", "cannot read condition"),
        ("payback-months>1e99", "cannot read"),
    ]:
        with pytest.raises(ValueError, match=re.escape(words)):
            parse_condition(bad)


def test_policy_guardrails_validated_located(tmp_path: Path, capsys: Cap) -> None:
    shutil.copytree(EXAMPLES / "invoice-extraction", tmp_path / "x")
    spec = tmp_path / "x" / "distill.toml"
    spec.write_text(spec.read_text("utf-8") + '\n[policy.guardrails]\nfail_on = ["verdict-change", "nope"]\n', "utf-8")
    code, out, err = run_cli("validate", str(spec), capsys=capsys)
    line = len(spec.read_text("utf-8").splitlines())
    assert code == 1
    assert re.match(
        rf"{re.escape(str(spec))}:{line}:\d+: policy\.guardrails\.fail_on\[1\]: unknown condition 'nope'", out + err
    )


PAYLOAD = "</details><img src=x onerror=alert(1)> --> [x](javascript:alert(1)) `y` | @team **b**"


def _html_tags(md: str) -> list[str]:
    """Raw HTML the renderer lets through: only the body's own folding and footer tags."""
    tokens = MarkdownIt("commonmark").enable("table").parse(md)
    out = []
    for t in tokens:
        for x in [t, *(t.children or [])]:
            if x.type in ("html_block", "html_inline"):
                out.append(x.content.strip())
    return out


def test_github_body_escapes_spec_text_and_keeps_marker(example_repo: MakeRepo) -> None:
    root = example_repo("invoice-extraction")
    base = git(root, "rev-parse", "HEAD").strip()
    edit(root / "distill.toml", "Eval set locked and signed off", PAYLOAD.replace('"', ""))
    r = diff_between(root, base, fail_on=["contract-change"])
    body = render_github(r.diff, r.breaches, spec_path="odd --> dir/distill.toml")
    first = body.splitlines()[0]
    assert first == "<!-- distillplan-diff: odd%20--%3E%20dir/distill.toml -->"
    assert body.count("-->") == 1  # only the marker's own end
    allowed = {first, "</details>", "<sub>", "</sub>", "<code>", "</code>"}
    tags = _html_tags(body)
    assert {t for t in tags if not t.startswith("<details><summary>")} <= allowed, tags
    assert not re.search(r"(?<!\\)<img", body) and "\\<img" in body
    assert "](javascript" not in body.replace("\\]", "")
    assert len(re.findall(r"(?<!\\)<details", body)) == len(re.findall(r"(?<!\\)</details>", body)) == 1
    check_tables(body)


def test_github_short_forms_and_size_limit(example_repo: MakeRepo) -> None:
    root = example_repo("invoice-extraction")
    same = diff_between(root, "HEAD").diff
    short = render_github(same, spec_path="distill.toml")
    assert "No material change to the plan." in short and "<details>" not in short
    edit(root / "distill.toml", VOLUME, "requests_per_month = 12_000_000")
    d = diff_between(root, "HEAD").diff
    full = render_github(d, spec_path="distill.toml")
    assert "**Money**" in full and "**Sizing**" in full and "<details><summary>Every changed line" in full
    assert len(full) < COMMENT_LIMIT
    check_tables(full)
    # Thousands of changed lines (a synthetic diff): the short form, still under GitHub's limit.
    many = dataclasses.replace(d, changes=d.changes * 400)
    body = render_github(many, spec_path="distill.toml")
    assert len(render_diff(many, "markdown")) > COMMENT_LIMIT
    assert len(body) < COMMENT_LIMIT and "too long for a comment" in body
    assert body.startswith(comment_marker("distill.toml"))


DOCS = Path(__file__).resolve().parents[1] / "docs"


def test_docs_copy_the_examples_and_show_a_real_breach(
    example_repo: MakeRepo, capsys: Cap, monkeypatch: pytest.MonkeyPatch
) -> None:
    """docs/pull-requests.md shows the example workflow and GitLab job as they are in
    docs/examples/, and its breach line is what the command prints for that change."""
    page = (DOCS / "pull-requests.md").read_text("utf-8")
    blocks = re.findall(r"^```yaml\n(.*?)^```", page, flags=re.S | re.M)
    assert blocks == [
        (DOCS / "examples" / "distillplan-pr.yml").read_text("utf-8"),
        (DOCS / "examples" / "distillplan.gitlab-ci.yml").read_text("utf-8"),
    ]
    shown = re.search(r"^```text\n(distillplan diff: .*)\n```", page, flags=re.M)
    assert shown
    root = example_repo("invoice-extraction")
    edit(root / "distill.toml", VOLUME, "requests_per_month = 12_000_000")
    monkeypatch.chdir(root)
    code, _, err = run_cli("diff", "HEAD", "--fail-on", "run-rate-increase>10%", capsys=capsys)
    assert code == 6 and err.strip() == shown.group(1)
