"""Fine-tuning sizing (P4 'fine-tune compute'): memory, GPU count, GPU-hours and cost.

Uses the student's real architecture and the judgements in ``SizingAssumptions`` (the
policy's ``[policy.sizing]`` table); formulas in :func:`size_training`. Serving sizing
and the GPU catalog are in :mod:`distillplan.sizing.serving`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from distillplan.catalogs.gpus import Gpu
from distillplan.sizing.architecture import Architecture, expert_parameter_count, parameter_count
from distillplan.sizing.serving import GIB, SizingAssumptions, linear_shapes, weight_bytes
from distillplan.spec.registry import Method
from distillplan.text import count

__all__ = [
    "GPUS_PER_MACHINE",
    "LORA_TARGETS",
    "TrainingRecipe",
    "TrainingSizing",
    "machines_for",
    "memory_breakdown",
    "size_training",
    "trainable_parameters",
    "training_recipe",
]


@dataclass(frozen=True)
class TrainingSizing:
    gpu: str
    method: Method
    parameters: int
    trainable_parameters: int
    lora_rank: int | None
    memory_gib: float
    memory_breakdown_gib: dict[str, float]
    gpus: int
    fits: bool
    fit_note: str
    gpu_hours: float
    usd: float
    notes: tuple[str, ...]


#: GPUs per machine of a multi-GPU job: every multi-GPU machine quoted in data/gpus.toml (AWS
#: p4d/p4de/p5/p5en, Azure ND96, CoreWeave and Lambda HGX) has 8, and NVLink stops at the machine.
GPUS_PER_MACHINE = 8


def machines_for(gpus: int) -> int:
    """Machines of :data:`GPUS_PER_MACHINE` GPUs a job of ``gpus`` GPUs spans (each full when more
    than one: the job sizes are powers of two)."""
    return max(1, -(-gpus // GPUS_PER_MACHINE))


#: LoRA target sets: indices into :func:`linear_shapes` (q, k, v, o, gate, up, down).
LORA_TARGETS = {"all": (0, 1, 2, 3, 4, 5, 6), "qv": (0, 2), "qkvo+mlp": (0, 1, 2, 3, 4, 5, 6)}
Measured = Literal["allocated", "reserved", "device"]


def trainable_parameters(arch: Architecture, method: Method, rank: int, targets: str = "all") -> int:
    """All parameters for full fine-tuning; for LoRA/QLoRA, rank x (in + out) for each targeted
    linear layer of every decoder layer (A is rank x in, B is out x rank); ``all`` = the seven."""
    if method == "full":
        return parameter_count(arch)
    shapes = linear_shapes(arch)
    # A mixture of experts: the generated sft.yaml adapts the attention only (q, k, v, o).
    chosen = [k for k in LORA_TARGETS[targets] if k < 4 or not arch.is_moe]
    if arch.fused_projections:  # Phi-3: one adapter on qkv_proj and one on gate_up_proj, not three and two
        d, i = arch.hidden_size, arch.intermediate_size
        module = {0: "qkv", 1: "qkv", 2: "qkv", 3: "o", 4: "gate_up", 5: "gate_up", 6: "down"}
        fused = {"qkv": (d, sum(o for _, o in shapes[:3])), "o": shapes[3], "gate_up": (d, 2 * i), "down": shapes[6]}
        adapted = dict.fromkeys(module[k] for k in chosen)
        return arch.num_hidden_layers * sum(rank * sum(fused[m]) for m in adapted)
    return arch.num_hidden_layers * sum(rank * sum(shapes[k]) for k in chosen)


def memory_breakdown(
    arch: Architecture,
    method: Method,
    *,
    lora_rank: int,
    micro_batch_size: int,
    sequence_length: int,
    gradient_checkpointing: bool,
    assumptions: SizingAssumptions,
    gpus: int = 1,
    lora_targets: str = "all",
    measured: Measured = "device",
) -> dict[str, int]:
    """Peak training memory per GPU, in bytes, by part (P4 'fine-tune compute').

    - ``weights``: full = 16 bytes/parameter (bf16 weights and grads, fp32 master, Adam m, v);
      LoRA = the bf16 base; QLoRA = NF4 linear weights (0.5 byte + constants) and 16-bit
      embeddings/lm_head. Sharded over ``gpus`` (FSDP / ZeRO-3) when more than one.
    - ``adapters``: 16 bytes per trainable LoRA parameter (bf16 weight and grad, fp32 Adam
      m and v, fp32 master), sharded likewise.
    - ``activations`` for T = micro-batch x sequence tokens. A decoder layer keeps, per
      token, 2 x (4d + 2q + 2kv) + 8i bytes (norm inputs/outputs, q/k/v, attention output,
      gate, up, SiLU and product; FlashAttention keeps no score matrix). With gradient
      checkpointing each layer keeps only its input (2d bytes) and one layer is live again
      in the backward pass.
    - ``fsdp_gather``: with more than one GPU, FSDP gathers each layer's full weights to run
      it and prefetches the next: two layers' linear weights at their stored precision.
    - ``qlora_buffers``: bitsandbytes' 4-bit matmuls keep their own input copies,
      ``qlora_extra_activation_bytes_per_hidden`` x d bytes per token per live layer.
    - ``logits``: T x vocabulary x ``logits_bytes_per_vocab_entry``.
    - ``allocator``: PyTorch's cached-but-free reserve (``reserved`` and ``device``);
      ``cuda_context``: outside PyTorch (``device`` only). ``measured`` says which a figure
      includes: ``torch.cuda.max_memory_allocated``, ``max_memory_reserved`` or nvidia-smi.
    """
    a = assumptions
    d, layers = arch.hidden_size, arch.num_hidden_layers
    q, kv = arch.num_attention_heads * arch.head_dim, arch.num_key_value_heads * arch.head_dim
    n = parameter_count(arch)
    trainable = trainable_parameters(arch, method, lora_rank, lora_targets)
    layer_linear = sum(i * o for i, o in linear_shapes(arch))
    stored_bytes = 0.5 + a.qlora_constant_bits_per_parameter / 8 if method == "qlora" else 2.0
    # bitsandbytes 4-bit replaces nn.Linear only: a mixture of experts' fused 3-D expert tensors stay 16-bit.
    layer_experts = expert_parameter_count(arch) // layers if method == "qlora" else 0
    if method == "full":
        weights, adapters = 16 * n, 0
    elif method == "lora":
        weights, adapters = weight_bytes(arch, "bf16", a)[0], 16 * trainable
    else:
        linear = layers * (layer_linear - layer_experts)
        weights = int(linear * stored_bytes + 2 * (n - linear))
        adapters = 16 * trainable
    tokens = micro_batch_size * sequence_length
    per_layer = 2 * (4 * d + 2 * q + 2 * kv) + 8 * arch.mlp_width_per_token
    live_layers = 1 if gradient_checkpointing else layers
    kept_inputs = layers * 2 * d if gradient_checkpointing else 0
    parts = {
        "weights": weights // gpus,
        "adapters": adapters // gpus,
        "fsdp_gather": int(2 * ((layer_linear - layer_experts) * stored_bytes + 2 * layer_experts)) if gpus > 1 else 0,
        "activations": tokens * (kept_inputs + live_layers * per_layer),
        "qlora_buffers": int(tokens * live_layers * a.qlora_extra_activation_bytes_per_hidden * d)
        if method == "qlora"
        else 0,
        "logits": int(tokens * arch.vocab_size * a.logits_bytes_per_vocab_entry),
        "allocator": int(a.allocator_reserve_gib * GIB) if measured != "allocated" else 0,
        "cuda_context": int(a.cuda_context_gib * GIB) if measured == "device" else 0,
    }
    return parts


def size_training(
    arch: Architecture,
    gpu: Gpu,
    *,
    method: Method,
    lora_rank: int,
    training_tokens: float,
    assumptions: SizingAssumptions,
    usd_per_gpu_hour: float,
) -> TrainingSizing:
    """Size one fine-tuning job (P4 'fine-tune compute') for ``training_tokens`` per run.

    Memory per GPU from :func:`memory_breakdown` (as nvidia-smi would show it); the job
    takes the fewest of 1, 2, 4, ... 64 GPUs whose per-GPU memory fits, sharding weights
    and optimizer state with FSDP (full, and LoRA/QLoRA that do not fit one GPU).
    GPU-hours = factor x N x tokens / (bf16 peak x MFU) x sweep runs, factor 6 (full) or
    ``adapter_flops_factor`` (x ``qlora_slowdown`` for QLoRA)."""
    a = assumptions
    n = parameter_count(arch)
    trainable = trainable_parameters(arch, method, lora_rank)
    capacity = gpu.memory_gib * GIB

    def parts_for(gpus: int) -> dict[str, int]:
        return memory_breakdown(
            arch,
            method,
            lora_rank=lora_rank,
            micro_batch_size=a.train_micro_batch_size,
            sequence_length=a.train_sequence_length,
            gradient_checkpointing=a.gradient_checkpointing,
            assumptions=a,
            gpus=gpus,
        )

    gpus = 1
    parts = parts_for(1)
    while gpus < 64 and sum(parts.values()) > capacity:
        gpus *= 2
        parts = parts_for(gpus)
    per_gpu = sum(parts.values())
    fits = per_gpu <= capacity
    ckpt = "with" if a.gradient_checkpointing else "without"
    sequence = count(a.train_sequence_length, "token")
    shape = f"micro-batch {a.train_micro_batch_size} x {sequence}, {ckpt} gradient checkpointing"
    machines = machines_for(gpus)
    where = f"{gpus} x {gpu.name}" + (
        f" ({count(machines, 'machine')} of {GPUS_PER_MACHINE}, multi-node FSDP)" if machines > 1 else ""
    )
    if fits:
        fit_note = f"{per_gpu / GIB:.1f} GiB per GPU of {gpu.memory_gib:g} GiB on {where} ({shape})"
    else:
        fit_note = (
            f"{per_gpu / GIB:.1f} GiB per GPU even on {where} ({shape}); "
            "shorten sequences, lower the micro-batch or pick a bigger GPU"
        )
    notes: list[str] = []
    if method == "full":
        flops_factor = 6.0
        notes.append(
            f"full fine-tuning: 16 bytes/parameter ({16 * n / GIB:.0f} GiB of states) sharded over {count(gpus, 'GPU')}"
        )
    else:
        flops_factor = a.adapter_flops_factor * (a.qlora_slowdown if method == "qlora" else 1.0)
        notes.append(
            f"{method}: rank {lora_rank} on all 7 linear layers, {trainable / 1e6:.1f}M trainable parameters; "
            f"frozen base {parts['weights'] * gpus / GIB:.1f} GiB"
            + (
                f", sharded with FSDP over {count(gpus, 'GPU')} ({parts['weights'] / GIB:.1f} GiB each)"
                if gpus > 1
                else ""
            )
        )
    notes.append(
        "per GPU: "
        + ", ".join(f"{k.replace('_', ' ')} {v / GIB:.1f} GiB" for k, v in parts.items() if v)
        + f" = {per_gpu / GIB:.1f} GiB"
    )
    seconds = flops_factor * n * training_tokens / (gpu.bf16_tflops * 1e12 * a.training_mfu)
    gpu_hours = seconds / 3600 * a.sweep_runs
    notes.append(f"{flops_factor:g} x N FLOPs per token at {a.training_mfu:.0%} MFU, x {a.sweep_runs} sweep runs")
    return TrainingSizing(
        gpu=gpu.key,
        method=method,
        parameters=n,
        trainable_parameters=trainable,
        lora_rank=None if method == "full" else lora_rank,
        memory_gib=per_gpu / GIB,
        memory_breakdown_gib={k: v / GIB for k, v in parts.items()},
        gpus=gpus,
        fits=fits,
        fit_note=fit_note,
        gpu_hours=gpu_hours,
        usd=gpu_hours * usd_per_gpu_hour,
        notes=tuple(notes),
    )


@dataclass(frozen=True)
class TrainingRecipe:
    """The TRL hyperparameters the plan stands behind (the judgements are policy settings)."""

    per_device_train_batch_size: int
    gradient_accumulation_steps: int
    learning_rate: float
    total_steps: int | None
    warmup_steps: int
    save_steps: int
    max_length: int
    lora_alpha: int | None


def training_recipe(
    *,
    method: Method,
    parameters: int,
    gpus: int,
    examples: int | None,
    epochs: float,
    lora_rank: int,
    a: SizingAssumptions,
) -> TrainingRecipe:
    """Micro-batch as the memory sizing assumed; accumulation to the effective batch; the
    learning rate by method and size; warm-up as a share of the steps; a checkpoint every
    tenth of the run (at least every 50 steps)."""
    per_device = a.train_micro_batch_size
    accumulation = max(1, a.train_effective_batch_sequences // (per_device * gpus))
    small, large = a.learning_rate_full if method == "full" else a.learning_rate_adapter
    steps = None
    if examples:
        per_epoch = -(-examples // (per_device * accumulation * gpus))
        steps = max(1, round(per_epoch * epochs))
    return TrainingRecipe(
        per_device_train_batch_size=per_device,
        gradient_accumulation_steps=accumulation,
        learning_rate=small if parameters <= 10e9 else large,
        total_steps=steps,
        warmup_steps=max(1, round(a.warmup_share * steps)) if steps else 10,
        save_steps=max(50, -(-steps // 10)) if steps else 500,
        max_length=a.train_sequence_length,
        lora_alpha=None if method == "full" else a.lora_alpha_per_rank * lora_rank,
    )
