"""Throughput and latency of one vLLM replica under load: the roofline plus a queueing model.

One replica (a pod of ``tp`` GPUs) runs vLLM's continuous batching with chunked prefill
(the V1 default): every engine step (iteration) decodes one token for each running
request and spends the rest of the step's token budget (``max_num_batched_tokens``) on
prompt chunks of waiting requests. Per pod, with W the weight bytes, N the parameters,
BW and P the GPU's HBM bandwidth and dense bf16 peak, e_dec / e_pre the per-precision
decode-bandwidth and prefill-compute efficiencies (times the GPU row's factors), kv the KV
bytes per token, L layers, d the hidden size and q the query width (heads x head_dim)::

    a0      = W / (tp x BW x e_dec)                   weight read: the floor of every step
    c_tok   = 2 N / (tp x P x e_pre)                  linear-layer compute per prompt token
    c_dec   = 2 N / (tp x P x e_dc)                   ... per decode token: e_dc = e_pre at bf16; weight-only
                                                      int8/int4 kernels at decode batch sizes (tens to
                                                      hundreds of rows) dequantise every weight tile per
                                                      step and reach less (``decode_compute_efficiency_*``)
    c_att   = 2 L q i^2 / (tp x P x e_pre)            causal attention of one i-token prompt
    m_seq   = kv x (i + o/2) / (tp x BW x e_bf16)     KV read per running request per step (KV is 16-bit)
    x_tok   = s x 2 (tp - 1)/tp x tp c_tok            all-reduce per token: two all-reduces of the hidden
                                                      state per layer, ring volume 2 (tp - 1)/tp, each
                                                      unit costing s (``tp_allreduce_share``) of the
                                                      token's compute on one GPU; 0 at TP 1. With
                                                      s <= 1/2 a pod's step never grows with tp and its
                                                      throughput grows less than tp-fold

A step with b decodes and prompt compute p (tokens n) reads ``M = a0 + b m_seq`` and computes
``C = b c_dec + p``; reads and compute overlap in part (``step_overlap`` = w)::

    step    = max(M, C) + (1 - w) min(M, C) + x_tok (b + n)

Open loop, Poisson arrivals at ``rate`` requests/s per replica (fluid steady state): in a
step of t seconds ``rate o t`` requests decode and ``rate t`` prompts are computed, so M and
C are linear in t and the mean step t is the least fixed point of ``t = step(t)``, the larger
of the two branches' own (infinite when either branch's slope reaches 1: past capacity)::

    b       = rate x o x t                            running decodes (Little's law)

Capacity is the rate at which b reaches the concurrency cap B (``max_num_seqs`` or the
KV cache, whichever is smaller): ``B / (o x step_B)``, step_B the step with B decodes and the
prompts of B / o requests. With w = 0 and s = 0 this is the additive model
``B / (o a0 + B K)``, K = ``c_tok (i + o) + c_att + o m_seq``.

TPOT percentiles (prefill/decode interference): a request's TPOT is the mean of its o
steps; the prompts that arrive during its decode (Poisson, mean n = b) each add
``c_tok i + c_att`` to one step, and the running batch fluctuates like a Poisson count
(an M/G/inf population; the request itself runs on top of it). With z = 0 (p50) or
1.645 (p95)::

    TPOT_z  = step(decodes 1 + b + z sqrt(b), prompt compute (c_tok i + c_att) (n + z sqrt(n)) / o)

TTFT percentiles: a prompt is prefilled in k = ceil(i / (budget - b)) steps, each also
carrying the running decodes: ``S = k step(b decodes, (c_tok i + c_att) / k)``, non-decreasing
in i (k h(x / k) grows with k for h the step as a function of its prompt compute).
Prompts queue for the prefill budget as an M/D/1 queue with load rho_p = rate x S:
mean wait ``Wq = rho_p S / (2 (1 - rho_p))`` and the exponential tail
``P(wait > x) = rho_p exp(-rho_p x / Wq)``; a request arriving while a step runs also waits
out that step (uniform residual, only while the engine is busy, P = 1 - exp(-b))::

    TTFT_q  = f + busy x q x t + wait_q + S,   wait_q = Wq / rho_p x ln(rho_p / (1 - q)) if rho_p > 1 - q

f (``first_token_overhead_ms``) is the engine's fixed cost of a request before its first token
reaches the caller: tokenising, scheduling, sampling and detokenising, a step's launch.

Closed loop (``vllm bench serve --max-concurrency C``): the rate at which Little's law
holds for C requests in flight, ``C = rate x (TTFT + (o - 1) TPOT)`` at the means.

The levers: a larger ``max_num_batched_tokens`` prefills a prompt in fewer steps (lower
TTFT) at the price of longer individual steps (inter-token spikes, which the per-request
TPOT above averages away); a smaller ``max_num_seqs`` caps the batch (lower TPOT, lower
capacity).

Prefix caching (vLLM's automatic prefix caching, on by default in V1): when the first ``c`` of a
request's ``i`` prompt tokens are a prefix already in the KV cache (a shared system prompt),
only the other ``i - c`` tokens are prefilled, so ``c_tok`` multiplies ``i - c + o``, the
attention term becomes ``2 L q (i^2 - c^2)`` and a prompt takes ``ceil((i - c) / budget)``
chunks. ``c`` counts whole KV blocks only (vLLM caches full blocks of ``PREFIX_BLOCK_TOKENS``)
and at most ``i - 1`` (the last prompt token is always computed, for its logits). The KV
read per step is unchanged (attention still reads the whole context) and so is the KV
memory per request (shared blocks would let more requests run at once: not counted, the
conservative side).

Not modelled: HTTP time, CPU scheduling gaps inside a step (V0's are large), speculative decoding,
preemption when the KV cache overflows (the concurrency cap keeps the model below it), and
request-length variance (every request has the planned shape).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from distillplan.catalogs.gpus import Gpu
from distillplan.sizing.architecture import Architecture, active_parameter_count
from distillplan.spec.policy import SizingAssumptions
from distillplan.spec.registry import Precision

__all__ = ["PREFIX_BLOCK_TOKENS", "Z_P95", "Latency", "Replica", "cached_prefix_tokens", "replica"]

#: Standard normal quantile of 0.95.
Z_P95 = 1.6448536269514722

#: vLLM's default KV block size: its prefix cache reuses whole blocks only.
PREFIX_BLOCK_TOKENS = 16


def cached_prefix_tokens(input_tokens: int, share: float) -> int:
    """Prompt tokens a request finds in vLLM's prefix cache when ``share`` of its input is a
    shared prefix: whole blocks only, and never the last prompt token."""
    # vllm/v1/core/kv_cache_manager.py get_computed_blocks: max_cache_hit_length = num_tokens - 1,
    # then the longest run of whole cached blocks within it.
    hit = min(input_tokens * share + 1e-9, input_tokens - 1)
    return max(0, math.floor(hit / PREFIX_BLOCK_TOKENS) * PREFIX_BLOCK_TOKENS)


@dataclass(frozen=True)
class Latency:
    """Per-request latency at one load, in milliseconds; ``stable`` is false past capacity."""

    rate: float
    stable: bool
    ttft_p50_ms: float
    ttft_p95_ms: float
    tpot_p50_ms: float
    tpot_p95_ms: float
    running: float


@dataclass(frozen=True)
class Replica:
    """The per-request constants of one replica for one request shape (module docstring)."""

    input_tokens: int
    output_tokens: int
    a0_s: float
    c_tok_s: float
    c_att_s: float
    m_seq_s: float
    max_running: int
    max_num_batched_tokens: int
    cached_tokens: int = 0
    x_tok_s: float = 0.0
    overlap: float = 0.0
    first_token_overhead_s: float = 0.0
    c_dec_s: float | None = None

    @property
    def dec_s(self) -> float:
        """Linear-layer compute of one decode token: ``c_tok`` unless the precision's weight-only
        kernels reach a different fraction of the roof at decode batch sizes (``c_dec``)."""
        return self.c_tok_s if self.c_dec_s is None else self.c_dec_s

    @property
    def prefill_tokens(self) -> int:
        """Prompt tokens computed per request: the input less its prefix-cache hits."""
        return self.input_tokens - self.cached_tokens

    @property
    def prompt_s(self) -> float:
        """Compute of one request's prompt: linear layers and causal attention."""
        return self.c_tok_s * self.prefill_tokens + self.c_att_s

    def step_s(self, decodes: float, prompt_s: float, prompt_tokens: float) -> float:
        """One engine step with ``decodes`` running requests and ``prompt_s`` of prompt compute
        (``prompt_tokens`` tokens): the larger of memory and compute, plus the share of the
        smaller that does not overlap, plus the tensor-parallel all-reduces."""
        memory = self.a0_s + decodes * self.m_seq_s
        compute = decodes * self.dec_s + prompt_s
        comm = self.x_tok_s * (decodes + prompt_tokens)
        return max(memory, compute) + (1 - self.overlap) * min(memory, compute) + comm

    def _mean_step(self, rate: float) -> float:
        """The fluid steady-state step at ``rate``: the least t with t = step(t) (inf if none).

        Per step of t seconds, ``rate x o x t`` decodes and ``rate x t`` prompts; both branches of
        the max are linear in t, so the fixed point is the larger of the two branches' own."""
        o = self.output_tokens
        am = rate * o * self.m_seq_s
        ac = rate * (o * self.dec_s + self.prompt_s)
        ax = rate * self.x_tok_s * (o + self.prefill_tokens)
        keep = 1 - self.overlap
        d1 = 1 - am - keep * ac - ax
        d2 = 1 - ac - keep * am - ax
        if rate < 0 or d1 <= 0 or d2 <= 0:
            return math.inf
        return max(self.a0_s / d1, keep * self.a0_s / d2)

    @property
    def busy_s(self) -> float:
        """K: step-seconds one request adds beyond the weight reads (no overlap, no all-reduce)."""
        o = self.output_tokens
        return self.c_tok_s * self.prefill_tokens + self.dec_s * o + self.c_att_s + o * self.m_seq_s

    @property
    def capacity(self) -> float:
        """Requests/s at which the running batch reaches ``max_running``: ``B / (o x step_B)``,
        step_B the step with B decodes and the prompts of B / o requests."""
        b, o = self.max_running, self.output_tokens
        step = self.step_s(b, b * self.prompt_s / o, b * self.prefill_tokens / o)
        return b / (o * step)

    def at(self, rate: float) -> Latency:
        """TTFT and TPOT percentiles at ``rate`` requests/s (open loop, Poisson)."""
        return self._latency(rate, tail=True)

    def _latency(self, rate: float, *, tail: bool) -> Latency:
        i, o = self.prefill_tokens, self.output_tokens
        step = self._mean_step(rate)
        if not math.isfinite(step):
            return _unstable(rate)
        running = rate * o * step
        prompt = self.prompt_s
        stable = running <= self.max_running * (1 + 1e-9)

        def tpot(z: float) -> float:
            spread = running + z * math.sqrt(running)
            return self.step_s(1 + spread, prompt * spread / o, i * spread / o)

        budget = self.max_num_batched_tokens - running
        if budget < 1:
            return _unstable(rate)
        chunks = math.ceil(i / budget)
        service = chunks * self.step_s(running, prompt / chunks, i / chunks)
        rho_p = rate * service
        if rho_p >= 1:
            return _unstable(rate)
        mean_wait = rho_p * service / (2 * (1 - rho_p))
        busy = 1 - math.exp(-running)

        fixed = self.first_token_overhead_s

        def ttft(q: float) -> float:
            if not tail:
                return fixed + busy * step / 2 + mean_wait + service
            wait = mean_wait / rho_p * math.log(rho_p / (1 - q)) if rho_p > 1 - q else 0.0
            return fixed + busy * q * step + wait + service

        return Latency(
            rate=rate,
            stable=stable,
            ttft_p50_ms=ttft(0.5) * 1e3,
            ttft_p95_ms=ttft(0.95) * 1e3,
            tpot_p50_ms=tpot(0.0) * 1e3,
            tpot_p95_ms=tpot(Z_P95 if tail else 0.0) * 1e3,
            running=running,
        )

    def closed_loop(self, concurrency: int) -> tuple[float, Latency]:
        """(requests/s, mean latency) with ``concurrency`` requests always in flight."""
        capped = Replica(**{**self.__dict__, "max_running": min(self.max_running, concurrency)})
        low, high = 0.0, capped.capacity
        for _ in range(60):
            mid = (low + high) / 2
            lat = capped._latency(mid, tail=False)
            in_flight = mid * (lat.ttft_p50_ms + (self.output_tokens - 1) * lat.tpot_p50_ms) / 1e3
            if lat.stable and math.isfinite(in_flight) and in_flight < concurrency:
                low = mid
            else:
                high = mid
        return low, capped._latency(low, tail=False)


