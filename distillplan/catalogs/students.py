"""The bundled student architectures (``data/architectures/*.json``), by hub id.

A new student is one ``config.json`` under ``data/architectures`` plus one entry here and in
``data/architectures/SOURCES.toml`` (published parameter count, source, date).
"""

from __future__ import annotations

__all__ = ["STUDENT_FILES", "config_problem", "is_student_name"]

#: Bundled student architectures: hub id -> file under data/architectures (without .json).
STUDENT_FILES: dict[str, str] = {
    "meta-llama/Llama-2-7b-hf": "llama-2-7b-hf",
    "meta-llama/Llama-2-13b-hf": "llama-2-13b-hf",
    "meta-llama/Llama-3.1-8B": "llama-3.1-8b",
    "mistralai/Mistral-7B-v0.3": "mistral-7b-v0.3",
    "Qwen/Qwen2.5-7B": "qwen2.5-7b",
    "Qwen/Qwen2.5-14B": "qwen2.5-14b",
    "google/gemma-2-9b": "gemma-2-9b",
    "microsoft/Phi-3-medium-4k-instruct": "phi-3-medium-4k-instruct",
    "Qwen/Qwen3-8B": "qwen3-8b",
    "Qwen/Qwen3-14B": "qwen3-14b",
    "Qwen/Qwen3-30B-A3B": "qwen3-30b-a3b",
    "google/gemma-3-12b-it": "gemma-3-12b-it",
    "microsoft/phi-4": "phi-4",
    "mistralai/Mistral-Nemo-Base-2407": "mistral-nemo-base-2407",
}
_STUDENTS_LOWER = {name.lower(): name for name in STUDENT_FILES}


def is_student_name(name: str) -> bool:
    """True when ``name`` is a bundled student hub id (case-insensitive). Reads no file."""
    return name.lower() in _STUDENTS_LOWER


#: ``model_type`` values of encoder-decoder (seq2seq) and encoder-only families: the sizing
#: model (a decoder-only transformer serving one request in one context window) cannot size them.
ENCODER_DECODER_TYPES: frozenset[str] = frozenset(
    {
        "t5",
        "mt5",
        "umt5",
        "longt5",
        "switch_transformers",
        "bart",
        "mbart",
        "pegasus",
        "pegasus_x",
        "marian",
        "led",
        "prophetnet",
        "m2m_100",
        "nllb-moe",
        "fsmt",
        "blenderbot",
        "blenderbot-small",
        "plbart",
        "bigbird_pegasus",
        "encoder-decoder",
        "whisper",
    }
)
ENCODER_ONLY_TYPES: frozenset[str] = frozenset(
    {"bert", "roberta", "xlm-roberta", "deberta", "deberta-v2", "distilbert", "electra", "albert", "modernbert"}
)
#: Keys a decoder's config.json states its context window under (transformers' attribute maps).
CONTEXT_KEYS: tuple[str, ...] = ("max_position_embeddings", "n_positions", "n_ctx", "max_sequence_length", "seq_length")
#: Multimodal model types whose language model distillplan reads from ``text_config`` and sizes
#: text-only (vLLM's ``language-model-only``): their ``architectures`` name a
#: ``…ForConditionalGeneration`` class.
TEXT_ONLY_MULTIMODAL_TYPES: frozenset[str] = frozenset({"gemma3"})


def config_problem(config: dict[str, object]) -> str | None:
    """Why a ``config.json`` describes a model the sizing cannot size, or None.

    The sizing (serving memory, KV cache, throughput, training) models a decoder-only causal
    language model with a stated context window. An encoder-decoder (T5, BART) or encoder-only
    (BERT) model, a config whose ``architectures`` name no causal-LM class, or one that states
    no context length is refused here rather than sized with wrong figures."""
    model_type = config.get("model_type")
    kind = model_type if isinstance(model_type, str) else "?"
    if config.get("is_encoder_decoder") is True or kind in ENCODER_DECODER_TYPES:
        return (
            f"model_type {kind!r} is an encoder-decoder model; distillplan sizes decoder-only causal language "
            "models (Llama, Mistral, Qwen, Gemma, Phi): pick one of those"
        )
    if kind in ENCODER_ONLY_TYPES:
        return f"model_type {kind!r} is an encoder-only model: it does not generate text; pick a decoder-only base"
    archs = config.get("architectures")
    if (
        kind not in TEXT_ONLY_MULTIMODAL_TYPES
        and isinstance(archs, list)
        and archs
        and not any(isinstance(a, str) and (a.endswith("ForCausalLM") or a.endswith("LMHeadModel")) for a in archs)
    ):
        named = ", ".join(str(a) for a in archs)
        return (
            f"architectures {named} name no causal-LM class (…ForCausalLM); distillplan sizes decoder-only "
            "causal language models"
        )
    ctx = [config.get(k) for k in CONTEXT_KEYS if k in config]
    if ctx and not any(isinstance(v, int) and not isinstance(v, bool) and v > 0 for v in ctx):
        return f"model_type {kind!r} states no positive context length ({', '.join(CONTEXT_KEYS)})"
    return None
