"""The student's real architecture, read from a Hugging Face ``config.json``.

``load_architecture`` accepts a bundled catalog hub id (``meta-llama/Llama-3.1-8B``) or a
local folder holding ``config.json``. For the families it knows (llama, mistral, qwen2,
qwen3, gemma2, gemma3, phi3, and the mixtures of experts qwen3_moe and mixtral) it reads the
JSON directly and normalises it the way ``transformers.AutoConfig`` does (the same per-family defaults, ``head_dim =
hidden_size // num_attention_heads`` when absent, ``num_key_value_heads`` falling back to
``num_attention_heads``). Any other ``model_type`` falls back to ``AutoConfig`` itself,
imported lazily: ``import transformers`` costs more than a second, so it never happens at
import time of this module (the plan command's budget is 1.5 s).

``parameter_count`` is exact for the decoder-only, gated-MLP families above:

    embeddings        V x d
    per layer         attention  d x (H x hd)  +  2 x d x (KV x hd)  +  (H x hd) x d
                      + biases   (H + 2 KV) x hd  (qkv bias: Qwen2; attention_bias: all four)
                      + q/k norms  2 x hd  (Qwen3, Gemma 3: an RMSNorm over each head's q and k)
                      gated MLP  3 x d x I  (gate, up, down)
                      or experts E x 3 x d x I_e  +  router d x E  (mixture of experts, every layer)
                      RMSNorms   n x d   (n = 2; Gemma 2 and 3 have 4: pre/post attention and MLP)
    final norm        d
    LM head           V x d unless the embeddings are tied

``active_parameter_count`` is the same with the ``k`` routed experts of a token in place of
all ``E``: what one token's forward pass multiplies (its FLOPs); memory holds all weights.

Attention windows: Gemma 2 and 3 interleave sliding-window layers (``layer_types``; Gemma 3:
five local layers of a 1,024-token window per global layer). A local layer keeps the KV of
the last ``window`` tokens only, as vLLM's hybrid KV-cache allocator does, so the KV of a
sequence of ``c`` tokens is ``full_layers x c + sliding_layers x min(c, window)`` layer-tokens
(``kv_elements_per_token``). A window that applies to every layer (Mistral-7B-v0.1, Phi-3's
2,047) is counted as full attention: the KV is then over-, never under-stated.

Multimodal checkpoints (Gemma 3 ``Gemma3ForConditionalGeneration``) are read text-only: the
language model of ``text_config``, served with vLLM's ``language-model-only`` (no vision
tower loaded). Anything else not modelled (shared experts, dense layers among expert layers,
Qwen's optional sliding window, another family's experts or windows, other multimodal
checkpoints) is refused with the config's path and key, never sized as if it were dense.
"""

from __future__ import annotations

import difflib
import hashlib
import json
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from distillplan.catalogs.local import repo_catalog_path, repo_students
from distillplan.catalogs.students import STUDENT_FILES, config_problem
from distillplan.errors import ArchitectureError, InputError
from distillplan.files import data_path, is_inside, read_regular
from distillplan.git import repo_root

__all__ = [
    "Architecture",
    "active_parameter_count",
    "catalog_names",
    "expert_parameter_count",
    "experts_read_share",
    "kv_elements_per_token",
    "load_architecture",
    "mlp_shapes",
    "parameter_count",
]

# Hub id -> bundled file under data/architectures/. Kept in code so that listing the
# catalog parses no JSON; SOURCES.toml beside the files says where each came from.
_CATALOG = STUDENT_FILES
MAX_CONFIG_BYTES = 16 << 20  # a config.json is a few KB
_CATALOG_LOWER = {name.lower(): name for name in _CATALOG}


@dataclass(frozen=True)
class _Family:
    """What ``transformers`` assumes for a ``model_type`` when a key is absent, plus the
    structural facts parameter counting needs."""

    defaults: dict[str, Any]
    qkv_bias: bool  # q/k/v projections always carry a bias (Qwen2)
    norms_per_layer: int
    honours_attention_bias: bool  # ``attention_bias`` adds a bias to q, k, v and o
    honours_mlp_bias: bool
    qk_norm: bool = False  # an RMSNorm of head_dim over q and over k (Qwen3, Gemma 3)
    windows: str = "none"  # "layer_types": interleaved windows as transformers lays them out
    moe: bool = False  # the MLP of every layer is E routed experts of moe_intermediate_size
    fused: bool = False  # transformers fuses q/k/v into qkv_proj and gate/up into gate_up_proj (Phi-3)


