"""The student's real architecture, read from a Hugging Face ``config.json``.

``load_architecture`` accepts a bundled catalog hub id (``meta-llama/Llama-3.1-8B``) or a
local folder holding ``config.json``. For the families it knows (llama, mistral, qwen2,
gemma2, phi3) it reads the JSON directly and normalises it the way
``transformers.AutoConfig`` does (the same per-family defaults, ``head_dim =
hidden_size // num_attention_heads`` when absent, ``num_key_value_heads`` falling back to
``num_attention_heads``). Any other ``model_type`` falls back to ``AutoConfig`` itself,
imported lazily: ``import transformers`` costs more than a second, so it never happens at
import time of this module (the plan command's budget is 1.5 s).

``parameter_count`` is exact for the decoder-only, gated-MLP families above:

    embeddings        V x d
    per layer         attention  d x (H x hd)  +  2 x d x (KV x hd)  +  (H x hd) x d
                      + biases   (H + 2 KV) x hd  (qkv bias: Qwen2; attention_bias: all four)
                      gated MLP  3 x d x I  (gate, up, down)
                      RMSNorms   n x d   (n = 2; Gemma 2 has 4: pre/post attention and MLP)
    final norm        d
    LM head           V x d unless the embeddings are tied
"""

from __future__ import annotations

import difflib
import json
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from distillplan.catalogs.students import STUDENT_FILES, config_problem
from distillplan.errors import ArchitectureError, InputError
from distillplan.files import data_path, read_regular

__all__ = [
    "Architecture",
    "catalog_names",
    "load_architecture",
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
        },
        qkv_bias=False,
        norms_per_layer=4,
        honours_attention_bias=True,
        honours_mlp_bias=False,
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
    ),
}
FAST_MODEL_TYPES: frozenset[str] = frozenset(_FAMILIES)


@dataclass(frozen=True)
class Architecture:
    """A decoder-only transformer's shape, normalised like ``transformers.AutoConfig``.

    ``source`` is ``catalog:<hub id>`` or the folder the ``config.json`` was read from.
    ``attention_out_bias`` / ``mlp_bias`` are only true for configs that set
    ``attention_bias`` / ``mlp_bias`` (Llama-style); ``norms_per_layer`` is 4 for Gemma 2.
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


def parameter_count(arch: Architecture) -> int:
    """Exact trainable parameters (the formula in the module docstring)."""
    d, hd = arch.hidden_size, arch.head_dim
    q_width = arch.num_attention_heads * hd
    kv_width = arch.num_key_value_heads * hd
    attention = d * q_width + 2 * d * kv_width + q_width * d
    if arch.qkv_bias:
        attention += q_width + 2 * kv_width
    if arch.attention_out_bias:
        attention += d
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
    family = _FAMILIES.get(model_type)
    if family is None:
        return _from_autoconfig(folder, name=name, source=source, config_path=config_path)
    raw = {key: config.get(key, default) for key, default in family.defaults.items()}
    try:
        heads = int(raw["num_attention_heads"])
        hidden = int(raw["hidden_size"])
        kv = raw["num_key_value_heads"]
        head_dim = raw["head_dim"]
        attention_bias = bool(raw.get("attention_bias", False)) and family.honours_attention_bias
        return Architecture(
            name=name,
            model_type=model_type,
            hidden_size=hidden,
            num_hidden_layers=int(raw["num_hidden_layers"]),
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
        )
    except (TypeError, ValueError, ZeroDivisionError) as e:
        raise ArchitectureError(f"{config_path}: malformed {model_type} config ({e})") from e


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
