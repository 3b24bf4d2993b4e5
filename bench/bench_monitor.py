"""Benchmark ``distillplan monitor`` on a large sampled-traffic log (issue 16: 1 million rows in
at most 5 s, streamed).

Run: ``python bench/bench_monitor.py [--rows 1000000] [--runs 3]``. Copies
``examples/ticket-triage`` (metric accuracy, segments account/billing/technical) into a
temporary git repository, writes a JSONL log of ``--rows`` rows over 12 weeks (string labels,
3% disagreement, one row in 50 with a human reference), and runs the real command
``distillplan monitor --samples log.jsonl --format json`` in a fresh process. Reports the
median wall time over the runs and the child's peak resident memory (``ru_maxrss``), and the
same for a log of a tenth of the rows: the aggregation is constant in memory, the duplicate-id
check holds one 64-bit hash per row, so the difference between the two is that check.

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
LABELS = ("refund", "invoice", "login", "outage", "upgrade", "cancel", "other")
SEGMENTS = ("account", "billing", "technical")


def write_log(path: Path, rows: int, seed: int = 1) -> None:
    rng = random.Random(seed)
    span_s = 12 * 7 * 86400
    start = 1803859200  # 2027-03-01T00:00:00Z
    with path.open("w", encoding="utf-8") as f:
        for i in range(rows):
            t = start + i * span_s // rows
            stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t))
            teacher = LABELS[rng.randrange(len(LABELS))]
            student = teacher if rng.random() > 0.03 else "other"
            row = {"id": f"req-{i:08d}", "timestamp": stamp, "segment": SEGMENTS[i % 3], "student": student}
            row["teacher"] = teacher
            if i % 50 == 0:
                row["reference"] = teacher
            f.write(json.dumps(row) + "\n")


def run_once(repo: Path, log: Path) -> tuple[float, float]:
    """(wall seconds, peak RSS MiB) of one fresh-process run."""
    code = (
        "import resource, subprocess, sys, time\n"
        "t = time.perf_counter()\n"
        "p = subprocess.run(sys.argv[1:], capture_output=True)\n"
        "dt = time.perf_counter() - t\n"
        "assert p.returncode in (0, 4), p.stderr.decode()[:500]\n"
        "print(dt, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)\n"
    )
    cmd = [sys.executable, "-c", code, sys.executable, "-m", "distillplan", "monitor", "--samples", str(log)]
    out = subprocess.run([*cmd, "--format", "json"], cwd=repo, capture_output=True, text=True, check=True).stdout
    wall, rss_kib = out.split()
    return float(wall), int(rss_kib) / 1024


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--runs", type=int, default=3)
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="bench-monitor-"))
    try:
        repo = tmp / "repo"
        shutil.copytree(ROOT / "examples" / "ticket-triage", repo)
        env = dict(os.environ, GIT_AUTHOR_NAME="b", GIT_AUTHOR_EMAIL="b@x", GIT_COMMITTER_NAME="b")
        env["GIT_COMMITTER_EMAIL"] = "b@x"
        for g in (["init", "-q"], ["add", "-A"], ["commit", "-q", "-m", "x"]):
            subprocess.run(["git", *g], cwd=repo, env=env, check=True, capture_output=True)
        results = []
        for rows in (args.rows // 10, args.rows):
            log = tmp / f"log-{rows}.jsonl"
            write_log(log, rows)
            runs = [run_once(repo, log) for _ in range(args.runs)]
            wall = statistics.median(r[0] for r in runs)
            rss = max(r[1] for r in runs)
            results.append((rows, log.stat().st_size / 2**20, wall, rss))
        print("rows        file MiB  wall s (median)  peak RSS MiB  rows/s")
        for rows, mib, wall, rss in results:
            print(f"{rows:>10,}  {mib:>8.1f}  {wall:>15.2f}  {rss:>12.1f}  {rows / wall:>10,.0f}")
        rows, _mib, wall, _rss = results[-1]
        target = 5.0 * rows / 1_000_000
        print(f"target: {rows:,} rows in <= {target:g} s: {'ok' if wall <= target else 'MISSED'}")
        return 0 if wall <= target else 1
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    raise SystemExit(main())