_FAMILIES: dict[str, _Family] = {
    "llama": _Family(
        {
            "vocab_size": 32000,
            "hidden_size": 4096,
            "intermediate_size": 11008,
            "num_hidden_layers": 32,
            "num_attention_heads": 32,
            "num_key_value_heads": None,
            "head_dim": None,
            "max_position_embeddings": 2048,
            "tie_word_embeddings": False,
            "attention_bias": False,
            "mlp_bias": False,
        },
        qkv_bias=False,
        norms_per_layer=2,
        honours_attention_bias=True,
        honours_mlp_bias=True,
    ),
    "mistral": _Family(
        {
            "vocab_size": 32000,
            "hidden_size": 4096,
            "intermediate_size": 14336,
            "num_hidden_layers": 32,
            "num_attention_heads": 32,
            "num_key_value_heads": 8,
            "head_dim": None,
            "max_position_embeddings": 4096 * 32,
            "tie_word_embeddings": False,
        },
        qkv_bias=False,
        norms_per_layer=2,
        honours_attention_bias=False,
        honours_mlp_bias=False,
    ),
    "qwen2": _Family(
        {
            "vocab_size": 151936,
            "hidden_size": 4096,
            "intermediate_size": 22016,
            "num_hidden_layers": 32,
            "num_attention_heads": 32,
            "num_key_value_heads": 32,
            "head_dim": None,
            "max_position_embeddings": 32768,
            "tie_word_embeddings": False,
        },
        qkv_bias=True,
        norms_per_layer=2,
        honours_attention_bias=False,
        honours_mlp_bias=False,
    ),
    "qwen3": _Family(
        {
            "vocab_size": 151936,
            "hidden_size": 4096,
            "intermediate_size": 22016,
            "num_hidden_layers": 32,
            "num_attention_heads": 32,
            "num_key_value_heads": 32,
            "head_dim": 128,
            "max_position_embeddings": 32768,
            "tie_word_embeddings": False,
            "attention_bias": False,
        },
        qkv_bias=False,
        norms_per_layer=2,
        honours_attention_bias=True,
        honours_mlp_bias=False,
        qk_norm=True,
    ),
    "qwen3_moe": _Family(
        {
            "vocab_size": 151936,
            "hidden_size": 2048,
            "intermediate_size": 6144,
            "num_hidden_layers": 24,
            "num_attention_heads": 32,
            "num_key_value_heads": 4,
            "head_dim": None,
            "max_position_embeddings": 32768,
            "tie_word_embeddings": False,
            "attention_bias": False,
            "num_experts": 128,
            "num_experts_per_tok": 8,
            "moe_intermediate_size": 768,
        },
        qkv_bias=False,
        norms_per_layer=2,
        honours_attention_bias=True,
        honours_mlp_bias=False,
        qk_norm=True,
        moe=True,
    ),
    "mixtral": _Family(
        {
            "vocab_size": 32000,
            "hidden_size": 4096,
            "intermediate_size": 14336,
            "num_hidden_layers": 32,
            "num_attention_heads": 32,
            "num_key_value_heads": 8,
            "head_dim": None,
            "max_position_embeddings": 4096 * 32,
            "tie_word_embeddings": False,
            "num_local_experts": 8,
            "num_experts_per_tok": 2,
        },
        qkv_bias=False,
        norms_per_layer=2,
        honours_attention_bias=False,
        honours_mlp_bias=False,
        moe=True,
    ),
    "gemma2": _Family(
        {
            "vocab_size": 256000,
            "hidden_size": 2304,
            "intermediate_size": 9216,
            "num_hidden_layers": 26,
            "num_attention_heads": 8,
            "num_key_value_heads": 4,
            "head_dim": 256,
            "max_position_embeddings": 8192,
            "tie_word_embeddings": True,
            "attention_bias": False,
            "sliding_window": 4096,
        },
        qkv_bias=False,
        norms_per_layer=4,
        honours_attention_bias=True,
        honours_mlp_bias=False,
        windows="layer_types",
    ),
    "gemma3_text": _Family(
        {
            "vocab_size": 262208,
            "hidden_size": 2304,
            "intermediate_size": 9216,
            "num_hidden_layers": 26,
            "num_attention_heads": 8,
            "num_key_value_heads": 4,
            "head_dim": 256,
            "max_position_embeddings": 131072,
            "tie_word_embeddings": True,
            "attention_bias": False,
            "sliding_window": 4096,
        },
        qkv_bias=False,
        norms_per_layer=4,
        honours_attention_bias=True,
        honours_mlp_bias=False,
        qk_norm=True,
        windows="layer_types",
    ),
    "phi3": _Family(
        {
            "vocab_size": 32064,
            "hidden_size": 3072,
            "intermediate_size": 8192,
            "num_hidden_layers": 32,
            "num_attention_heads": 32,
            "num_key_value_heads": None,
            "head_dim": None,
            "max_position_embeddings": 4096,
            "tie_word_embeddings": False,
        },
        qkv_bias=False,
        norms_per_layer=2,
        honours_attention_bias=False,
        honours_mlp_bias=False,
        fused=True,
    ),
}
#: Multimodal model types whose language model is read from ``text_config`` (text-only use).
_TEXT_CONFIG_TYPES = {"gemma3": "gemma3_text"}
#: Every 2nd layer of Gemma 2 and every 6th of Gemma 3 is global, the others local (transformers'
#: ``layer_types`` when a config does not list them; Gemma 3 configs may state the period).
_WINDOW_PERIOD = {"gemma2": 2, "gemma3_text": 6}
FAST_MODEL_TYPES: frozenset[str] = frozenset(_FAMILIES) | frozenset(_TEXT_CONFIG_TYPES)


