"""Time ``distillplan scaffold`` and ``distillplan check`` as a user runs them (subprocesses).

    python bench/bench_scaffold.py [EXAMPLE]

Targets: scaffold <= 2 s on a fresh copy of an example; check <= 0.4 s on an up-to-date
repository (the pre-commit hook). Median of 5 runs each.
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

ROOT = Path(__file__).resolve().parents[1]
RUNS = 5
ENV = {
    **os.environ,
    "GIT_AUTHOR_NAME": "bench",
    "GIT_AUTHOR_EMAIL": "bench@example.com",
    "GIT_COMMITTER_NAME": "bench",
    "GIT_COMMITTER_EMAIL": "bench@example.com",
    "GIT_AUTHOR_DATE": "2027-01-04T12:00:00+00:00",
    "GIT_COMMITTER_DATE": "2027-01-04T12:00:00+00:00",
}
CLI = [sys.executable, "-m", "distillplan"]


def _run(args: list[str], cwd: Path) -> float:
    start = time.perf_counter()
    proc = subprocess.run(args, cwd=cwd, env=ENV, capture_output=True, text=True)
    elapsed = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(args)} failed ({proc.returncode}):\n{proc.stdout}{proc.stderr}")
    return elapsed


def _repo(example: str, where: Path) -> Path:
    repo = where / example
    shutil.copytree(ROOT / "examples" / example, repo, ignore=shutil.ignore_patterns("distill.lock", "distill"))
    for args in (["init", "-q"], ["add", "-A"], ["commit", "-q", "-m", "example"]):
        subprocess.run(["git", *args], cwd=repo, env=ENV, check=True, capture_output=True)
    return repo


def main() -> int:
    example = sys.argv[1] if len(sys.argv) > 1 else "invoice-extraction"
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        scaffold_s = [_run([*CLI, "scaffold"], _repo(example, Path(tmp) / f"s{i}")) for i in range(RUNS)]
        rows.append(("distillplan scaffold (fresh copy)", statistics.median(scaffold_s), 2.0))
        repo = _repo(example, Path(tmp) / "check")
        _run([*CLI, "lock"], repo)
        _run([*CLI, "scaffold"], repo)
        subprocess.run(["git", "add", "-A"], cwd=repo, env=ENV, check=True)
        subprocess.run(["git", "commit", "-q", "-m", "lock, scaffold"], cwd=repo, env=ENV, check=True)
        check_s = [_run([*CLI, "check"], repo) for _ in range(RUNS)]
        rows.append(("distillplan check (up to date)", statistics.median(check_s), 0.4))
        fresh_s = [
            _run(
                [
                    sys.executable,
                    "-c",
                    "from distillplan.commands.scaffold import check_fresh; assert check_fresh('distill.toml') == []",
                ],
                repo,
            )
            for _ in range(RUNS)
        ]
        rows.append(("check_fresh() alone", statistics.median(fresh_s), 0.4))
    print(f"{'command':<36} {'median s':>9} {'target s':>9}  ok")
    failed = False
    for name, median, target in rows:
        ok = median <= target
        failed |= not ok
        print(f"{name:<36} {median:>9.3f} {target:>9.1f}  {'yes' if ok else 'NO'}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
