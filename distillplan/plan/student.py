"""The student's base as the plan shows it: the architecture as sized, the family's chat rules
(the generated configs follow them), and for a bundled base its license, the clauses that bind
the client (:mod:`distillplan.catalogs.licenses`) and its catalog facts (``data/students.toml``).
"""

from __future__ import annotations

import functools

from distillplan.catalogs.licenses import LICENSES
from distillplan.catalogs.sources import StudentFacts, student_facts
from distillplan.catalogs.students import STUDENT_FILES
from distillplan.plan.model import StudentOut
from distillplan.sizing.architecture import Architecture, active_parameter_count, parameter_count

__all__ = ["NO_SYSTEM_ROLE", "THINKING_MODE", "facts_of", "fold_system_prompt", "lora_target_modules", "student_out"]

#: Families whose chat template has no system turn (Gemma 2 raises on one; Gemma 3 folds it into
#: the first user turn itself): the generated eval and training data fold the system prompt into
#: the first user message, so what the student is trained and evaluated on is the same text.
NO_SYSTEM_ROLE: frozenset[str] = frozenset({"gemma2", "gemma3_text"})
#: Families with a hybrid thinking chat template (Qwen3): a task student answers without a
#: reasoning trace, so vLLM and the eval pass ``enable_thinking: false`` to the template.
THINKING_MODE: frozenset[str] = frozenset({"qwen3", "qwen3_moe"})
_LOWER = {name.lower(): name for name in STUDENT_FILES}


#: The attention projections every modelled family names alike (the adapters of a mixture of experts).
ATTENTION_MODULES = ["q_proj", "k_proj", "v_proj", "o_proj"]


def lora_target_modules(arch: Architecture) -> list[str]:
    """The PEFT target modules of the generated sft.yaml, the ones the sizing counts
    (:func:`~distillplan.sizing.finetune.trainable_parameters`): every linear layer of a dense
    model (``all-linear``: the fused ``qkv_proj`` / ``gate_up_proj`` of Phi-3 included); the
    attention projections of a mixture of experts (PEFT would otherwise put an adapter on each
    of the experts: Qwen3-30B-A3B at rank 16, 996M trainable parameters instead of 13M)."""
    return list(ATTENTION_MODULES) if arch.is_moe else ["all-linear"]


def fold_system_prompt(messages: list[dict[str, str]]) -> list[dict[str, str]]:
    """``messages`` with a leading system message folded into the first user turn (its text, a
    blank line, the user's text): what Gemma 3's chat template does itself, for every family
    whose template has no system role (:data:`NO_SYSTEM_ROLE`; Gemma 2's raises on one)."""
    if not messages or messages[0].get("role") != "system":
        return messages
    system, rest = messages[0], list(messages[1:])
    if rest and rest[0].get("role") == "user":
        rest[0] = {**rest[0], "content": f"{system.get('content', '')}\n\n{rest[0].get('content', '')}"}
        return rest
    return [{**system, "role": "user"}, *rest]


@functools.lru_cache(maxsize=1)
def _facts() -> dict[str, StudentFacts]:
    return student_facts()


def facts_of(base_model: str) -> StudentFacts | None:
    """The catalog facts of a bundled base (case-insensitive hub id), else None."""
    name = _LOWER.get(base_model.lower())
    return None if name is None else _facts().get(name)


def student_out(base_model: str, arch: Architecture) -> StudentOut:
    f = facts_of(base_model)
    lic = LICENSES[f.license] if f is not None else None
    return StudentOut(
        base_model=base_model,
        model_type=arch.model_type,
        parameters=parameter_count(arch),
        active_parameters=active_parameter_count(arch),
        experts=arch.num_experts,
        experts_per_token=arch.experts_per_token,
        layers=arch.num_hidden_layers,
        sliding_window=arch.sliding_window,
        sliding_layers=arch.sliding_layers,
        text_only=arch.text_only,
        max_position_embeddings=arch.max_position_embeddings,
        vocab_size=arch.vocab_size,
        system_role=arch.model_type not in NO_SYSTEM_ROLE,
        thinking_mode=arch.model_type in THINKING_MODE,
        lora_target_modules=lora_target_modules(arch),
        license=None if f is None else f.license,
        license_name=None if lic is None else lic.name,
        license_url=None if lic is None else lic.url,
        license_clauses=[] if lic is None else list(lic.clauses),
        gated=None if f is None else f.gated,
        context_tokens=None if f is None else f.context_tokens,
        release_date=None if f is None else f.release_date,
        superseded_by=None if f is None or not f.superseded_by else f.superseded_by,
        quality_prior=None if f is None else f.quality_prior,
        quality_source=None if f is None else f.quality_source,
    )