@dataclass(frozen=True)
class Architecture:
    """A decoder-only transformer's shape, normalised like ``transformers.AutoConfig``.

    ``source`` is ``catalog:<hub id>`` or the folder the ``config.json`` was read from.
    ``attention_out_bias`` / ``mlp_bias`` are only true for configs that set
    ``attention_bias`` / ``mlp_bias`` (Llama-style); ``norms_per_layer`` is 4 for Gemma 2 and 3.
    ``sliding_layers`` of the layers attend to the last ``sliding_window`` tokens only;
    ``num_experts`` > 0 makes every layer's MLP that many experts of ``moe_intermediate_size``,
    ``experts_per_token`` of them routed per token; ``text_only`` marks the language model of a
    multimodal checkpoint.
    """

    name: str
    model_type: str
    hidden_size: int
    num_hidden_layers: int
    num_attention_heads: int
    num_key_value_heads: int
    head_dim: int
    intermediate_size: int
    vocab_size: int
    tie_word_embeddings: bool
    qkv_bias: bool
    max_position_embeddings: int
    source: str
    attention_out_bias: bool = False
    mlp_bias: bool = False
    norms_per_layer: int = 2
    qk_norm: bool = False
    sliding_window: int | None = None
    sliding_layers: int = 0
    num_experts: int = 0
    experts_per_token: int = 0
    moe_intermediate_size: int = 0
    text_only: bool = False
    fused_projections: bool = False

    @property
    def is_moe(self) -> bool:
        return self.num_experts > 0

    @property
    def mlp_width_per_token(self) -> int:
        """The MLP's intermediate width one token runs through (k experts' for a mixture)."""
        return self.experts_per_token * self.moe_intermediate_size if self.is_moe else self.intermediate_size


def catalog_names() -> list[str]:
    """The bundled hub ids, in catalog order."""
    return list(_CATALOG)


