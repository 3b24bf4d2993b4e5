"""Benchmark ``distillplan lock`` and ``distillplan accept`` on a large eval set (issue 30: accept
on 1 million predictions in under 5 s, like ``monitor`` on 1 million sampled rows).

Run: ``python bench/bench_accept.py [--rows 1000000] [--runs 3]``. Copies
``examples/ticket-triage`` (metric accuracy, strata by ``queue``) into a temporary git
repository, writes an eval set of ``--rows`` rows and a student's predictions for it (3% wrong),
then times the real commands in fresh processes: ``distillplan lock`` (hash the set, read every
row, fix the per-stratum baseline) and ``distillplan accept --predictions ... --format json``
(verify the lock, read the committed set and the predictions, score, bootstrap). Reports the
median wall time over the runs against the targets, and the time per row.

Temporary files are removed at the end.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
QUEUES = ("billing", "technical", "account")
ENV = dict(
    os.environ,
    GIT_AUTHOR_NAME="bench",
    GIT_AUTHOR_EMAIL="bench@example.invalid",
    GIT_COMMITTER_NAME="bench",
    GIT_COMMITTER_EMAIL="bench@example.invalid",
    SOURCE_DATE_EPOCH="1798761600",
)


def git(repo: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=repo, env=ENV, check=True, capture_output=True)


def write_set(repo: Path, rows: int, seed: int = 1) -> Path:
    """The eval set (replacing the example's) and the student's predictions; returns the latter."""
    rng = random.Random(seed)
    preds = repo / "predictions.jsonl"
    with (repo / "eval" / "locked.jsonl").open("w", encoding="utf-8") as ev, preds.open("w", encoding="utf-8") as pr:
        for i in range(rows):
            q = QUEUES[i % 3]
            ev.write(json.dumps({"id": f"t{i}", "input": f"ticket text {i}", "queue": q, "reference": q}) + "\n")
            guess = q if rng.random() > 0.03 else QUEUES[(i + 1) % 3]
            pr.write(json.dumps({"id": f"t{i}", "prediction": guess}) + "\n")
    return preds


def timed(cmd: list[str], cwd: Path, ok: tuple[int, ...]) -> float:
    t = time.perf_counter()
    p = subprocess.run(cmd, cwd=cwd, env=ENV, capture_output=True)
    dt = time.perf_counter() - t
    if p.returncode not in ok:
        raise SystemExit(f"{' '.join(cmd)} exited {p.returncode}: {p.stderr.decode()[:500]}")
    return dt


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--runs", type=int, default=3)
    args = ap.parse_args()
    dp = [sys.executable, "-m", "distillplan"]
    tmp = Path(tempfile.mkdtemp(prefix="bench-accept-"))
    ENV["XDG_CACHE_HOME"] = str(tmp / "cache")  # the verification cache's key: not the user's
    try:
        repo = tmp / "repo"
        shutil.copytree(ROOT / "examples" / "ticket-triage", repo)
        (repo / "distill.lock").unlink()
        preds = write_set(repo, args.rows)
        git(repo, "init", "-q", "-b", "main")
        git(repo, "add", "-A")
        git(repo, "commit", "-q", "-m", "eval set")
        locks = []
        for _ in range(args.runs):
            (repo / "distill.lock").unlink(missing_ok=True)
            (repo / ".git" / "distillplan-verified").unlink(missing_ok=True)  # every run hashes the set
            locks.append(timed([*dp, "lock"], repo, (0,)))
        git(repo, "add", "-A")
        git(repo, "commit", "-q", "-m", "lock")
        accepts = [
            timed([*dp, "accept", "--predictions", str(preds), "--format", "json"], repo, (0, 4))
            for _ in range(args.runs)
        ]
        lock_s, accept_s = statistics.median(locks), statistics.median(accepts)
        print(f"rows: {args.rows:,}; runs: {args.runs} (fresh processes)")
        print(f"{'command':<10} {'median s':>9} {'us/row':>7}  target")
        print(f"{'lock':<10} {lock_s:>9.2f} {lock_s / args.rows * 1e6:>7.2f}")
        print(f"{'accept':<10} {accept_s:>9.2f} {accept_s / args.rows * 1e6:>7.2f}  < 5 s per 1,000,000 rows")
        ok = accept_s < 5 * args.rows / 1_000_000
        print("PASS" if ok else "FAIL")
        return 0 if ok else 1
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    raise SystemExit(main())
