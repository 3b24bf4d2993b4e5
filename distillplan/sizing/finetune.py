"""Fine-tuning sizing (P4 'fine-tune compute'): memory, GPU count, GPU-hours and cost.

Uses the student's real architecture and the judgements in ``SizingAssumptions`` (the
policy's ``[policy.sizing]`` table); formulas in :func:`size_training`. Serving sizing
and the GPU catalog are in :mod:`distillplan.sizing.serving`.
"""

from __future__ import annotations

from dataclasses import dataclass

from distillplan.catalogs.gpus import Gpu
from distillplan.sizing.architecture import Architecture, parameter_count
from distillplan.sizing.serving import GIB, SizingAssumptions, linear_shapes, weight_bytes
from distillplan.spec.registry import Method

__all__ = ["TrainingRecipe", "TrainingSizing", "size_training", "trainable_parameters", "training_recipe"]


@dataclass(frozen=True)
class TrainingSizing:
    gpu: str
    method: Method
    parameters: int
    trainable_parameters: int
    lora_rank: int | None
    memory_gib: float
    gpus: int
    gpu_hours: float
    usd: float
    notes: tuple[str, ...]


def trainable_parameters(arch: Architecture, method: Method, rank: int) -> int:
    """All parameters for full fine-tuning; for LoRA/QLoRA, rank x (in + out) for each of the
    seven linear layers of every decoder layer (A is rank x in, B is out x rank)."""
    if method == "full":
        return parameter_count(arch)
    return arch.num_hidden_layers * sum(rank * (i + o) for i, o in linear_shapes(arch))


def _activation_bytes(arch: Architecture, a: SizingAssumptions) -> int:
    """Activations per GPU with gradient checkpointing and FlashAttention: each layer's input
    (b x s x d x 2 bytes) is kept, one layer is recomputed at a time (~34 x b x s x d bytes,
    Korthikanti et al. 2022 without the attention-score term), and the logits in fp32."""
    bsd = a.train_micro_batch_size * a.train_sequence_length * arch.hidden_size
    logits = a.train_micro_batch_size * a.train_sequence_length * arch.vocab_size * 4
    return arch.num_hidden_layers * bsd * 2 + 34 * bsd + logits


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

    Memory: full = 16 bytes/parameter (bf16 weights and grads, fp32 master, Adam m and v),
    sharded with ZeRO-3/FSDP over the GPUs; LoRA = bf16 base + 16 bytes per adapter
    parameter; QLoRA = NF4 base (0.5 byte + constants) for linear weights, 16-bit
    embeddings/lm_head, + adapters. GPU-hours = factor x N x tokens / (bf16 peak x MFU) x
    sweep runs, factor 6 (full) or ``adapter_flops_factor`` (x ``qlora_slowdown`` for QLoRA)."""
    a = assumptions
    n = parameter_count(arch)
    trainable = trainable_parameters(arch, method, lora_rank)
    activations = _activation_bytes(arch, a)
    overhead = a.training_overhead_gib * GIB
    notes: list[str] = []
    if method == "full":
        states = 16 * n
        gpus = 1
        while gpus < 64 and states / gpus + activations + overhead > gpu.memory_gib * GIB:
            gpus *= 2
        per_gpu = states / gpus + activations + overhead
        flops_factor = 6.0
        notes.append(
            f"full fine-tuning: 16 bytes/parameter ({states / GIB:.0f} GiB of states) "
            f"sharded with ZeRO-3/FSDP over {gpus} GPUs"
        )
    else:
        if method == "lora":
            base = weight_bytes(arch, "bf16", a)[0]
        else:
            linear = arch.num_hidden_layers * sum(i * o for i, o in linear_shapes(arch))
            base = int(linear * (0.5 + a.qlora_constant_bits_per_parameter / 8) + 2 * (n - linear))
        per_gpu = base + 16 * trainable + activations + overhead
        gpus = 1 if per_gpu <= gpu.memory_gib * GIB else 2
        flops_factor = a.adapter_flops_factor * (a.qlora_slowdown if method == "qlora" else 1.0)
        notes.append(
            f"{method}: rank {lora_rank} on all 7 linear layers, "
            f"{trainable / 1e6:.1f}M trainable parameters; base frozen "
            f"({base / GIB:.1f} GiB)"
        )
        if gpus > 1:
            notes.append(f"does not fit one {gpu.name}: shard the base or shorten sequences")
    notes.append(
        f"activations {activations / GIB:.1f} GiB at micro-batch "
        f"{a.train_micro_batch_size} x {a.train_sequence_length} tokens, gradient checkpointing"
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
        gpus=gpus,
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
