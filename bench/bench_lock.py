"""Benchmark the eval-lock verify path (the pre-commit hook) on a 1 GiB eval file.

Run: ``python bench/bench_lock.py [--mib 1024] [--runs 3]``. Creates a temporary git
repository, commits a large file, locks it, then reports medians over the runs:

* ``verify (clean, tracked)``: ``verify_eval`` in process; target <= 0.5 s (the file
  must not be read: this machine hashed it when locking and it has not been written since,
  per the verification cache; written within ``RACY_NS`` of the lock, it is read once more).
* ``verify in a fresh process``: the same, including interpreter start and imports.
* ``hash untracked: ours`` vs ``sha256sum``: the same bytes outside git (a hard link
  in a folder that is not a repository), page cache warm; target ratio <= 1.3.

Temporary files are removed at the end.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import date
from pathlib import Path

from distillplan import git as gitfast
from distillplan.evalset.fingerprint import hash_file, lock_eval, verify_eval
from distillplan.evalset.lockfile import read_lock, write_lock


def git(root: Path, *args: str) -> None:
    env = dict(
        os.environ,
        GIT_AUTHOR_DATE="2026-01-01T00:00:00Z",
        GIT_COMMITTER_DATE="2026-01-01T00:00:00Z",
    )
    subprocess.run(
        ["git", "-c", "core.compression=0", "-c", "core.looseCompression=0", *args],
        cwd=root,
        env=env,
        check=True,
        capture_output=True,
    )


def write_big(path: Path, mib: int) -> None:
    block = os.urandom(1 << 20)
    with open(path, "wb") as f:
        for i in range(mib):
            f.write(i.to_bytes(8, "little") + block[8:])


def median_time(fn: Callable[[], object], runs: int) -> float:
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--mib", type=int, default=1024, help="size of the eval file (MiB)")
    ap.add_argument("--runs", type=int, default=3)
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="distillplan-bench-"))
    try:
        repo = tmp / "repo"
        (repo / "eval").mkdir(parents=True)
        git(repo, "init", "-q")
        git(repo, "config", "user.name", "bench")
        git(repo, "config", "user.email", "bench@example.invalid")
        big = repo / "eval" / "big.jsonl"
        t = time.perf_counter()
        write_big(big, args.mib)
        t_write = time.perf_counter() - t
        # The untracked contender is a hard link outside the repository (no second GiB
        # on disk). Linking changes the inode's ctime, which makes git's stat cache see
        # the tracked file as dirty, so link *before* ``git add`` records the stat data.
        outside = tmp / "untracked"
        outside.mkdir()
        copy = outside / "big.jsonl"
        os.link(big, copy)
        t = time.perf_counter()
        git(repo, "add", "eval/big.jsonl")
        git(repo, "commit", "-q", "-m", "eval")
        t_commit = time.perf_counter() - t
        t = time.perf_counter()
        new, _ = lock_eval(
            repo,
            ["eval/big.jsonl"],
            reason=None,
            today=date(2026, 1, 1),
            commit=gitfast.head_commit(repo),
        )
        write_lock(repo, new)
        t_lock = time.perf_counter() - t
        lock = read_lock(repo)

        def verify_clean() -> None:
            assert verify_eval(repo, lock, ["eval/big.jsonl"]) == []

        code = (
            "from pathlib import Path; from distillplan.evalset.fingerprint import verify_eval;"
            "from distillplan.evalset.lockfile import read_lock;"
            f"r = Path({str(repo)!r}); assert verify_eval(r, read_lock(r), "
            "['eval/big.jsonl']) == []"
        )
        hash_file(copy)  # warm the page cache for both contenders
        sha = shutil.which("sha256sum")

        rows = [
            ("verify (clean, tracked)", median_time(verify_clean, args.runs), "<= 0.5 s"),
            (
                "verify in a fresh process",
                median_time(lambda: subprocess.run([sys.executable, "-c", code], check=True), args.runs),
                "",
            ),
        ]
        ours = median_time(lambda: hash_file(copy), args.runs)
        rows.append(("hash untracked: ours", ours, ""))
        if sha:
            theirs = median_time(lambda: subprocess.run([sha, str(copy)], check=True, capture_output=True), args.runs)
            rows.append(("hash untracked: sha256sum", theirs, ""))
        print(
            f"eval file: {args.mib} MiB; setup: write {t_write:.2f} s, git add+commit "
            f"{t_commit:.2f} s, lock (sha256 + index blob) {t_lock:.2f} s"
        )
        print(f"{'case':<28} {'median s':>9}  target")
        for name, secs, target in rows:
            print(f"{name:<28} {secs:>9.3f}  {target}")
        ok = rows[0][1] <= 0.5
        if sha:
            ratio = ours / theirs
            print(f"{'ours / sha256sum':<28} {ratio:>9.2f}  <= 1.3")
            ok = ok and ratio <= 1.3
        print("PASS" if ok else "FAIL")
        return 0 if ok else 1
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    raise SystemExit(main())
