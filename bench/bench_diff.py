"""Issue 28's speed target for `distillplan diff BASE HEAD`: the diff of two revisions of a bundled
example in under 2x the wall time of one `distillplan plan` of the same spec.

A temporary git repository holds the invoice example at two commits (the second triples the
volume); `distillplan diff BASE HEAD --format github` (both sides read from git, planned and
compared) and `distillplan plan` of the working tree run interleaved (21 rounds) so a busy spell
of the machine weighs on both alike; the ratio is of the medians. In process, one `diff_between`
is shown next to one `plan_for_file` (the process start-up both pay is left out there).

Run: python bench/bench_diff.py
"""

from __future__ import annotations

import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _timing import executable, interleaved, table

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "examples" / "invoice-extraction"
ENV = {
    **os.environ,
    "GIT_AUTHOR_NAME": "bench",
    "GIT_AUTHOR_EMAIL": "bench@example.com",
    "GIT_COMMITTER_NAME": "bench",
    "GIT_COMMITTER_EMAIL": "bench@example.com",
}


def _git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=repo, env=ENV, check=True, capture_output=True, text=True).stdout


def _repo(tmp: Path) -> tuple[Path, str]:
    repo = tmp / "repo"
    shutil.copytree(EXAMPLE, repo)
    _git(repo, "init", "-q", "-b", "main")
    _git(repo, "add", "-A")
    _git(repo, "commit", "-q", "-m", "base")
    base = _git(repo, "rev-parse", "HEAD").strip()
    spec = repo / "distill.toml"
    spec.write_text(spec.read_text("utf-8").replace("6_000_000", "18_000_000"), "utf-8")
    _git(repo, "commit", "-q", "-am", "head")
    return repo, base


def _in_process(repo: Path, base: str) -> tuple[float, float]:
    from distillplan.commands.diff import diff_between
    from distillplan.plan.build import plan_for_file
    from distillplan.spec.load import load_spec

    diff_between(repo, base, "HEAD")
    plan_for_file(load_spec(repo))
    diffs, plans = [], []
    for _ in range(9):
        t0 = time.perf_counter()
        diff_between(repo, base, "HEAD")
        diffs.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        plan_for_file(load_spec(repo))
        plans.append(time.perf_counter() - t0)
    return statistics.median(diffs), statistics.median(plans)


def main() -> int:
    dp = executable("distillplan")
    if not dp:
        print("needs distillplan installed: pip install -e .")
        return 2
    with tempfile.TemporaryDirectory() as tmp:
        repo, base = _repo(Path(tmp))
        both = interleaved(
            {
                "diff": [dp, "diff", base, "HEAD", "--format", "github"],
                "plan": [dp, "plan"],
            },
            cwd=repo,
        )
        in_diff, in_plan = _in_process(repo, base)
    (diff_med, diff_min), (plan_med, plan_min) = both["diff"], both["plan"]
    ratio = diff_med / plan_med
    rows = [
        ("distillplan diff BASE HEAD (two revisions), median s", f"{diff_med:.3f}", "", ""),
        ("distillplan diff, fastest s", f"{diff_min:.3f}", "", ""),
        ("distillplan plan (same spec), median s", f"{plan_med:.3f}", "", ""),
        ("distillplan plan, fastest s", f"{plan_min:.3f}", "", ""),
        ("ratio diff / plan (medians)", f"{ratio:.2f}", "< 2.0", "yes" if ratio < 2.0 else "NO"),
        ("in process: diff_between, median ms", f"{in_diff * 1e3:.1f}", "", ""),
        ("in process: plan_for_file, median ms", f"{in_plan * 1e3:.1f}", "", ""),
        ("in process: ratio", f"{in_diff / in_plan:.2f}", "", ""),
    ]
    print(table(rows))
    return 0 if ratio < 2.0 else 1


if __name__ == "__main__":
    raise SystemExit(main())
