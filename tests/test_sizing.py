"""distillplan.sizing.serving: memory, fit, throughput roofline, replicas, training cost."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from distillplan.catalogs.gpus import load_gpus
from distillplan.sizing.architecture import Architecture, catalog_names, load_architecture, parameter_count
from distillplan.sizing.finetune import size_training, trainable_parameters
from distillplan.sizing.serving import (
    SizingAssumptions,
    kv_bytes_per_token,
    pod_throughput,
    size_serving,
    weight_bytes,
)

A = SizingAssumptions()
GPUS = load_gpus()


def arch(name: str) -> Architecture:
    return load_architecture(name, base_dir=Path("."))


def serve(
    name: str,
    gpu: str,
    precision: str = "bf16",
    i: int = 500,
    o: int = 200,
    peak: float = 10.0,
    **kw: object,
):
    return size_serving(
        arch(name),
        GPUS[gpu],
        precision=precision,
        input_tokens=i,  # type: ignore[arg-type]
        output_tokens=o,
        peak_requests_per_second=peak,
        assumptions=A,
        **kw,
    )  # type: ignore[arg-type]


def test_gpu_catalog() -> None:
    assert set(GPUS) == {"a100-40gb", "a100-80gb", "h100-80gb"}
    a40, a80 = GPUS["a100-40gb"], GPUS["a100-80gb"]
    assert (a40.bandwidth_gb_per_s, a80.bandwidth_gb_per_s) == (1555.0, 2039.0)
    assert a40.bf16_tflops == a80.bf16_tflops == 312.0 and a80.int8_tops == 624.0
    assert a80.k8s_product_label == "NVIDIA-A100-SXM4-80GB"
    assert all(g.usd_per_gpu_hour > 0 and g.source and g.as_of for g in GPUS.values())


def test_kv_bytes_per_token_by_hand_for_llama_3_1_8b() -> None:
    assert kv_bytes_per_token(arch("meta-llama/Llama-3.1-8B")) == 2 * 32 * 8 * 128 * 2 == 131072
    assert serve("meta-llama/Llama-3.1-8B", "a100-80gb").kv_bytes_per_token == 131072


def test_qwen_14b_bf16_needs_tensor_parallelism_on_a100_40gb() -> None:
    """27.5 GiB of weights leave ~6.5 GiB of KV on one 40 GB card: enough for ~10 requests of
    3,500 tokens, under the 16 a replica must hold. (Short requests, ~2k tokens or less, do fit.)"""
    s = serve("Qwen/Qwen2.5-14B", "a100-40gb", i=3000, o=500)
    assert s.tensor_parallel_size == 2 and s.fits and s.gpus_total % 2 == 0
    assert "does not fit on one" in s.fit_reason
    assert "tensor parallelism" in s.fit_reason and "lower precision" in s.fit_reason
    assert serve("Qwen/Qwen2.5-14B", "a100-80gb", i=3000, o=500).tensor_parallel_size == 1
    assert serve("Qwen/Qwen2.5-14B", "a100-40gb", "int4", i=3000, o=500).tensor_parallel_size == 1


def test_request_longer_than_context_does_not_fit() -> None:
    s = serve("microsoft/Phi-3-medium-4k-instruct", "a100-80gb", i=4000, o=500)
    assert not s.fits and "context" in s.fit_reason and not s.p71_holds
    assert s.requests_per_second_per_gpu == 0.0


def test_max_model_len_is_rounded_and_capped() -> None:
    assert serve("meta-llama/Llama-3.1-8B", "a100-80gb", i=500, o=200).max_model_len == 768
    assert serve("microsoft/Phi-3-medium-4k-instruct", "a100-80gb", i=3900, o=150).max_model_len == 4096


@pytest.mark.parametrize("name", catalog_names())
def test_more_bits_means_more_weight_memory(name: str) -> None:
    a = arch(name)
    bf16, int8, int4 = (weight_bytes(a, p, A)[0] for p in ("bf16", "int8", "int4"))
    assert bf16 == 2 * parameter_count(a)
    assert bf16 > int8 > int4 > parameter_count(a) / 2


@settings(max_examples=60, deadline=None)
@given(st.floats(0, 5000), st.floats(0, 5000), st.sampled_from(["bf16", "int8", "int4"]))
def test_higher_peak_never_needs_fewer_replicas(low: float, high: float, precision: str) -> None:
    low, high = sorted((low, high))
    a, b = (serve("meta-llama/Llama-3.1-8B", "a100-40gb", precision, peak=p) for p in (low, high))
    assert 1 <= a.replicas <= b.replicas and b.gpus_total == b.replicas * b.tensor_parallel_size


def test_replicas_pin_is_respected() -> None:
    assert serve("meta-llama/Llama-3.1-8B", "a100-80gb", peak=500, replicas_pin=2).replicas == 2


def test_concurrency_is_capped_by_vllm_max_num_seqs() -> None:
    s = serve("meta-llama/Llama-3.1-8B", "a100-80gb", "int4", i=100, o=20)
    assert s.max_concurrent_sequences == A.max_num_seqs == 256


def test_p71_holds_only_for_short_requests() -> None:
    """P7.1 claims 60-200 req/s per A100 for a 13B at 4/8 bit. At 500 in + 200 out the
    roofline gives ~7; only classification-sized requests on an 8B reach 60."""
    long = serve("meta-llama/Llama-2-13b-hf", "a100-80gb", "int4")
    assert not long.p71_holds and "does not hold" in long.p71_note and "below" in long.p71_note
    short = serve("meta-llama/Llama-3.1-8B", "a100-80gb", "int4", i=100, o=1)
    assert short.p71_holds and short.requests_per_second_per_gpu >= 60


# --- model vs published vLLM figures on A100 (measured 2026-10-01 with the defaults) -----------
LLAMA_33_70B = Architecture(  # meta-llama/Llama-3.3-70B-Instruct config.json (= Llama-3.1-70B)
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
    source="test",
)


def test_llama_70b_shape_matches_its_published_count() -> None:
    # HF API safetensors.total of meta-llama/Llama-3.1-70B, revision 349b2ddb: 70,553,706,496
    assert parameter_count(LLAMA_33_70B) == 70553706496


def test_single_stream_decode_vs_published_a100_40gb() -> None:
    """johnmusgrave.com 'vLLM throughput-latency sweep on NVIDIA A100' (vLLM 0.23.0,
    Llama-3.1-8B-Instruct BF16, one A100 40GB, 1024 in / 128 out): ~75 output tok/s at
    concurrency 1, 6.6x that (~495 tok/s) at concurrency 8.
    Model: 67 tok/s (ratio 0.90) and 506 tok/s (ratio 1.02)."""
    a, gpu = arch("meta-llama/Llama-3.1-8B"), GPUS["a100-40gb"]
    for batch, published in ((1, 75.0), (8, 6.6 * 75.0)):
        rps, bound = pod_throughput(
            a,
            gpu,
            precision="bf16",
            input_tokens=1024,
            output_tokens=128,
            batch=batch,
            tensor_parallel_size=1,
            assumptions=A,
        )
        ratio = rps * 128 / published
        print(f"Llama-3.1-8B A100-40GB C={batch}: model/published = {ratio:.2f} ({bound}-bound)")
        assert 0.5 <= ratio <= 2.0


def test_saturated_70b_tp4_vs_published_vllm_dashboard() -> None:
    """vllm-project/vllm#12315: the vLLM performance dashboard (v0) published 5.13 req/s for
    Llama-3.3-70B-Instruct, TP=4 on 4 x A100, benchmark_throughput on ShareGPT (200 prompts,
    max-num-seqs 256); a user reproduced 3.28 req/s, 1,414 total / 714 output tok/s, i.e.
    ~213 input + ~218 output tokens per request. (4 x A100-40GB cannot hold 141 GB of bf16
    weights at 0.9 utilisation, so these are 80 GB cards.)
    Model: 8.2 req/s: ratio 1.60 to the dashboard, 2.5 to the user's run (tail of a
    200-prompt batch and TP all-reduce are not modelled)."""
    gpu = GPUS["a100-80gb"]
    s = size_serving(
        LLAMA_33_70B,
        gpu,
        precision="bf16",
        input_tokens=213,
        output_tokens=218,
        peak_requests_per_second=1.0,
        assumptions=A,
    )
    assert s.tensor_parallel_size == 2  # smallest that fits; the published run chose TP=4
    pod_rps, bound = pod_throughput(
        LLAMA_33_70B,
        gpu,
        precision="bf16",
        input_tokens=213,
        output_tokens=218,
        batch=256,
        tensor_parallel_size=4,
        assumptions=A,
    )
    ratio = pod_rps / 5.13
    print(f"Llama-3.3-70B TP4 A100-80GB ShareGPT: model/published = {ratio:.2f} ({bound})")
    assert 0.5 <= ratio <= 2.0


# --- training ------------------------------------------------------------------------------------
def test_lora_trainable_parameters_by_hand() -> None:
    per_layer = 16 * ((4096 + 4096) + 2 * (4096 + 1024) + (4096 + 4096) + 2 * (4096 + 14336) + (14336 + 4096))
    assert trainable_parameters(arch("meta-llama/Llama-3.1-8B"), "lora", 16) == 32 * per_layer
    assert trainable_parameters(arch("meta-llama/Llama-3.1-8B"), "full", 16) == 8030261248


def test_training_memory_and_cost_order() -> None:
    a, gpu = arch("meta-llama/Llama-3.1-8B"), GPUS["a100-80gb"]
    runs = {
        m: size_training(a, gpu, method=m, lora_rank=16, training_tokens=50e6, assumptions=A, usd_per_gpu_hour=2.0)
        for m in ("full", "lora", "qlora")
    }
    full, lora, qlora = runs["full"], runs["lora"], runs["qlora"]
    assert full.gpus >= 2 and lora.gpus == qlora.gpus == 1  # 16 B/param = 120 GiB of states
    assert qlora.memory_gib < lora.memory_gib < 80
    assert full.gpu_hours > qlora.gpu_hours > lora.gpu_hours
    # 6 x N x tokens / (312 TFLOPS x 0.4) x 3 sweep runs
    assert full.gpu_hours == pytest.approx(6 * 8030261248 * 50e6 / (312e12 * 0.4) / 3600 * 3)
    assert full.usd == pytest.approx(full.gpu_hours * 2.0)
    assert lora.lora_rank == 16 and full.lora_rank is None


def test_assumptions_are_documented_frozen_and_strict() -> None:
    for name, field in SizingAssumptions.model_fields.items():
        assert field.description, name
    with pytest.raises(ValidationError):
        SizingAssumptions(gpu_memory_utilisation=0.8)  # type: ignore[call-arg]
    with pytest.raises(ValidationError):
        A.max_num_seqs = 8  # type: ignore[misc]
    assert SizingAssumptions(max_num_seqs=64).max_num_seqs == 64
    with pytest.raises(ValidationError):  # the rank is the student's (student.lora_rank), not a sizing knob
        SizingAssumptions(lora_rank=8)  # type: ignore[call-arg]


def test_llama2_13b_sharegpt_vs_the_2023_vllm_figure() -> None:
    """The figure issue 4 names: Llama-2-13B fp16 on ShareGPT, one A100-80GB, about 4
    requests/s and 1,900 tokens/s (prompt + output), i.e. ~475 tokens a request, measured
    with 2023-era vLLM (benchmark_throughput). Our roofline gives ~10 requests/s (ratio ~2.5):
    optimistic against that old engine, and outside the factor-of-two bar; against the 2025
    figures above (vLLM 0.23, dashboard) it is within 0.9-1.6. This test pins what we measured
    (2026-11-27) so a change in the model shows here: above the 2023 figure, below 3x of it."""
    a, gpu = arch("meta-llama/Llama-2-13b-hf"), GPUS["a100-80gb"]
    s = size_serving(
        a, gpu, precision="bf16", input_tokens=250, output_tokens=225, peak_requests_per_second=1.0, assumptions=A
    )
    ratio = s.requests_per_second_per_gpu / 4.0
    tokens_ratio = s.requests_per_second_per_gpu * 475 / 1_900
    print(f"Llama-2-13B A100-80GB ShareGPT-like: model/published = {ratio:.2f} (tokens {tokens_ratio:.2f})")
    assert 1.0 <= ratio <= 3.0
    assert abs(ratio - tokens_ratio) < 1e-9
