"""Issue 25: the cost of keeping prices current, on the full LiteLLM map of the installed litellm.

- `distillplan prices update --from litellm` in a git repository (a fresh process each run: read
  the ~3 MB map, keep the three vendors' chat models, diff against the book in use, write
  `.distillplan/prices.toml`), median wall seconds;
- in-process: reading and filtering the map, and loading the price book with the written file over
  the bundled one (what every `plan` / `validate` in that repository does once);
- the hook path: `distillplan validate` on the invoice example in a repository with the price file
  and without it, interleaved (21 rounds), so the file's cost on every commit is measured.

Run: python bench/bench_prices_update.py   (needs litellm installed: it is in the test requirements)
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _timing import executable, interleaved, table, wall

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "examples" / "invoice-extraction"


def _repo(at: Path) -> Path:
    shutil.copytree(EXAMPLE, at)
    subprocess.run(["git", "init", "-q"], cwd=at, check=True)
    return at


def _in_process(map_path: Path, repo: Path, runs: int = 11) -> tuple[float, float, int]:
    from distillplan.catalogs import prices
    from distillplan.catalogs.price_map import parse_map, rows_from_map

    book = prices.teacher_prices()
    read, load = [], []
    rows: dict[str, object] = {}
    for _ in range(runs):
        t0 = time.perf_counter()
        rows = dict(rows_from_map(parse_map(map_path.read_bytes(), str(map_path)), "map", book, dt.date.today()))
        read.append(time.perf_counter() - t0)
        prices._repo_book.cache_clear()
        t0 = time.perf_counter()
        prices.price_book(repo)
        load.append(time.perf_counter() - t0)
    return statistics.median(read), statistics.median(load), len(rows)


def main() -> int:
    from distillplan.catalogs.price_map import litellm_map_path

    dp = executable("distillplan")
    map_path = litellm_map_path()
    if not dp or map_path is None:
        print("needs distillplan on PATH and litellm installed: pip install -e '.[test]'")
        return 2
    with tempfile.TemporaryDirectory() as tmp:
        with_file, without = _repo(Path(tmp) / "with"), _repo(Path(tmp) / "without")
        env = {**os.environ, "DISTILLPLAN_TODAY": dt.date.today().isoformat()}
        subprocess.run([dp, "prices", "update"], cwd=with_file, check=True, capture_output=True, env=env)
        update = wall([dp, "prices", "update"], cwd=with_file, runs=7)
        map_s, load_s, models = _in_process(map_path, with_file)
        lines = len((with_file / ".distillplan" / "prices.toml").read_text().splitlines())
        both = interleaved(
            {
                "with": [dp, "validate", str(with_file / "distill.toml")],
                "without": [dp, "validate", str(without / "distill.toml")],
            }
        )
    (w, w_min), (wo, wo_min) = both["with"], both["without"]
    print(f"map: {map_path} ({map_path.stat().st_size / 1e6:.1f} MB); {models} models imported, {lines} lines written")
    rows = [
        ("prices update --from litellm, median s", f"{update:.3f}", "<= 3.0", "yes" if update <= 3.0 else "NO"),
        ("  read + filter the map in-process, median s", f"{map_s:.3f}", "", ""),
        ("  load the book with the file, median s", f"{load_s:.4f}", "<= 0.05", "yes" if load_s <= 0.05 else "NO"),
        ("validate, repo with prices.toml, median s", f"{w:.3f}", "", ""),
        ("validate, repo without it, median s", f"{wo:.3f}", "", ""),
        ("validate: the file's cost, median s", f"{w - wo:+.3f}", "<= 0.05", "yes" if w - wo <= 0.05 else "NO"),
        ("validate: fastest with / without s", f"{w_min:.3f} / {wo_min:.3f}", "", ""),
    ]
    print(table(rows))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
