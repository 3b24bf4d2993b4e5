"""The published reference points (``data/reference_points.toml``) and the model's figure
for each: the table docs/sizing.md shows and tests/test_reference_points.py bounds.

Each serving point is modelled with the engine settings it was measured with: one request
at a time (``load = "1"``: TTFT plus ``o - 1`` single-stream steps), a closed loop of C
requests (``load = "C"``), or a saturated replica (``load = "saturated"``, the capacity at
the KV / ``max_num_seqs`` cap). Training points are modelled with their own micro-batch,
sequence length, LoRA targets, checkpointing and what the figure measured.
"""

from __future__ import annotations

import functools
import math
import statistics
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from distillplan.catalogs.gpus import load_gpus
from distillplan.files import data_text, tomllib
from distillplan.sizing.architecture import Architecture, load_architecture
from distillplan.sizing.finetune import memory_breakdown
from distillplan.sizing.latency import Replica
from distillplan.sizing.serving import GIB, _kv_capacity_tokens, pod_replica, weight_bytes
from distillplan.spec.policy import SizingAssumptions
from distillplan.text import count

__all__ = [
    "BOUNDS",
    "GOAL_MEDIAN",
    "GOAL_WORST",
    "QUANTITIES",
    "Comparison",
    "compare_all",
    "held_out",
    "held_out_by_quantity",
    "load_points",
    "summary",
]

#: (low, high) of model / published for bounded points, by kind.
BOUNDS = {"serving": (0.8, 1.25), "weights": (0.97, 1.03), "training": (0.8, 1.2)}

#: Issue 22's goal for the held-out serving points: median and worst error factor.
GOAL_MEDIAN, GOAL_WORST = 1.10, 1.5

#: Metric -> the quantity its held-out error is reported under.
QUANTITY_OF = {
    "ttft_ms": "TTFT",
    "tpot_ms": "TPOT",
    "e2e_output_tokens_per_s": "throughput / capacity",
    "output_tokens_per_s": "throughput / capacity",
    "requests_per_s": "throughput / capacity",
    "precision_speedup": "quantized / bf16 throughput",
    "tp_speedup": "TP scaling",
    "weights_gib": "weights",
    "memory_gb": "training memory",
}
QUANTITIES = tuple(dict.fromkeys(QUANTITY_OF.values()))

_LLAMA_33_70B = Architecture(  # meta-llama/Llama-3.3-70B-Instruct config.json (= Llama-3.1-70B)
    name="meta-llama/Llama-3.3-70B-Instruct",
    model_type="llama",
    hidden_size=8192,
    num_hidden_layers=80,
    num_attention_heads=64,
    num_key_value_heads=8,
    head_dim=128,
    intermediate_size=28672,
    vocab_size=128256,
    tie_word_embeddings=False,
    qkv_bias=False,
    max_position_embeddings=131072,
    source="reference_points.toml",
)


# Qwen/Qwen3-8B and Qwen/Qwen3-14B are bundled students (their config.json, q/k norms included).
_INLINE = {a.name: a for a in (_LLAMA_33_70B,)}


@dataclass(frozen=True)
class Comparison:
    kind: str
    id: str
    point: dict[str, Any]
    model: float

    @property
    def ratio(self) -> float:
        return self.model / float(self.point["figure"])

    @property
    def bounded(self) -> bool:
        return bool(self.point["bounded"])

    @property
    def located(self) -> bool:
        """False for a point whose source is no publication one can open at a fixed place."""
        return bool(self.point.get("located", True))

    @property
    def quantity(self) -> str:
        """The quantity the held-out error is reported for (:data:`QUANTITIES`)."""
        return QUANTITY_OF[self.point["metric"]]

    @property
    def fit(self) -> bool:
        """True for a point that set a policy default (``role = "fit"``), false for a check."""
        return bool(self.point["role"] == "fit")

    @property
    def within(self) -> bool:
        low, high = BOUNDS[self.kind]
        return low <= self.ratio <= high


@functools.cache
def load_points() -> dict[str, list[dict[str, Any]]]:
    """The bundled reference points, by kind (serving, weights, training)."""
    data: dict[str, list[dict[str, Any]]] = tomllib.loads(data_text("reference_points.toml"))
    return data


@functools.cache
def _arch(name: str) -> Architecture:
    if name in _INLINE:
        return _INLINE[name]
    return load_architecture(name, base_dir=Path("."))


