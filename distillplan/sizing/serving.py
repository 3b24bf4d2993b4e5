"""A100 sizing from the student's real architecture: serving (vLLM), GPUs, weights.

Pure functions; the only I/O is the bundled GPU catalog (``data/gpus.toml``). Every number
that is a judgement rather than a fact lives in ``SizingAssumptions`` (the policy's
``[policy.sizing]`` table), with its default and a one-line reason. Fine-tuning is sized in
:mod:`distillplan.sizing.finetune`.

Serving is a stated roofline (P7). Per pod of ``tp`` GPUs running ``B`` sequences at once:

    compute_s per request = 2 x N x (input + output) / (tp x bf16_peak x prefill_compute_efficiency)
    memory_s  per request = output x (W + B x kv_per_token x (input + output / 2))
                            / (B x tp x bandwidth x decode_bandwidth_efficiency)
    requests/s per pod    = 1 / max(compute_s, memory_s)

N is the parameter count, W the weight bytes. Each decode step reads all weights once
plus the KV of every sequence in the batch; vLLM's chunked prefill (default since V1)
rides prefill on those memory-bound steps, so the two overlap and the slower one wins.
Weight-only int8/int4 (W8A16/W4A16) dequantises to bf16 for the matmuls, so the bf16
peak is the honest compute roof for every precision; lower precision only buys bandwidth
and memory. Attention FLOPs (~4 x layers x d x context per token) are left out: under 3%
for contexts below ~2k tokens on these models.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

from distillplan.catalogs.gpus import Gpu, load_gpus
from distillplan.sizing.architecture import Architecture, parameter_count
from distillplan.spec.policy import SizingAssumptions
from distillplan.spec.registry import PRECISION_FORMATS, Precision

GIB = 1024**3
TP_CHOICES = (1, 2, 4, 8)

__all__ = [
    "Gpu",
    "ServingSizing",
    "SizingAssumptions",
    "kv_bytes_per_token",
    "linear_shapes",
    "load_gpus",
    "pod_throughput",
    "size_serving",
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


def linear_shapes(arch: Architecture) -> list[tuple[int, int]]:
    """(in_features, out_features) of the seven linear layers of one decoder layer."""
    d, q, kv, i = (
        arch.hidden_size,
        arch.num_attention_heads * arch.head_dim,
        arch.num_key_value_heads * arch.head_dim,
        arch.intermediate_size,
    )
    return [(d, q), (d, kv), (d, kv), (q, d), (d, i), (d, i), (i, d)]


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
    note = (
        f"{linear / 1e9:.2f}B linear weights at {precision} = {lin_bytes / GIB:.2f} GiB"
        f" + scales {scales / GIB:.2f} GiB + {other / 1e9:.2f}B embedding/lm_head/norm"
        f" parameters at 16-bit = {2 * other / GIB:.2f} GiB"
    )
    return total, note


def kv_bytes_per_token(arch: Architecture, a: SizingAssumptions | None = None) -> int:
    """KV cache bytes per token: 2 (K and V) x layers x KV heads x head_dim x element bytes."""
    element = (a or SizingAssumptions()).kv_cache_bytes_per_element
    return 2 * arch.num_hidden_layers * arch.num_key_value_heads * arch.head_dim * element


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
) -> tuple[float, Literal["compute", "memory"]]:
    """(requests/s, bound) of one pod at a steady batch of ``batch`` sequences.

    Formulas in the module docstring."""
    a, tp = assumptions, tensor_parallel_size
    compute_s = (
        2
        * parameter_count(arch)
        * (input_tokens + output_tokens)
        / (tp * gpu.bf16_tflops * 1e12 * a.prefill_compute_efficiency)
    )
    step_bytes = weight_bytes(arch, precision, a)[0] + batch * kv_bytes_per_token(arch, a) * (
        input_tokens + output_tokens / 2
    )
    memory_s = output_tokens * step_bytes / (batch * tp * gpu.bandwidth_gb_per_s * 1e9 * a.decode_bandwidth_efficiency)
    return 1.0 / max(compute_s, memory_s), "compute" if compute_s >= memory_s else "memory"


def _kv_capacity_tokens(arch: Architecture, gpu: Gpu, weights: int, tp: int, a: SizingAssumptions) -> tuple[float, int]:
    """(KV GiB per GPU, KV tokens per pod). KV heads split across GPUs (replicated if fewer)."""
    kv_gib = gpu.memory_gib * a.gpu_memory_utilization - weights / tp / GIB - a.activation_reserve_gib
    per_gpu_token = kv_bytes_per_token(arch, a) * math.ceil(arch.num_key_value_heads / tp) // arch.num_key_value_heads
    return kv_gib, max(0, math.floor(kv_gib * GIB / per_gpu_token)) if kv_gib > 0 else 0


def _p71_note(
    rps_per_gpu: float,
    arch: Architecture,
    precision: Precision,
    input_tokens: int,
    output_tokens: int,
    band: tuple[float, float],
) -> tuple[bool, str]:
    shape = f"{input_tokens} input + {output_tokens} output tokens"
    low, high = band
    where = "below" if rps_per_gpu < low else "within" if rps_per_gpu <= high else "above"
    holds = rps_per_gpu >= low
    verdict = "holds" if holds else "does not hold"
    return holds, (
        f"P7.1 (one A100 serves a 13B student at {low:g}-{high:g} requests/second) {verdict} "
        f"here: {arch.name} at {precision} does about {rps_per_gpu:.1f} requests/s "
        f"per GPU for {shape}, {where} that range."
    )


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
) -> ServingSizing:
    """Size vLLM serving for a request shape and peak load (P7).

    Picks the smallest tensor-parallel size in 1, 2, 4, 8 (dividing the attention heads)
    whose per-GPU memory holds the weights and KV for ``min_concurrent_sequences``
    requests of ``max_model_len`` tokens; concurrency is KV tokens / (input + output),
    capped at ``max_num_seqs``;
    replicas = ceil(peak / (pod requests/s x target_utilization)), at least 1."""
    a = assumptions
    if input_tokens < 1 or output_tokens < 1 or peak_requests_per_second < 0:
        raise ValueError("input_tokens and output_tokens must be >= 1 and peak load >= 0")
    weights, note = weight_bytes(arch, precision, a)
    request_len = input_tokens + output_tokens
    mult = a.max_model_len_multiple
    max_model_len = min(math.ceil(request_len / mult) * mult, arch.max_position_embeddings)
    too_long = request_len > arch.max_position_embeddings
    tp_sizes = [t for t in TP_CHOICES if arch.num_attention_heads % t == 0]
    chosen = None
    for tp in tp_sizes:
        kv_gib, kv_tokens = _kv_capacity_tokens(arch, gpu, weights, tp, a)
        if not too_long and kv_tokens >= max_model_len * a.min_concurrent_sequences:
            chosen = (tp, kv_gib, kv_tokens)
            break
    fits = chosen is not None
    tp, kv_gib, kv_tokens = chosen or (
        tp_sizes[-1],
        *_kv_capacity_tokens(arch, gpu, weights, tp_sizes[-1], a),
    )
    concurrent = min(a.max_num_seqs, kv_tokens // request_len)
    one_gpu_kv, _ = _kv_capacity_tokens(arch, gpu, weights, 1, a)
    if too_long:
        reason = (
            f"a request of {request_len} tokens exceeds {arch.name}'s context of "
            f"{arch.max_position_embeddings} tokens; shorten inputs or pick a longer-context base"
        )
    elif fits and tp == 1:
        reason = (
            f"fits on one {gpu.name}: {weights / GIB:.1f} GiB weights, {kv_gib:.1f} GiB KV "
            f"cache for {kv_tokens} tokens ({concurrent} concurrent requests)"
        )
    elif fits:
        reason = (
            f"does not fit on one {gpu.name}: {weights / GIB:.1f} GiB weights leave "
            f"{max(one_gpu_kv, 0.0):.1f} GiB for KV, under {a.min_concurrent_sequences} "
            f"requests of {max_model_len} tokens; tensor parallelism over {tp} GPUs fits, "
            f"and a lower precision (int8/int4) or a bigger GPU may fit on one"
        )
    else:
        reason = (
            f"does not fit even on {tp} x {gpu.name} at {precision} ({weights / GIB:.1f} GiB "
            f"weights, {a.min_concurrent_sequences} requests of {max_model_len} tokens); use "
            f"a lower precision (int8/int4), a bigger GPU, shorter requests or a smaller base"
        )
    batch = max(concurrent, 1)
    pod_rps, bound = pod_throughput(
        arch,
        gpu,
        precision=precision,
        input_tokens=input_tokens,
        output_tokens=output_tokens,
        batch=batch,
        tensor_parallel_size=tp,
        assumptions=a,
    )
    if not fits:
        pod_rps = 0.0
    if replicas_pin is not None:
        replicas = max(1, replicas_pin)
    elif pod_rps > 0:
        replicas = max(1, math.ceil(peak_requests_per_second / (pod_rps * a.target_utilization)))
    else:
        replicas = 1
    rps_gpu = pod_rps / tp
    holds, p71 = _p71_note(rps_gpu, arch, precision, input_tokens, output_tokens, p71_band)
    return ServingSizing(
        gpu=gpu.key,
        precision=precision,
        parameters=parameter_count(arch),
        weights_gib=weights / GIB,
        weight_bytes_note=note,
        kv_bytes_per_token=kv_bytes_per_token(arch, a),
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
    )
