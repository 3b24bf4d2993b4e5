"""Regenerate the goldens from ``examples/`` (review the diff, then commit).

    python tests/regen_golden.py

- ``tests/golden/<example>/``: the generated tree. Each example is copied without its
  ``distill.lock`` and generated tree, so these show the unlocked state and do not depend on
  who ran ``distillplan lock`` when.
- ``tests/golden/plans/<example>.json`` and ``.txt``: the plan of the example as shipped
  (with its ``distill.lock``), as JSON and as the plain text report.
"""

from __future__ import annotations

import shutil
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
EXAMPLES = HERE.parent / "examples"
GOLDEN = HERE / "golden"


def example_names() -> list[str]:
    return sorted(p.parent.name for p in EXAMPLES.glob("*/distill.toml"))


def render_example(name: str, work: Path) -> dict[str, bytes]:
    """The generated tree of ``examples/<name>``, rendered in a clean copy under ``work``."""
    from distillplan.commands._inputs import plan_for_file
    from distillplan.commands.scaffold import tree_for
    from distillplan.evalset.lockfile import read_lock
    from distillplan.outputs.scaffold import lock_state
    from distillplan.spec.load import load_spec

    dest = work / name
    # with the example's distill.lock (its eval set and teacher baseline), outside git: the
    # documents cite no commit
    shutil.copytree(EXAMPLES / name, dest, ignore=shutil.ignore_patterns("distill"))
    sf = load_spec(dest / "distill.toml")
    return tree_for(sf, plan_for_file(sf), lock_state(read_lock(dest)))


def main() -> int:
    with tempfile.TemporaryDirectory() as tmp:
        for name in example_names():
            out = GOLDEN / name
            shutil.rmtree(out, ignore_errors=True)
            for rel, data in render_example(name, Path(tmp)).items():
                (out / rel).parent.mkdir(parents=True, exist_ok=True)
                (out / rel).write_bytes(data)
            print(f"wrote {out.relative_to(HERE.parent)}")
    write_plans()
    return 0


def write_plans() -> None:
    import json

    from distillplan.commands._inputs import plan_for_file
    from distillplan.outputs.report import render
    from distillplan.spec.load import load_spec

    plans = GOLDEN / "plans"
    plans.mkdir(exist_ok=True)
    for name in example_names():
        plan = plan_for_file(load_spec(EXAMPLES / name))
        (plans / f"{name}.json").write_text(json.dumps(plan.to_json(), indent=2, sort_keys=True) + "\n")
        (plans / f"{name}.txt").write_text(render(plan, "text", color=False))
        print(f"wrote tests/golden/plans/{name}.json and .txt")


if __name__ == "__main__":
    sys.exit(main())