def load_architecture(base_model: str, *, base_dir: Path) -> Architecture:
    """Resolve ``base_model``: a catalog hub id first, else a folder (relative to
    ``base_dir``) holding ``config.json``. Raises ``ArchitectureError`` otherwise."""
    canonical = _CATALOG_LOWER.get(base_model.lower())
    if canonical is not None:
        path = data_path("architectures", f"{_CATALOG[canonical]}.json")
        return _from_config(
            _read_json(path),
            name=canonical,
            source=f"catalog:{canonical}",
            folder=path.parent,
            config_path=path,
        )
    local = _repo_catalog_entry(base_model, base_dir)
    if local is not None:
        return local
    folder = Path(base_model).expanduser()
    if not folder.is_absolute():
        folder = base_dir / folder
    config_path = folder / "config.json"
    if config_path.is_file():
        return _from_config(
            _read_json(config_path),
            name=base_model,
            source=str(folder),
            folder=folder,
            config_path=config_path,
        )
    close = difflib.get_close_matches(base_model, catalog_names(), n=3, cutoff=0.5)
    hint = f"; close catalog names: {', '.join(close)}" if close else ""
    raise ArchitectureError(
        f"base model {base_model!r} is neither a catalog name nor a folder with config.json "
        f"under {base_dir}; give a local folder holding the model's config.json{hint} "
        f"(catalog: {', '.join(catalog_names())})"
    )


def _repo_catalog_entry(name: str, base_dir: Path) -> Architecture | None:
    """``name`` from the repository's catalog (``.distillplan/students.toml``, written by
    ``distillplan catalog add``), read from its folder; None when the repository has no such entry."""
    root = repo_root(base_dir) if base_dir.exists() else None
    entry = repo_students(root).get(name)
    if root is None or entry is None:
        return None
    catalog = repo_catalog_path(root)
    folder = root / entry.path
    config_path = folder / "config.json"
    if not is_inside(folder, root) or not config_path.is_file():
        raise ArchitectureError(
            f"{catalog}: {name}.path: {entry.path!r} is not a folder inside the repository holding config.json"
        )
    raw = read_regular(config_path, limit_bytes=MAX_CONFIG_BYTES)
    if hashlib.sha256(raw).hexdigest() != entry.config_sha256:
        raise ArchitectureError(
            f"{catalog}: {name}.config_sha256: {config_path} changed since it was added; check it and run "
            f"`distillplan catalog add {entry.path} --name {name} --replace`"
        )
    return _from_config(
        _read_json(config_path), name=name, source=f"repo catalog:{name}", folder=folder, config_path=config_path
    )


def parameter_count(arch: Architecture) -> int:
    """Exact trainable parameters (the formula in the module docstring): all experts."""
    return _count(arch, arch.num_experts)


def active_parameter_count(arch: Architecture) -> int:
    """Parameters one token's forward pass uses: the ``experts_per_token`` routed experts of
    each layer instead of all of them (equal to ``parameter_count`` for a dense model)."""
    return _count(arch, arch.experts_per_token)


def expert_parameter_count(arch: Architecture) -> int:
    """Parameters of all experts of all layers (0 for a dense model)."""
    return arch.num_hidden_layers * arch.num_experts * 3 * arch.hidden_size * arch.moe_intermediate_size


def mlp_shapes(arch: Architecture) -> list[tuple[int, int]]:
    """(in_features, out_features) of one layer's MLP linears: gate, up, down; for a mixture of
    experts, those of every expert (the router stays out: it is kept at 16 bits)."""
    d = arch.hidden_size
    if arch.is_moe:
        m = arch.moe_intermediate_size
        return [(d, m), (d, m), (m, d)] * arch.num_experts
    i = arch.intermediate_size
    return [(d, i), (d, i), (i, d)]


def experts_read_share(arch: Architecture, tokens: int) -> float:
    """Expected share of a layer's experts that ``tokens`` tokens of one step route to, with
    uniform routing: ``1 - (1 - k/E)^tokens`` (1.0 for a dense model). Real routers are skewed
    toward some experts, so the real share is lower: the weight read is not understated."""
    if not arch.is_moe:
        return 1.0
    return 1.0 - (1.0 - arch.experts_per_token / arch.num_experts) ** max(1, tokens)


def kv_elements_per_token(arch: Architecture, context: int | None = None) -> float:
    """K and V elements per token, averaged over a sequence of ``context`` tokens: local
    (sliding-window) layers keep at most ``sliding_window`` tokens. ``None``: every layer full
    (the unbounded worst case)."""
    per_layer = 2 * arch.num_key_value_heads * arch.head_dim
    window = arch.sliding_window
    if context is None or window is None or arch.sliding_layers == 0 or context <= window:
        return float(per_layer * arch.num_hidden_layers)
    full = arch.num_hidden_layers - arch.sliding_layers
    return per_layer * (full + arch.sliding_layers * window / context)