def _serving_replica(p: dict[str, Any], a: SizingAssumptions, tp: int) -> tuple[Replica, int]:
    arch, gpu = _arch(p["model"]), load_gpus()[p["gpu"]]
    i, o = int(p["input_tokens"]), int(p["output_tokens"])
    precision = p["precision"]
    load = p["load"]
    if load in ("saturated", "rate", "offline"):
        weights = weight_bytes(arch, precision, a)[0]
        _, kv_tokens = _kv_capacity_tokens(arch, gpu, weights, tp, a)
        running = min(a.max_num_seqs, kv_tokens // (i + o))
        if load == "offline":
            # A one-shot batch of n requests runs until its longest output (the max_tokens cap) is done:
            # over those steps the batch averages n x mean output / longest output requests.
            n, longest = int(p["offline_requests"]), int(p["output_tokens_max"])
            running = min(running, max(1, round(n * o / longest)))
    else:
        running = int(load)
    rep = pod_replica(
        arch,
        gpu,
        precision=precision,
        input_tokens=i,
        output_tokens=o,
        max_running=max(1, running),
        tensor_parallel_size=tp,
        assumptions=a,
    )
    return rep, running


def _serving(p: dict[str, Any], a: SizingAssumptions) -> float:
    a = a.model_copy(
        update={
            "max_num_batched_tokens": p.get("max_num_batched_tokens", a.max_num_batched_tokens),
            "max_num_seqs": p.get("max_num_seqs", a.max_num_seqs),
        }
    )
    tp, o = int(p["tensor_parallel_size"]), int(p["output_tokens"])
    rep, running = _serving_replica(p, a, tp)
    metric = p["metric"]
    if metric == "tp_speedup":  # saturated pod throughput at TP tp over the same at TP 1
        return rep.capacity / _serving_replica(p, a, 1)[0].capacity
    if metric == "precision_speedup":  # saturated throughput at the point's precision over bf16's
        return rep.capacity / _serving_replica({**p, "precision": "bf16"}, a, tp)[0].capacity
    if p["load"] == "rate":  # open loop, Poisson arrivals at request_rate
        lat = rep.at(float(p["request_rate"]))
        return lat.tpot_p50_ms if metric == "tpot_ms" else lat.ttft_p50_ms
    idle = rep.at(0.0)
    if metric == "tpot_ms":
        return idle.tpot_p50_ms
    if metric == "ttft_ms":
        return idle.ttft_p50_ms
    if metric == "e2e_output_tokens_per_s":
        return o / ((idle.ttft_p50_ms + (o - 1) * idle.tpot_p50_ms) / 1e3)
    if metric == "requests_per_s":
        return rep.capacity
    if p["load"] == "offline":  # every request runs in one batch: the capacity at that batch
        return rep.capacity * o
    rate, _ = rep.closed_loop(running)
    return rate * o  # output_tokens_per_s


def _training(p: dict[str, Any], a: SizingAssumptions) -> float:
    parts = memory_breakdown(
        _arch(p["model"]),
        p["method"],
        lora_rank=p["lora_rank"],
        micro_batch_size=p["micro_batch_size"],
        sequence_length=p["sequence_length"],
        gradient_checkpointing=p["gradient_checkpointing"],
        assumptions=a,
        lora_targets=p["lora_targets"],
        measured=p["measured"],
    )
    return sum(parts.values()) / 1e9


def compare_all(assumptions: SizingAssumptions | None = None) -> list[Comparison]:
    """Every reference point with the model's figure under ``assumptions`` (the defaults)."""
    a = assumptions or SizingAssumptions()
    out: list[Comparison] = []
    for kind, rows in load_points().items():
        for p in rows:
            if kind == "serving":
                model = _serving(p, a)
            elif kind == "weights":
                model = weight_bytes(_arch(p["model"]), p["precision"], a)[0] / GIB
            else:
                model = _training(p, a)
            out.append(Comparison(kind, p["id"], p, model))
    return out


def summary(rows: list[Comparison]) -> tuple[float, float]:
    """(median |log ratio|, worst |log ratio|) of ``rows``."""
    logs = [abs(math.log(r.ratio)) for r in rows]
    return statistics.median(logs), max(logs)


def held_out(rows: list[Comparison] | None = None, *, bounded_only: bool = False) -> list[Comparison]:
    """The held-out points: checks (``role = "check"``) with a located source; ``bounded_only``
    keeps the bounded ones (current engines, known shapes)."""
    rows = rows if rows is not None else compare_all()
    return [r for r in rows if not r.fit and r.located and (r.bounded or not bounded_only)]


def held_out_by_quantity(
    rows: list[Comparison] | None = None, *, bounded_only: bool = False
) -> dict[str, tuple[int, float, float]]:
    """Per quantity (TTFT, TPOT, throughput, TP scaling, ...) of the held-out points: (points,
    median error factor, worst error factor), a factor being ``exp(|log(model / published)|)``
    (1.10 = 10% off either way)."""
    chosen = held_out(rows, bounded_only=bounded_only)
    out: dict[str, tuple[int, float, float]] = {}
    for quantity in QUANTITIES:
        these = [r for r in chosen if r.quantity == quantity]
        if these:
            med, worst = summary(these)
            out[quantity] = (len(these), math.exp(med), math.exp(worst))
    return out


START = "<!-- reference-points:start (generated: python -m distillplan.sizing.calibration docs/sizing.md) -->"
END = "<!-- reference-points:end -->"

_METRIC = {
    "e2e_output_tokens_per_s": "output tok/s, one request at a time",
    "output_tokens_per_s": "output tok/s",
    "requests_per_s": "requests/s",
    "tpot_ms": "TPOT p50, ms",
    "ttft_ms": "TTFT p50, ms",
    "tp_speedup": "pod throughput / TP 1",
    "precision_speedup": "throughput / bf16's",
    "weights_gib": "weights, GiB",
    "memory_gb": "peak memory, GB",
}


def _shape(c: Comparison) -> str:
    p = c.point
    if c.kind == "serving":
        load = {"saturated": "saturated", "rate": f"{p.get('request_rate', 0):g} req/s"}.get(
            p["load"], f"concurrency {p['load']}"
        )
        return f"{p['input_tokens']:,} in / {p['output_tokens']:,} out, {load}, TP {p['tensor_parallel_size']}"
    if c.kind == "training":
        ckpt = "checkpointing" if p["gradient_checkpointing"] else "no checkpointing"
        return (
            f"{p['method']} r{p['lora_rank']} ({p['lora_targets']}), {p['micro_batch_size']} x "
            f"{count(p['sequence_length'], 'token')}, {ckpt}, {p['measured']}"
        )
    return "-"


def reference_table(rows: list[Comparison] | None = None) -> str:
    """docs/sizing.md's reference-point table (Markdown): every point, its ratio and status."""
    from distillplan.text import md_table, md_text

    rows = rows if rows is not None else compare_all()
    head = [
        "point",
        "engine",
        "GPU",
        "model",
        "precision / method",
        "shape",
        "metric",
        "published",
        "model",
        "ratio",
        "set",
    ]
    body = []
    for c in rows:
        p = c.point
        status = f"fit ({p['fits']})" if c.fit else "held out"
        if not c.bounded:
            status += ", unbounded"
        if not c.located:
            status += ", unlocated"
        body.append(
            [
                md_text(c.id),
                md_text(p["engine"]),
                md_text(p.get("gpu", "-")),
                md_text(p["model"]),
                md_text(p.get("quantization", p.get("precision", p.get("method", "")))),
                md_text(_shape(c)),
                md_text(_METRIC[p["metric"]]),
                f"{float(p['figure']):,.2f}",
                f"{c.model:,.2f}",
                f"{c.ratio:.2f}",
                md_text(status),
            ]
        )
    lines = md_table(head, body, right=(7, 8, 9))
    sets = []
    for label, chosen in (
        ("fitting set", [c for c in rows if c.fit]),
        ("held out, bounded", [c for c in rows if not c.fit and c.bounded]),
        ("unbounded", [c for c in rows if not c.bounded]),
    ):
        if chosen:
            med, worst = summary(chosen)
            sets.append(f"- {label}: {count(len(chosen), 'point')}, median |log ratio| {med:.3f}, worst {worst:.3f}")
    sets.append("")
    sets.append(held_out_report(rows, markdown=True))
    return "\n".join([*lines, *sets]) + "\n"


def update(readme: Path) -> bool:
    """Rewrite the generated block of ``readme``; True when it changed."""
    text = readme.read_text(encoding="utf-8")
    head, _, rest = text.partition(START)
    _, _, tail = rest.partition(END)
    new = f"{head}{START}\n{reference_table()}{END}{tail}"
    if new != text:
        readme.write_text(new, encoding="utf-8")
    return new != text


def held_out_report(rows: list[Comparison] | None = None, *, markdown: bool = False) -> str:
    """The held-out error per quantity, over the bounded checks (current engines, known shapes)
    and over every located check; factor = exp(|log(model / published)|)."""
    rows = rows if rows is not None else compare_all()
    lines: list[str] = []
    for label, bounded_only in (("bounded checks", True), ("all located checks", False)):
        lines.append(f"Held-out error, {label} (median / worst factor):")
        for q, (n, med, worst) in held_out_by_quantity(rows, bounded_only=bounded_only).items():
            lines.append(f"{'- ' if markdown else '  '}{q}: {count(n, 'point')}, median x{med:.3f}, worst x{worst:.3f}")
        med, worst = summary(held_out(rows, bounded_only=bounded_only))
        n = len(held_out(rows, bounded_only=bounded_only))
        bullet = "- " if markdown else "  "
        lines.append(f"{bullet}all: {count(n, 'point')}, median x{math.exp(med):.3f}, worst x{math.exp(worst):.3f}")
        if markdown:
            lines.append("")
    return "\n".join(lines).rstrip("\n")


if __name__ == "__main__":
    import sys

    if sys.argv[1:] == ["--held-out"]:
        print(held_out_report())
    else:
        print("updated" if update(Path(sys.argv[1] if len(sys.argv) > 1 else "docs/sizing.md")) else "up to date")
