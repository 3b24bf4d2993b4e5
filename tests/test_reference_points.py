"""Every published reference point (data/reference_points.toml) against the model, and the
table in docs/sizing.md generated from the same comparison."""

from __future__ import annotations

import math
import statistics
from pathlib import Path

import pytest

from distillplan.sizing.calibration import (
    BOUNDS,
    END,
    GOAL_MEDIAN,
    GOAL_WORST,
    START,
    compare_all,
    held_out,
    load_points,
    reference_table,
)

ROOT = Path(__file__).resolve().parent.parent
ROWS = compare_all()


#: Bounded serving checks the model misses by more than the goal's x1.5, and why (docs/sizing.md).
#: test_known_misses_are_still_missed fails when one comes within the goal: then drop it here.
KNOWN_MISSES = {
    "gpustack-qwen3-8b-h100-c4-ttft": (
        "TTFT measured by the client through vLLM 0.11's HTTP chat endpoint (60 ms; SGLang 27 ms on the same"
        " run): the model is x0.26, it leaves out the API server's tokenising, chat template and HTTP time"
        " (first_token_overhead_ms is fitted in-process)"
    ),
    "gpustack-qwen3-14b-h100-128-burst": (
        "1,000 requests of 128 in / 4 out sent at once to vLLM 0.11's HTTP server on an H100: the model is"
        " x2.6 fast. The same run on an A100 does 37 requests/s to the H100's 44 against 3x the compute:"
        " per-request server work (HTTP, chat template, tokenising) binds, which the model leaves out"
    ),
}


@pytest.mark.parametrize("row", [r for r in ROWS if r.bounded and r.id not in KNOWN_MISSES], ids=lambda r: r.id)
def test_bounded_point_within_its_bound(row) -> None:  # type: ignore[no-untyped-def]
    """Weights and training within their bounds; a bounded serving point within the issue's worst
    factor (x1.5 either way), the median over them is held by test_held_out_error_is_reported_per_quantity."""
    low, high = (1 / GOAL_WORST, GOAL_WORST) if row.kind == "serving" else BOUNDS[row.kind]
    print(f"{row.id}: model {row.model:.3f} / published {row.point['figure']} = {row.ratio:.3f}")
    assert low <= row.ratio <= high


def test_known_misses_are_still_missed() -> None:
    rows = {r.id: r for r in ROWS}
    for pid in KNOWN_MISSES:
        row = rows[pid]
        assert row.bounded and not row.fit and abs(math.log(row.ratio)) > math.log(GOAL_WORST), pid


def test_every_point_is_compared_and_cites_its_source() -> None:
    points = load_points()
    assert sum(len(v) for v in points.values()) == len(ROWS) >= 40
    for r in ROWS:
        p = r.point
        assert p["source"] and p["engine"] and p["released"], r.id
        assert math.isfinite(r.model) and r.model > 0, r.id
        if r.located:  # a located point names a publication one can open: a URL
            assert p["source"].startswith("https://"), r.id
        assert "distillplan issue" not in p["source"], f"{r.id}: quoted from an issue's text, not a publication"
    assert len({r.id for r in ROWS}) == len(ROWS)


def test_held_out_points_are_located_checks_only() -> None:
    chosen = held_out(ROWS)
    assert chosen and all(not r.fit and r.located for r in chosen)
    assert not any(r.point.get("located", True) is False for r in chosen)
    unlocated = [r for r in ROWS if not r.located]
    assert unlocated and not set(map(id, unlocated)) & set(map(id, chosen))


def test_bounded_serving_points_are_2024_to_2026_vllm() -> None:
    """The issue's bound applies to vLLM releases from 2024-2026; anything older is unbounded."""
    for r in ROWS:
        if r.kind == "serving" and r.bounded:
            assert r.point["engine"].startswith("vLLM") and r.point["released"][:4] in {"2024", "2025", "2026"}, r.id
    old = [r for r in ROWS if r.point["released"][:4] < "2024"]
    assert old and not any(r.bounded for r in old if r.kind == "serving")