def _count(arch: Architecture, experts: int) -> int:
    d, hd = arch.hidden_size, arch.head_dim
    q_width = arch.num_attention_heads * hd
    kv_width = arch.num_key_value_heads * hd
    attention = d * q_width + 2 * d * kv_width + q_width * d
    if arch.qkv_bias:
        attention += q_width + 2 * kv_width
    if arch.attention_out_bias:
        attention += d
    if arch.qk_norm:
        attention += 2 * hd
    if arch.is_moe:
        mlp = experts * 3 * d * arch.moe_intermediate_size + d * arch.num_experts
    else:
        mlp = 3 * d * arch.intermediate_size
    if arch.mlp_bias:
        mlp += 2 * arch.intermediate_size + d
    per_layer = attention + mlp + arch.norms_per_layer * d
    embeddings = arch.vocab_size * d
    head = 0 if arch.tie_word_embeddings else arch.vocab_size * d
    return embeddings + arch.num_hidden_layers * per_layer + d + head


def _read_json(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(read_regular(path, limit_bytes=MAX_CONFIG_BYTES).decode("utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError, InputError, RecursionError) as e:
        raise ArchitectureError(f"{path}: cannot read config.json ({e})") from e
    if not isinstance(data, dict):
        raise ArchitectureError(f"{path}: config.json must hold a JSON object")
    return data


def _from_config(config: dict[str, Any], *, name: str, source: str, folder: Path, config_path: Path) -> Architecture:
    model_type = config.get("model_type")
    if not isinstance(model_type, str) or not model_type:
        raise ArchitectureError(f"{config_path}: config.json has no 'model_type'")
    why = config_problem(config)
    if why:
        raise ArchitectureError(f"{config_path}: {why}")
    text_only = model_type in _TEXT_CONFIG_TYPES
    if text_only:
        text = config.get("text_config")
        if not isinstance(text, dict):
            raise ArchitectureError(
                f"{config_path}: text_config: model_type {model_type!r} is multimodal and its language model's "
                "shape is read from 'text_config', which is missing or not an object"
            )
        config, model_type = text, _TEXT_CONFIG_TYPES[model_type]
    family = _FAMILIES.get(model_type)
    if family is None:
        return _from_autoconfig(folder, name=name, source=source, config_path=config_path)
    where = "text_config." if text_only else ""
    raw = {key: config.get(key, default) for key, default in family.defaults.items()}
    try:
        heads = int(raw["num_attention_heads"])
        hidden = int(raw["hidden_size"])
        layers = int(raw["num_hidden_layers"])
        kv = raw["num_key_value_heads"]
        head_dim = raw["head_dim"]
        attention_bias = bool(raw.get("attention_bias", False)) and family.honours_attention_bias
        window, sliding = _windows(config, model_type, family, layers, config_path, where)
        experts, per_token, moe_width = _experts(config, raw, model_type, family, layers, config_path)
        arch = Architecture(
            name=name,
            model_type=model_type,
            hidden_size=hidden,
            num_hidden_layers=layers,
            num_attention_heads=heads,
            num_key_value_heads=int(kv) if kv is not None else heads,
            head_dim=int(head_dim) if head_dim is not None else hidden // heads,
            intermediate_size=int(raw["intermediate_size"]),
            vocab_size=int(raw["vocab_size"]),
            tie_word_embeddings=bool(raw["tie_word_embeddings"]),
            qkv_bias=family.qkv_bias or attention_bias,
            max_position_embeddings=int(raw["max_position_embeddings"]),
            source=source,
            attention_out_bias=attention_bias,
            mlp_bias=bool(raw.get("mlp_bias", False)) and family.honours_mlp_bias,
            norms_per_layer=family.norms_per_layer,
            qk_norm=family.qk_norm,
            sliding_window=window,
            sliding_layers=sliding,
            num_experts=experts,
            experts_per_token=per_token,
            moe_intermediate_size=moe_width,
            text_only=text_only,
            fused_projections=family.fused,
        )
    except (TypeError, ValueError, ZeroDivisionError) as e:
        raise ArchitectureError(f"{config_path}: malformed {model_type} config ({e})") from e
    for key in ("hidden_size", "num_hidden_layers", "num_attention_heads", "num_key_value_heads", "head_dim"):
        if getattr(arch, key) < 1:
            raise ArchitectureError(
                f"{config_path}: {where}{key}: must be a positive integer (got {getattr(arch, key)})"
            )
    return arch


def _positive(value: object, key: str, config_path: Path) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ArchitectureError(f"{config_path}: {key}: must be a positive integer (got {value!r})")
    return value


def _windows(
    config: dict[str, Any], model_type: str, family: _Family, layers: int, config_path: Path, where: str
) -> tuple[int | None, int]:
    """(sliding window, layers using it) as transformers lays them out; refuses what is not modelled."""
    if family.windows == "none":
        types = config.get("layer_types")
        if isinstance(types, list) and any(t != "full_attention" for t in types):
            raise ArchitectureError(
                f"{config_path}: {where}layer_types: {model_type} with attention kinds other than full attention "
                "is not modelled by the sizing (only Gemma 2 and 3 interleave sliding windows)"
            )
        if config.get("use_sliding_window") is True:
            raise ArchitectureError(
                f"{config_path}: {where}use_sliding_window: {model_type}'s optional sliding-window attention is not "
                "modelled by the sizing; set it to false (the published checkpoints do) or use another base"
            )
        return None, 0  # a window over every layer (Mistral v0.1, Phi-3) is sized as full attention: conservative
    window = _positive(
        config.get("sliding_window", family.defaults.get("sliding_window")), f"{where}sliding_window", config_path
    )
    types = config.get("layer_types")
    if types is None:
        period = config.get("sliding_window_pattern", config.get("_sliding_window_pattern", _WINDOW_PERIOD[model_type]))
        period = _positive(period, f"{where}sliding_window_pattern", config_path)
        types = ["sliding_attention" if (i + 1) % period else "full_attention" for i in range(layers)]
    if (
        not isinstance(types, list)
        or len(types) != layers
        or any(t not in ("sliding_attention", "full_attention") for t in types)
    ):
        raise ArchitectureError(
            f"{config_path}: {where}layer_types: expected {layers} entries, each 'sliding_attention' or "
            "'full_attention' (other attention kinds are not modelled)"
        )
    return window, types.count("sliding_attention")


def _experts(
    config: dict[str, Any], raw: dict[str, Any], model_type: str, family: _Family, layers: int, config_path: Path
) -> tuple[int, int, int]:
    """(experts, experts per token, expert width) of a mixture of experts; (0, 0, 0) when dense."""
    if not family.moe:
        for key in ("num_experts", "num_local_experts", "n_routed_experts"):
            if config.get(key):
                raise ArchitectureError(
                    f"{config_path}: {key}: experts in a {model_type} config are not modelled (mixtures of experts: "
                    "qwen3_moe, mixtral); sizing it as dense would be wrong"
                )
        return 0, 0, 0
    if model_type == "qwen3_moe":
        step = config.get("decoder_sparse_step", 1)
        if step != 1:
            raise ArchitectureError(
                f"{config_path}: decoder_sparse_step: {step!r}: only every layer a mixture of experts (1) is modelled"
            )
        if config.get("mlp_only_layers") not in (None, []):
            raise ArchitectureError(
                f"{config_path}: mlp_only_layers: dense layers among the expert layers are not modelled (expected [])"
            )
        experts = _positive(raw["num_experts"], "num_experts", config_path)
        width = _positive(raw["moe_intermediate_size"], "moe_intermediate_size", config_path)
    else:  # mixtral: every layer's experts are as wide as intermediate_size
        experts = _positive(raw["num_local_experts"], "num_local_experts", config_path)
        width = _positive(raw["intermediate_size"], "intermediate_size", config_path)
    if config.get("shared_expert_intermediate_size") or config.get("n_shared_experts"):
        raise ArchitectureError(f"{config_path}: shared experts are not modelled for {model_type}")
    per_token = _positive(raw["num_experts_per_tok"], "num_experts_per_tok", config_path)
    if per_token > experts:
        raise ArchitectureError(
            f"{config_path}: num_experts_per_tok: {per_token} routed experts per token exceed the {experts} experts"
        )
    return experts, per_token, width


#: Keys whose presence in a config read through AutoConfig means a structure the sizing
#: does not model (experts, per-layer attention kinds, a nested language model).
_UNMODELLED_KEYS = (
    ("num_experts", "mixture of experts"),
    ("num_local_experts", "mixture of experts"),
    ("n_routed_experts", "mixture of experts"),
    ("moe_intermediate_size", "mixture of experts"),
    ("text_config", "multimodal checkpoint"),
)


def model_type_of(folder: Path) -> str:
    """The ``model_type`` a ``config.json`` declares (``?`` when unreadable)."""
    try:
        return str(json.loads((folder / "config.json").read_text(encoding="utf-8")).get("model_type", "?"))
    except (OSError, ValueError, AttributeError):
        return "?"


def _from_autoconfig(folder: Path, *, name: str, source: str, config_path: Path) -> Architecture:
    """Fallback for a ``model_type`` outside the fast set: let ``AutoConfig`` read it.

    Counting assumes the same gated-MLP decoder layout, so for other families
    ``parameter_count`` is an estimate, not exact."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
    try:
        import transformers  # lazy on purpose: the import costs >1 s, and it is an optional extra
    except ImportError:
        raise ArchitectureError(
            f"{config_path}: model_type {model_type_of(folder)!r} is outside the bundled reader; reading it needs "
            "transformers: pip install 'distillplan[hf]'"
        ) from None

    # Untyped in transformers; held as a typed callable so that mypy is clean with and without the extra.
    quiet: Callable[[], object] = transformers.utils.logging.set_verbosity_error
    quiet()
    try:
        cfg = transformers.AutoConfig.from_pretrained(str(folder), local_files_only=True)
    except Exception as e:  # transformers raises ValueError, OSError, KeyError...
        raise ArchitectureError(f"{config_path}: transformers cannot read it ({e})") from e
    if getattr(cfg, "is_encoder_decoder", False):
        raise ArchitectureError(
            f"{config_path}: {config_problem({'model_type': cfg.model_type, 'is_encoder_decoder': True})}"
        )
    for key, what in _UNMODELLED_KEYS:
        if getattr(cfg, key, None):
            raise ArchitectureError(
                f"{config_path}: {key}: model_type {cfg.model_type!r} is a {what}, which the sizing models only for "
                f"{', '.join(sorted(FAST_MODEL_TYPES))}; sizing it as a dense text model would be wrong"
            )
    types = getattr(cfg, "layer_types", None)
    if isinstance(types, list) and any(t != "full_attention" for t in types):
        raise ArchitectureError(
            f"{config_path}: layer_types: model_type {cfg.model_type!r} mixes attention kinds "
            f"({', '.join(sorted(set(map(str, types))))}); the sizing models them only for gemma2 and gemma3"
        )
    if not int(getattr(cfg, "max_position_embeddings", 0) or 0) > 0:
        raise ArchitectureError(
            f"{config_path}: model_type {cfg.model_type!r} states no context length (max_position_embeddings): "
            "the serving sizing needs the context window"
        )
    try:
        heads = int(cfg.num_attention_heads)
        hidden = int(cfg.hidden_size)
        kv = getattr(cfg, "num_key_value_heads", None)
        head_dim = getattr(cfg, "head_dim", None)
        intermediate = getattr(cfg, "intermediate_size", None)
        return Architecture(
            name=name,
            model_type=str(cfg.model_type),
            hidden_size=hidden,
            num_hidden_layers=int(cfg.num_hidden_layers),
            num_attention_heads=heads,
            num_key_value_heads=int(kv) if kv is not None else heads,
            head_dim=int(head_dim) if head_dim is not None else hidden // heads,
            intermediate_size=int(intermediate) if intermediate is not None else 4 * hidden,
            vocab_size=int(cfg.vocab_size),
            tie_word_embeddings=bool(getattr(cfg, "tie_word_embeddings", False)),
            qkv_bias=bool(getattr(cfg, "attention_bias", False)),
            max_position_embeddings=int(cfg.max_position_embeddings),
            source=source,
        )
    except (AttributeError, TypeError, ValueError, ZeroDivisionError) as e:
        raise ArchitectureError(f"{config_path}: model_type {cfg.model_type!r} lacks a decoder shape ({e})") from e
