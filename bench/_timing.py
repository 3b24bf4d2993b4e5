"""Shared timing helpers for the bench scripts: medians of wall time of subprocesses."""

from __future__ import annotations

import shutil
import statistics
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path


def executable(name: str) -> str | None:
    """The console script ``name`` of this Python's environment, else the one on PATH."""
    local = Path(sys.executable).parent / name
    return str(local) if local.exists() else shutil.which(name)


def wall(cmd: Sequence[str], *, cwd: Path | None = None, runs: int = 11, ok_codes: tuple[int, ...] = (0,)) -> float:
    """Median wall seconds of ``cmd`` over ``runs`` runs (after one warm-up run)."""
    subprocess.run(cmd, cwd=cwd, capture_output=True, check=False)
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        proc = subprocess.run(cmd, cwd=cwd, capture_output=True, check=False)
        times.append(time.perf_counter() - t0)
        if proc.returncode not in ok_codes:
            raise SystemExit(f"{' '.join(cmd)} exited {proc.returncode}: {proc.stderr.decode()[:500]}")
    return statistics.median(times)


def table(rows: list[tuple[str, str, str, str]]) -> str:
    head = ("measure", "value", "target", "ok")
    widths = [max(len(r[i]) for r in [head, *rows]) for i in range(4)]
    lines = ["  ".join(c.ljust(w) for c, w in zip(head, widths, strict=False))]
    lines += ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=False)) for r in rows]
    return "\n".join(lines)


def interleaved(
    cmds: dict[str, Sequence[str]],
    *,
    runs: int = 21,
    cwd: Path | None = None,
    envs: dict[str, dict[str, str]] | None = None,
) -> dict[str, tuple[float, float]]:
    """(median, min) wall seconds of each command, runs interleaved so that a busy spell of the
    machine weighs on every command alike; one warm-up run each. ``envs``: per-command environment."""
    env = envs or {}
    for name, cmd in cmds.items():
        subprocess.run(cmd, cwd=cwd, capture_output=True, check=False, env=env.get(name))
    samples: dict[str, list[float]] = {name: [] for name in cmds}
    for _ in range(runs):
        for name, cmd in cmds.items():
            t0 = time.perf_counter()
            subprocess.run(cmd, cwd=cwd, capture_output=True, check=False, env=env.get(name))
            samples[name].append(time.perf_counter() - t0)
    return {name: (statistics.median(v), min(v)) for name, v in samples.items()}
