"""A100 sizing from the student's real architecture: serving (vLLM), GPUs, weights.

Pure functions; the only I/O is the bundled GPU catalog (``data/gpus.toml``). Every number
that is a judgement rather than a fact lives in ``SizingAssumptions`` (the policy's
``[policy.sizing]`` table), with its default and a one-line reason. Fine-tuning is sized in
:mod:`distillplan.sizing.finetune`.

Serving is a stated roofline plus a queueing model (P7), in
:mod:`distillplan.sizing.latency`: every vLLM step reads all weights once at the
precision's decode-bandwidth efficiency, plus the KV of every running request, plus the
linear-layer and attention compute of the tokens in the step at the precision's
prefill-compute efficiency (weight-only int8/int4 dequantise to bf16 for the matmuls, so
the bf16 peak is the roof for every precision; lower precision buys bandwidth and
memory, at a lower achieved fraction of it). Capacity is the request rate at which the
running batch reaches the concurrency cap; TTFT and TPOT percentiles come from the
queueing model at the planned load per replica.

Replicas: the larger of ``ceil(peak / (capacity x target_utilization))`` (throughput) and
the fewest replicas whose p95 TTFT and p95 TPOT at ``peak / replicas`` meet the
workload's latency target (latency); the plan says which binds.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

from distillplan.catalogs.gpus import Gpu, load_gpus
from distillplan.sizing.architecture import (
    Architecture,
    expert_parameter_count,
    experts_read_share,
    kv_elements_per_token,
    mlp_shapes,
    parameter_count,
)
from distillplan.sizing.latency import Replica, cached_prefix_tokens, replica
from distillplan.sizing.replicas import latency_note, meets, replicas_for_latency
from distillplan.spec.policy import SizingAssumptions
from distillplan.spec.registry import PRECISION_FORMATS, Precision
from distillplan.text import count

GIB = 1024**3
TP_CHOICES = (1, 2, 4, 8)


def eval_generation_budget(input_tokens: int, output_tokens: int, context: int) -> int:
    """Tokens the eval lets the student generate per request (eval.yaml's ``max_gen_toks``):
    room for the longest answer, twice the average output (at least 16), less where the prompt
    plus that would pass ``context`` (the base's context, or the planned ``max_model_len``),
    never below the output itself. The one source of the number: ``max_model_len``
    (vllm.yaml) holds the prompt plus this budget, else vLLM refuses the eval's requests."""
    wanted = max(16, 2 * output_tokens)
    return max(output_tokens, min(wanted, context - input_tokens))


__all__ = [
    "Gpu",
    "ServingSizing",
    "SizingAssumptions",
    "eval_generation_budget",
    "kv_bytes_per_token",
    "linear_shapes",
    "load_gpus",
    "pod_replica",
    "pod_throughput",
    "size_serving",
    "step_weight_bytes",
    "weight_bytes",
]


@dataclass(frozen=True)
class ServingSizing:
    gpu: str
    precision: Precision
    parameters: int
    weights_gib: float
    weight_bytes_note: str
    kv_bytes_per_token: int
    kv_cache_gib: float
    max_model_len: int
    max_concurrent_sequences: int
    fits: bool
    fit_reason: str
    tensor_parallel_size: int
    requests_per_second_per_gpu: float
    output_tokens_per_second_per_gpu: float
    bound: Literal["compute", "memory"]
    replicas: int
    gpus_total: int
    peak_requests_per_second: float
    p71_holds: bool
    p71_note: str
    vllm_max_num_seqs: int
    vllm_max_num_batched_tokens: int
    prefix_cached_tokens: int
    replicas_for_throughput: int
    replicas_for_latency: int | None
    replicas_bound: Literal["throughput", "latency", "pinned"]
    latency_target_p95_ttft_ms: float | None
    latency_target_p95_tpot_ms: float | None
    latency_target_met: bool | None
    ttft_p50_ms: float | None
    ttft_p95_ms: float | None
    tpot_p50_ms: float | None
    tpot_p95_ms: float | None
    latency_note: str


def linear_shapes(arch: Architecture) -> list[tuple[int, int]]:
    """(in_features, out_features) of the linear layers of one decoder layer: q, k, v, o, then
    the MLP's gate, up, down (those of every expert for a mixture of experts)."""
    d, q, kv = arch.hidden_size, arch.num_attention_heads * arch.head_dim, arch.num_key_value_heads * arch.head_dim
    return [(d, q), (d, kv), (d, kv), (q, d), *mlp_shapes(arch)]


def weight_bytes(arch: Architecture, precision: Precision, a: SizingAssumptions) -> tuple[int, str]:
    """Bytes of weights at ``precision`` and a one-line breakdown.

    Linear layers take 2 / 1 / 0.5 bytes per weight plus their scales (int8: one per output
    channel; int4: scale + zero per group); embeddings, lm_head, norms and biases stay 16-bit."""
    shapes = linear_shapes(arch)
    linear = arch.num_hidden_layers * sum(i * o for i, o in shapes)
    other = parameter_count(arch) - linear
    fmt = PRECISION_FORMATS[precision]
    lin_bytes = math.ceil(linear * fmt.bits_per_weight / 8)
    if fmt.scales == "per-channel":
        scales = arch.num_hidden_layers * sum(o for _, o in shapes) * a.int8_scale_bytes_per_channel
    elif fmt.scales == "per-group":
        groups = arch.num_hidden_layers * sum(math.ceil(i / a.int4_group_size) * o for i, o in shapes)
        scales = groups * a.int4_group_overhead_bytes
    else:
        scales = 0
    total = lin_bytes + scales + 2 * other
    if arch.is_moe:
        moe = f" ({arch.num_experts} experts a layer, {arch.experts_per_token} routed per token)"
    else:
        moe = ""
    note = (
        f"{linear / 1e9:.2f}B linear weights at {precision} = {lin_bytes / GIB:.2f} GiB"
        f" + scales {scales / GIB:.2f} GiB + {other / 1e9:.2f}B embedding/lm_head/norm"
        f" parameters at 16-bit = {2 * other / GIB:.2f} GiB{moe}"
    )
    return total, note


def step_weight_bytes(arch: Architecture, precision: Precision, a: SizingAssumptions, tokens: int) -> int:
    """Weight bytes one engine step of ``tokens`` tokens reads: all weights for a dense model; for
    a mixture of experts, the non-expert weights plus the experts' bytes times the share the
    tokens route to (:func:`~distillplan.sizing.architecture.experts_read_share`)."""
    total = weight_bytes(arch, precision, a)[0]
    if not arch.is_moe:
        return total
    linear = arch.num_hidden_layers * sum(i * o for i, o in linear_shapes(arch))
    experts = expert_parameter_count(arch)
    linear_bytes = total - 2 * (parameter_count(arch) - linear)  # the linear weights with their scales
    expert_bytes = linear_bytes * experts / linear
    return math.ceil(total - expert_bytes * (1.0 - experts_read_share(arch, tokens)))


def kv_bytes_per_token(arch: Architecture, a: SizingAssumptions | None = None, context: int | None = None) -> int:
    """KV cache bytes per token: 2 (K and V) x layers x KV heads x head_dim x element bytes,
    averaged over a sequence of ``context`` tokens when some layers keep a sliding window only
    (:func:`~distillplan.sizing.architecture.kv_elements_per_token`; None: every layer full)."""
    element = (a or SizingAssumptions()).kv_cache_bytes_per_element
    return math.ceil(kv_elements_per_token(arch, context) * element)


def pod_replica(
    arch: Architecture,
    gpu: Gpu,
    *,
    precision: Precision,
    input_tokens: int,
    output_tokens: int,
    max_running: int,
    tensor_parallel_size: int,
    assumptions: SizingAssumptions,
    cached_tokens: int = 0,
) -> Replica:
    """The latency model's constants for one pod (:mod:`distillplan.sizing.latency`)."""
    return replica(
        arch,
        gpu,
        precision=precision,
        # a saturated step: its decodes and the prompt tokens of max_running / output_tokens requests
        weight_bytes=step_weight_bytes(
            arch, precision, assumptions, math.ceil(max_running * (1 + (input_tokens - cached_tokens) / output_tokens))
        ),
        kv_bytes_per_token=kv_bytes_per_token(arch, assumptions, input_tokens + output_tokens),
        input_tokens=input_tokens,
        output_tokens=output_tokens,
        tensor_parallel_size=tensor_parallel_size,
        max_running=max_running,
        assumptions=assumptions,
        cached_tokens=cached_tokens,
    )


def pod_throughput(
    arch: Architecture,
    gpu: Gpu,
    *,
    precision: Precision,
    input_tokens: int,
    output_tokens: int,
    batch: int,
    tensor_parallel_size: int,
    assumptions: SizingAssumptions,
    cached_tokens: int = 0,
) -> tuple[float, Literal["compute", "memory"]]:
    """(requests/s, bound) of one pod whose running batch is capped at ``batch``.

    ``compute`` when the tokens' compute outweighs the weight and KV reads per request."""
    r = pod_replica(
        arch,
        gpu,
        precision=precision,
        input_tokens=input_tokens,
        output_tokens=output_tokens,
        max_running=batch,
        tensor_parallel_size=tensor_parallel_size,
        assumptions=assumptions,
        cached_tokens=cached_tokens,
    )
    b, o = r.max_running, output_tokens
    memory = r.a0_s + b * r.m_seq_s  # the saturated step's reads ...
    compute = b * (r.dec_s * o + r.prompt_s) / o  # ... and its compute
    return r.capacity, "compute" if compute >= memory else "memory"


def _kv_capacity_tokens(
    arch: Architecture, gpu: Gpu, weights: int, tp: int, a: SizingAssumptions, context: int | None = None
) -> tuple[float, int]:
    """(KV GiB per GPU, KV tokens per pod) for sequences of ``context`` tokens (None: every layer
    full). KV heads split across GPUs (replicated if fewer)."""
    kv_gib = gpu.memory_gib * a.gpu_memory_utilization - weights / tp / GIB - a.activation_reserve_gib
    per_token = kv_bytes_per_token(arch, a, context)
    per_gpu_token = per_token * math.ceil(arch.num_key_value_heads / tp) // arch.num_key_value_heads
    return kv_gib, max(0, math.floor(kv_gib * GIB / per_gpu_token)) if kv_gib > 0 else 0


def _p71_note(
    rps_per_gpu: float,
    arch: Architecture,
    precision: Precision,
    input_tokens: int,
    output_tokens: int,
    band: tuple[float, float],
) -> tuple[bool, str]:
    shape = f"{input_tokens:,} input + {count(output_tokens, 'output token')}"
    low, high = band
    where = "below" if rps_per_gpu < low else "within" if rps_per_gpu <= high else "above"
    holds = rps_per_gpu >= low
    verdict = "holds" if holds else "does not hold"
    return holds, (
        f"P7.1 (one A100 serves a 13B student at {low:g}-{high:g} requests/second) {verdict} "
        f"here: {arch.name} at {precision} does about {rps_per_gpu:.1f} requests/s "
        f"per GPU for {shape}, {where} that range."
    )


@dataclass(frozen=True)
class _Layout:
    """Where a replica's weights and KV go: the tensor-parallel size and the KV it leaves."""

    max_model_len: int
    too_long: bool
    kv_floor: int
    tp: int
    kv_gib: float
    kv_tokens: int
    fits: bool


def _layout(
    arch: Architecture, gpu: Gpu, weights: int, a: SizingAssumptions, input_tokens: int, output_tokens: int
) -> _Layout:
    """The smallest tensor-parallel size whose KV holds ``min_concurrent_sequences`` requests of
    ``max_model_len`` tokens (or ``min_kv_cache_tokens`` when fewer, and one request); the largest
    when none does (``fits`` False)."""
    request_len = input_tokens + output_tokens
    longest = input_tokens + eval_generation_budget(input_tokens, output_tokens, arch.max_position_embeddings)
    mult = a.max_model_len_multiple
    max_model_len = min(math.ceil(longest / mult) * mult, arch.max_position_embeddings)
    too_long = request_len > arch.max_position_embeddings
    tp_sizes = [t for t in TP_CHOICES if arch.num_attention_heads % t == 0]
    kv_floor = max(max_model_len, min(max_model_len * a.min_concurrent_sequences, a.min_kv_cache_tokens))
    for tp in tp_sizes:
        kv_gib, kv_tokens = _kv_capacity_tokens(arch, gpu, weights, tp, a, request_len)
        if not too_long and kv_tokens >= kv_floor:
            return _Layout(max_model_len, too_long, kv_floor, tp, kv_gib, kv_tokens, True)
    kv_gib, kv_tokens = _kv_capacity_tokens(arch, gpu, weights, tp_sizes[-1], a, request_len)
    return _Layout(max_model_len, too_long, kv_floor, tp_sizes[-1], kv_gib, kv_tokens, False)


def _fit_reason(
    arch: Architecture,
    gpu: Gpu,
    precision: Precision,
    weights: int,
    a: SizingAssumptions,
    lay: _Layout,
    request_len: int,
    concurrent: int,
) -> str:
    """Why the layout is what it is, in one sentence a platform engineer can act on."""
    if lay.too_long:
        return (
            f"a request of {count(request_len, 'token')} exceeds {arch.name}'s context of "
            f"{count(arch.max_position_embeddings, 'token')}; shorten inputs or pick a longer-context base"
        )
    if lay.fits and lay.tp == 1:
        return (
            f"fits on one {gpu.name}: {weights / GIB:.1f} GiB weights, {lay.kv_gib:.1f} GiB KV "
            f"cache for {count(lay.kv_tokens, 'token')} ({concurrent:,} concurrent requests)"
        )
    if lay.fits:
        one_gpu_kv, _ = _kv_capacity_tokens(arch, gpu, weights, 1, a, request_len)
        return (
            f"does not fit on one {gpu.name}: {weights / GIB:.1f} GiB weights leave "
            f"{max(one_gpu_kv, 0.0):.1f} GiB for KV, under {count(lay.kv_floor, 'token')} "
            f"({count(a.min_concurrent_sequences, 'request')} of {count(lay.max_model_len, 'token')}, at most "
            f"{a.min_kv_cache_tokens:,}); tensor parallelism over {count(lay.tp, 'GPU')} fits, "
            f"and a lower precision (int8/int4) or a bigger GPU may fit on one"
        )
    return (
        f"does not fit even on {lay.tp} x {gpu.name} at {precision} ({weights / GIB:.1f} GiB "
        f"weights, KV for {count(lay.kv_floor, 'token')}); use "
        f"a lower precision (int8/int4), a bigger GPU, shorter requests or a smaller base"
    )


def _ms(x: float | None) -> float | None:
    return x if x is not None and math.isfinite(x) else None


def _replicas(
    rep: Replica,
    pod_rps: float,
    peak: float,
    utilization: float,
    latency_target: tuple[float | None, float | None],
    *,
    pin: int | None,
    fits: bool,
) -> tuple[int, Literal["throughput", "latency", "pinned"], int, int | None]:
    """(replicas, what binds, replicas for throughput, replicas for the latency target or None):
    a pin wins, else the larger of the throughput count at ``utilization`` and the latency count."""
    thr = max(1, math.ceil(peak / (pod_rps * utilization))) if pod_rps > 0 else 1
    ttft_target, tpot_target = latency_target
    has_target = ttft_target is not None or tpot_target is not None
    lat_replicas = replicas_for_latency(rep, peak, ttft_target, tpot_target) if has_target and fits else None
    if pin is not None:
        return max(1, pin), "pinned", thr, lat_replicas
    if lat_replicas is not None and lat_replicas > thr:
        return lat_replicas, "latency", thr, lat_replicas
    return thr, "throughput", thr, lat_replicas


def size_serving(
    arch: Architecture,
    gpu: Gpu,
    *,
    precision: Precision,
    input_tokens: int,
    output_tokens: int,
    peak_requests_per_second: float,
    assumptions: SizingAssumptions,
    p71_band: tuple[float, float] = (60.0, 200.0),
    replicas_pin: int | None = None,
    latency_target: tuple[float | None, float | None] = (None, None),
    prefix_cache_share: float = 0.0,
) -> ServingSizing:
    """Size vLLM serving for a request shape and peak load (P7).

    Picks the smallest tensor-parallel size in 1, 2, 4, 8 (dividing the attention heads)
    whose per-GPU memory holds the weights and KV for ``min_concurrent_sequences``
    requests of ``max_model_len`` tokens; concurrency is KV tokens / (input + output),
    capped at ``max_num_seqs``; replicas as in the module docstring, ``latency_target`` =
    (p95 TTFT ms, p95 TPOT ms), either None; ``prefix_cache_share`` of the input is a shared
    prefix that vLLM's prefix cache serves (:func:`~distillplan.sizing.latency.cached_prefix_tokens`)."""
    a = assumptions
    if input_tokens < 1 or output_tokens < 1 or peak_requests_per_second < 0:
        raise ValueError("input_tokens and output_tokens must be >= 1 and peak load >= 0")
    weights, note = weight_bytes(arch, precision, a)
    request_len = input_tokens + output_tokens
    lay = _layout(arch, gpu, weights, a, input_tokens, output_tokens)
    tp, kv_gib, kv_tokens, fits, max_model_len = lay.tp, lay.kv_gib, lay.kv_tokens, lay.fits, lay.max_model_len
    concurrent = min(a.max_num_seqs, kv_tokens // request_len)
    reason = _fit_reason(arch, gpu, precision, weights, a, lay, request_len, concurrent)
    batch = max(concurrent, 1)
    cached = cached_prefix_tokens(input_tokens, prefix_cache_share)
    rep = pod_replica(
        arch,
        gpu,
        precision=precision,
        input_tokens=input_tokens,
        output_tokens=output_tokens,
        max_running=batch,
        tensor_parallel_size=tp,
        assumptions=a,
        cached_tokens=cached,
    )
    pod_rps, bound = pod_throughput(
        arch,
        gpu,
        precision=precision,
        input_tokens=input_tokens,
        output_tokens=output_tokens,
        batch=batch,
        tensor_parallel_size=tp,
        assumptions=a,
        cached_tokens=cached,
    )
    if not fits:
        pod_rps = 0.0
    peak = peak_requests_per_second
    ttft_target, tpot_target = latency_target
    has_target = ttft_target is not None or tpot_target is not None
    replicas, binds, thr, lat_replicas = _replicas(
        rep, pod_rps, peak, a.target_utilization, latency_target, pin=replicas_pin, fits=fits
    )
    at_load = rep.at(peak / replicas) if fits else None
    met = None
    if has_target and at_load is not None:
        met = meets(at_load, ttft_target, tpot_target)
    lat_note = latency_note(rep, at_load, replicas, thr, lat_replicas, binds, ttft_target, tpot_target, met)

    rps_gpu = pod_rps / tp
    holds, p71 = _p71_note(rps_gpu, arch, precision, input_tokens, output_tokens, p71_band)
    return ServingSizing(
        gpu=gpu.key,
        precision=precision,
        parameters=parameter_count(arch),
        weights_gib=weights / GIB,
        weight_bytes_note=note,
        kv_bytes_per_token=kv_bytes_per_token(arch, a, request_len),
        kv_cache_gib=max(kv_gib, 0.0),
        max_model_len=max_model_len,
        max_concurrent_sequences=concurrent,
        fits=fits,
        fit_reason=reason,
        tensor_parallel_size=tp,
        requests_per_second_per_gpu=rps_gpu,
        output_tokens_per_second_per_gpu=rps_gpu * output_tokens,
        bound=bound,
        replicas=replicas,
        gpus_total=replicas * tp,
        peak_requests_per_second=peak_requests_per_second,
        p71_holds=holds and fits,
        p71_note=p71 if fits else f"P7.1 does not hold: the model does not fit ({reason}).",
        vllm_max_num_seqs=batch,
        vllm_max_num_batched_tokens=a.max_num_batched_tokens,
        prefix_cached_tokens=cached,
        replicas_for_throughput=thr,
        replicas_for_latency=lat_replicas,
        replicas_bound=binds,
        latency_target_p95_ttft_ms=ttft_target,
        latency_target_p95_tpot_ms=tpot_target,
        latency_target_met=met,
        ttft_p50_ms=_ms(at_load.ttft_p50_ms) if at_load else None,
        ttft_p95_ms=_ms(at_load.ttft_p95_ms) if at_load else None,
        tpot_p50_ms=_ms(at_load.tpot_p50_ms) if at_load else None,
        tpot_p95_ms=_ms(at_load.tpot_p95_ms) if at_load else None,
        latency_note=lat_note,
    )
