"""One registry per concept: a P4 project line, a GPU, a precision, a method and a metric are
each defined once, and everything else follows from that one definition."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

from distillplan.catalogs.gpus import gpu_names, load_gpus
from distillplan.evalset.metrics import METRICS as METRIC_FUNCTIONS
from distillplan.spec.models import BudgetOverrides
from distillplan.spec.policy import Policy
from distillplan.spec.registry import METHODS, METRICS, PRECISION_FORMATS, PRECISIONS, PROJECT_LINE_NAMES, PROJECT_LINES

ROOT = Path(__file__).resolve().parents[1]


def test_project_lines_drive_overrides_bands_and_docs() -> None:
    assert tuple(BudgetOverrides.model_fields) == PROJECT_LINE_NAMES
    bands = Policy().project_bands_usd
    assert {n: getattr(bands, n) for n in PROJECT_LINE_NAMES} == {ln.name: ln.band_usd for ln in PROJECT_LINES}
    docs = (ROOT / "docs" / "plan-json.md").read_text()
    row = next(r for r in docs.splitlines() if r.startswith("| `costs.project_lines[].name`"))
    assert tuple(n.strip("`, ") for n in row.split("|")[4].split(", ")) == PROJECT_LINE_NAMES


def test_p4_total_band_is_the_sum_of_the_lines() -> None:
    """P4.1: 35,000-120,000 are the column sums."""
    assert sum(ln.band_usd[0] for ln in PROJECT_LINES) == 35_000
    assert sum(ln.band_usd[1] for ln in PROJECT_LINES) == 120_000


def test_metrics_precisions_and_methods_are_one_set_each() -> None:
    assert set(METRIC_FUNCTIONS) == set(METRICS)
    assert PRECISIONS == ("bf16", "int8", "int4") and METHODS == ("full", "lora", "qlora")
    assert tuple(PRECISION_FORMATS) == PRECISIONS


def test_hardware_gpu_accepts_exactly_the_catalog() -> None:
    from distillplan.spec.models import Hardware

    for name in gpu_names():
        assert Hardware(gpu=name).gpu == name
    assert set(gpu_names()) == set(load_gpus())


def _run(code: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True, check=False)


def test_a_new_project_line_is_one_registry_entry() -> None:
    """Append one line to the registry before anything else loads: the spec accepts its
    override, the policy has its band, and the plan bills it."""
    proc = _run(
        f"""
        from distillplan.spec import registry as r
        r.PROJECT_LINES = (*r.PROJECT_LINES, r.ProjectLineDef("red_team", "Red-team reserve", (5000.0, 9000.0), "P9.3"))
        r.PROJECT_LINE_NAMES = tuple(x.name for x in r.PROJECT_LINES)
        from distillplan.spec.load import parse_spec
        from distillplan.commands._inputs import plan_for_file
        from distillplan.spec.load import load_spec
        sf = load_spec({str(ROOT / "examples" / "invoice-extraction")!r})
        text = sf.path.read_text().replace("[budget]", "[budget.override_usd]\\nred_team = 7000\\n\\n[budget]", 1)
        spec = parse_spec(text.encode(), display="x", base_dir=sf.dir)
        assert spec.budget.override_usd.red_team == 7000
        from dataclasses import replace
        lines = {{ln.name: ln for ln in plan_for_file(replace(sf, spec=spec)).costs.project_lines}}
        print(lines["red_team"].usd, lines["red_team"].label, lines["red_team"].low_usd)
        """
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == ["7000.0", "Red-team", "reserve", "5000.0"]


def test_a_new_gpu_is_one_catalog_row() -> None:
    proc = _run(
        """
        import functools
        from distillplan.catalogs import gpus
        rows = dict(gpus.load_gpus())
        rows["l40s-48gb"] = gpus.Gpu(**{**rows["a100-40gb"].__dict__, "key": "l40s-48gb", "name": "L40S 48GB"})
        gpus.load_gpus = functools.cache(lambda: rows)
        from distillplan.spec.models import Hardware
        print(Hardware(gpu="l40s-48gb").gpu)
        """
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "l40s-48gb"
