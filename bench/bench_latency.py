"""Issue 12's speed targets, measured side by side in one run:

- `distillplan plan` with sizing and latency (this checkout) against today's plan (the
  baseline ref, default `main`, exported to a temporary folder and run from there), on the
  same example spec, interleaved; and this checkout on the same spec with a `[workload]`
  latency target (p95 TTFT and TPOT), which adds the replica search. Target: <= 1.5 s.
- one latency computation in process (TTFT/TPOT p50/p95 of one replica at one load), and
  one full serving sizing with a latency target. Target: < 10 ms.

Run: python bench/bench_latency.py [--baseline REF] [--runs N]
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
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _timing import interleaved, table

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = "invoice-extraction"
TARGET = "p95_ttft_ms = 400\np95_tpot_ms = 40\n"


def _export(ref: str, dest: Path) -> None:
    archive = subprocess.run(["git", "-C", str(ROOT), "archive", ref], capture_output=True, check=True).stdout
    subprocess.run(["tar", "-x", "-C", str(dest)], input=archive, check=True)


def _with_target(src: Path, dest: Path) -> Path:
    text = (src / "distill.toml").read_text(encoding="utf-8")
    shutil.copytree(src, dest)
    (dest / "distill.toml").write_text(text.replace("[workload]\n", "[workload]\n" + TARGET, 1), encoding="utf-8")
    return dest


def _in_process(runs: int) -> list[tuple[str, str, str, str]]:
    from distillplan.catalogs.gpus import load_gpus
    from distillplan.sizing.architecture import load_architecture
    from distillplan.sizing.serving import SizingAssumptions, pod_replica, size_serving

    a, gpu = SizingAssumptions(), load_gpus()["a100-80gb"]
    arch = load_architecture("meta-llama/Llama-3.1-8B", base_dir=ROOT)
    rep = pod_replica(
        arch,
        gpu,
        precision="int8",
        input_tokens=1400,
        output_tokens=250,
        max_running=256,
        tensor_parallel_size=1,
        assumptions=a,
    )

    def median_ms(fn: object, n: int) -> float:
        times = []
        for _ in range(n):
            t0 = time.perf_counter()
            fn()  # type: ignore[operator]
            times.append(time.perf_counter() - t0)
        return statistics.median(times) * 1e3

    one = median_ms(lambda: rep.at(2.0), runs * 100)
    sized = median_ms(
        lambda: size_serving(
            arch,
            gpu,
            precision="int8",
            input_tokens=1400,
            output_tokens=250,
            peak_requests_per_second=40.0,
            assumptions=a,
            latency_target=(400.0, 40.0),
        ),
        runs * 10,
    )
    return [
        ("one latency computation (Replica.at), median ms", f"{one:.4f}", "< 10", "yes" if one < 10 else "NO"),
        ("size_serving with a latency target, median ms", f"{sized:.3f}", "< 10", "yes" if sized < 10 else "NO"),
    ]


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--baseline", default="main")
    parser.add_argument("--runs", type=int, default=11)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        base = Path(tmp) / "baseline"
        base.mkdir()
        _export(args.baseline, base)
        spec = ROOT / "examples" / EXAMPLE
        target = _with_target(spec, Path(tmp) / "with-target")
        py = sys.executable
        env_base = {**os.environ, "PYTHONPATH": str(base)}
        env_here = {**os.environ, "PYTHONPATH": str(ROOT)}
        cmds = {
            f"today ({args.baseline})": ([py, "-m", "distillplan", "plan", str(spec)], env_base),
            "this branch": ([py, "-m", "distillplan", "plan", str(spec)], env_here),
            "this branch, latency target": ([py, "-m", "distillplan", "plan", str(target)], env_here),
        }
        for name, (cmd, env) in cmds.items():  # each must succeed (exit 0) before timing
            proc = subprocess.run(cmd, env=env, capture_output=True, check=False)
            if proc.returncode != 0:
                raise SystemExit(f"{name}: exit {proc.returncode}: {proc.stderr.decode()[:400]}")
        times = interleaved({k: v[0] for k, v in cmds.items()}, runs=args.runs, envs={k: v[1] for k, v in cmds.items()})
    today = times[f"today ({args.baseline})"][0]
    rows = []
    for name, (med, low) in times.items():
        ratio = med / today
        rows.append(
            (
                f"plan {EXAMPLE}: {name}, median s (min {low:.3f}, x{ratio:.2f} of today)",
                f"{med:.3f}",
                "<= 1.5",
                "yes" if med <= 1.5 else "NO",
            )
        )
    rows += _in_process(args.runs)
    print(table(rows))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