def test_fitting_and_held_out_sets_both_exist_per_kind() -> None:
    for kind in ("serving", "training"):
        rows = [r for r in ROWS if r.kind == kind and r.bounded]
        assert any(r.fit for r in rows) and any(not r.fit for r in rows), kind


def test_quantized_decode_is_no_longer_optimistic() -> None:
    """The issue: int8 decode was 1.23-1.39x and int4 1.41-1.66x the Qwen2.5 figures. With the
    per-precision efficiencies every Qwen2.5 batch-1 point is within 0.8-1.25."""
    qwen = [r for r in ROWS if r.id.startswith("qwen25-") and r.point["precision"] != "bf16"]
    assert len(qwen) == 24 and all(0.8 <= r.ratio <= 1.25 for r in qwen)


def test_docs_table_is_generated_from_the_comparison() -> None:
    text = (ROOT / "docs" / "sizing.md").read_text(encoding="utf-8")
    assert text.count("<!-- reference-points:start") == text.count(END) == 1
    block = text.split(START, 1)[1].split(END, 1)[0]
    assert block == "\n" + reference_table(ROWS)
    for r in ROWS:
        assert f"| {r.ratio:.2f} |" in block


SETUP = (
    *("source", "gpu", "model", "precision", "quantization", "input_tokens", "output_tokens", "load"),
    *("request_rate", "tensor_parallel_size", "metric", "method", "lora_rank", "micro_batch_size"),
    *("table", "offline_requests"),
)


def test_every_point_is_a_fit_or_a_check_never_both() -> None:
    """role = "fit" names the policy default it set (`fits`, a [policy.sizing] field); a check
    sets nothing. The same measurement (source, setup, metric) is never both, and the held-out
    figures are computed over checks only."""
    from distillplan.catalogs.gpus import load_gpus
    from distillplan.spec.policy import SizingAssumptions

    seen: dict[tuple[object, ...], str] = {}
    for r in ROWS:
        p = r.point
        assert p["role"] in ("fit", "check") and "fit" not in p, r.id
        assert ("fits" in p) == (p["role"] == "fit"), r.id
        if "fits" in p:  # a [policy.sizing] field, or "<gpu>.<field>" of data/gpus.toml
            gpu, _, field = p["fits"].rpartition(".")
            if gpu:
                assert gpu in load_gpus() and hasattr(load_gpus()[gpu], field), r.id
            else:
                assert field in SizingAssumptions.model_fields, r.id
        key = tuple(p.get(k) for k in SETUP)
        assert seen.setdefault(key, p["role"]) == p["role"], f"{r.id}: the same measurement as a fit and a check"
    assert any(r.fit for r in ROWS) and any(not r.fit for r in ROWS)


def test_held_out_error_is_reported_per_quantity() -> None:
    """docs/sizing.md's held-out error per quantity (median and worst factor over the located
    check points), and the issue's goal over the bounded serving checks."""
    from distillplan.sizing.calibration import QUANTITIES, held_out_by_quantity, held_out_report

    figures = held_out_by_quantity(ROWS)
    report = held_out_report(ROWS)
    assert "bounded checks" in report and "all located checks" in report
    assert sum(n for n, _, _ in figures.values()) == len(held_out(ROWS))
    assert set(figures) <= set(QUANTITIES) and {"TTFT", "TPOT", "TP scaling"} <= set(figures)
    for _, med, worst in figures.values():
        assert 1 <= med <= worst
    bounded = sorted(abs(math.log(r.ratio)) for r in held_out(ROWS, bounded_only=True) if r.kind == "serving")
    assert len(bounded) >= 15
    assert statistics.median(bounded) <= math.log(GOAL_MEDIAN)
    # The worst is within the goal but for the KNOWN_MISSES (reported in docs/sizing.md):
    assert max(
        abs(math.log(r.ratio)) for r in held_out(ROWS, bounded_only=True) if r.id not in KNOWN_MISSES
    ) <= math.log(GOAL_WORST)