def _unstable(rate: float) -> Latency:
    inf = math.inf
    return Latency(rate, False, inf, inf, inf, inf, inf)


def replica(
    arch: Architecture,
    gpu: Gpu,
    *,
    precision: Precision,
    weight_bytes: int,
    kv_bytes_per_token: int,
    input_tokens: int,
    output_tokens: int,
    tensor_parallel_size: int,
    max_running: int,
    assumptions: SizingAssumptions,
    cached_tokens: int = 0,
) -> Replica:
    """The constants of the module docstring for one pod and request shape; ``cached_tokens``
    of the input are prefix-cache hits (:func:`cached_prefix_tokens`)."""
    if not 0 <= cached_tokens < input_tokens:
        raise ValueError("cached_tokens must be >= 0 and below input_tokens")
    a, tp = assumptions, tensor_parallel_size
    dec, pre = gpu.decode_efficiency_factor, gpu.prefill_efficiency_factor
    bandwidth = tp * gpu.bandwidth_gb_per_s * 1e9 * min(1.0, a.decode_efficiency(precision) * dec)
    kv_bandwidth = tp * gpu.bandwidth_gb_per_s * 1e9 * min(1.0, a.decode_efficiency("bf16") * dec)  # KV stays 16-bit
    compute = tp * gpu.bf16_tflops * 1e12 * min(1.0, a.prefill_efficiency(precision) * pre)
    decode_compute = tp * gpu.bf16_tflops * 1e12 * min(1.0, a.decode_compute_efficiency(precision) * pre)
    q_width = arch.num_attention_heads * arch.head_dim
    # Two all-reduces of the hidden state per layer per token; a ring moves 2 (tp - 1) / tp of it, in a
    # time stated as a share of the token's compute on one GPU (NVLink generations scale with the GPU's).
    ring = 2 * (tp - 1) / tp
    x_tok = a.tp_allreduce_share * ring * 2 * active_parameter_count(arch) / (compute / tp)
    return Replica(
        input_tokens=input_tokens,
        output_tokens=output_tokens,
        a0_s=weight_bytes / bandwidth,
        c_tok_s=2 * active_parameter_count(arch) / compute,  # a mixture of experts: its routed experts only
        c_att_s=2 * arch.num_hidden_layers * q_width * (input_tokens**2 - cached_tokens**2) / compute,
        m_seq_s=kv_bytes_per_token * (input_tokens + output_tokens / 2) / kv_bandwidth,
        max_running=max(1, max_running),
        max_num_batched_tokens=a.max_num_batched_tokens,
        cached_tokens=cached_tokens,
        x_tok_s=x_tok,
        overlap=a.step_overlap,
        first_token_overhead_s=a.first_token_overhead_ms / 1e3,
        c_dec_s=2 * active_parameter_count(arch) / decode_compute,
    )
