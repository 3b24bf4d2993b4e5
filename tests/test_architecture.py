"""distillplan.sizing.architecture: catalog, config reading, exact parameter counts."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import asdict
from pathlib import Path

import pytest

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

from distillplan.errors import ArchitectureError, DistillError
from distillplan.files import data_path
from distillplan.sizing.architecture import (
    FAST_MODEL_TYPES,
    catalog_names,
    load_architecture,
    parameter_count,
)

SOURCES = tomllib.loads(data_path("architectures", "SOURCES.toml").read_text(encoding="utf-8"))
REQUIRED = [
    "meta-llama/Llama-2-7b-hf",
    "meta-llama/Llama-2-13b-hf",
    "meta-llama/Llama-3.1-8B",
    "mistralai/Mistral-7B-v0.3",
    "Qwen/Qwen2.5-7B",
    "Qwen/Qwen2.5-14B",
    "google/gemma-2-9b",
    "microsoft/Phi-3-medium-4k-instruct",
]


def test_catalog_holds_the_required_models_with_sources() -> None:
    assert set(REQUIRED) <= set(catalog_names())
    assert set(SOURCES) == set(catalog_names())
    for name, row in SOURCES.items():
        assert data_path("architectures", row["file"]).is_file(), name
        assert row["published_params"] > 0 and row["as_of"], name


def test_is_student_name_is_case_insensitive() -> None:
    from distillplan.catalogs.students import is_student_name

    assert is_student_name("qwen/qwen2.5-7b")
    assert not is_student_name("qwen/qwen2.5-7b-instruct")


@pytest.mark.parametrize("name", sorted(SOURCES))
def test_parameter_count_matches_published_count(name: str) -> None:
    """Published exact counts (SOURCES.toml); measured deviation on 2026-10-01: 0 for all 8."""
    arch = load_architecture(name, base_dir=Path("."))
    published = SOURCES[name]["published_params"]
    assert abs(parameter_count(arch) - published) / published <= 1e-4


def test_parameter_count_by_hand_for_llama_3_1_8b() -> None:
    arch = load_architecture("meta-llama/Llama-3.1-8B", base_dir=Path("."))
    d, layers, vocab = 4096, 32, 128256
    attention = d * 4096 + 2 * d * 1024 + 4096 * d
    mlp = 3 * d * 14336
    assert parameter_count(arch) == 2 * vocab * d + layers * (attention + mlp + 2 * d) + d


def test_family_details() -> None:
    qwen = load_architecture("Qwen/Qwen2.5-7B", base_dir=Path("."))
    gemma = load_architecture("google/gemma-2-9b", base_dir=Path("."))
    llama = load_architecture("meta-llama/Llama-2-7b-hf", base_dir=Path("."))
    assert qwen.qkv_bias and not llama.qkv_bias
    assert gemma.norms_per_layer == 4 and gemma.tie_word_embeddings  # tie absent -> True
    assert gemma.head_dim == 256 != gemma.hidden_size // gemma.num_attention_heads
    assert llama.num_key_value_heads == 32 and llama.head_dim == 128
    assert qwen.source == "catalog:Qwen/Qwen2.5-7B"


def test_local_folder_is_read_relative_to_base_dir(tmp_path: Path) -> None:
    folder = tmp_path / "models" / "student"
    folder.mkdir(parents=True)
    config = json.loads(data_path("architectures", "llama-3.1-8b.json").read_text())
    config.update(num_hidden_layers=2, tie_word_embeddings=True)
    del config["num_key_value_heads"]  # llama default: num_attention_heads
    (folder / "config.json").write_text(json.dumps(config))
    arch = load_architecture("models/student", base_dir=tmp_path)
    assert arch.num_hidden_layers == 2 and arch.num_key_value_heads == 32
    assert arch.source == str(folder)
    untied = load_architecture("meta-llama/Llama-3.1-8B", base_dir=tmp_path)
    assert parameter_count(untied) - parameter_count(arch) > 128256 * 4096


def test_unknown_name_says_what_to_do_and_suggests_close_names() -> None:
    with pytest.raises(ArchitectureError) as info:
        load_architecture("meta-llama/Llama-3.1-8b-instruct", base_dir=Path("/nonexistent"))
    message = str(info.value)
    assert "\n" not in message
    assert "config.json" in message and "meta-llama/Llama-3.1-8B" in message
    assert isinstance(info.value, DistillError)


@pytest.mark.parametrize(
    ("content", "expected"),
    [("{not json", "cannot read"), ("[1, 2]", "JSON object"), ('{"hidden_size": 8}', "model_type")],
)
def test_malformed_config_is_a_user_error(tmp_path: Path, content: str, expected: str) -> None:
    (tmp_path / "config.json").write_text(content)
    with pytest.raises(ArchitectureError, match=expected):
        load_architecture(".", base_dir=tmp_path)


def _autoconfig(path: Path) -> object:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
    import transformers

    return transformers.AutoConfig.from_pretrained(str(path), local_files_only=True)


@pytest.mark.parametrize("name", sorted(SOURCES))
def test_fast_reader_agrees_with_transformers_autoconfig(name: str, tmp_path: Path) -> None:
    """The fast path must normalise exactly like AutoConfig on the same file."""
    (tmp_path / "config.json").write_bytes(data_path("architectures", SOURCES[name]["file"]).read_bytes())
    fast = load_architecture(name, base_dir=Path("."))
    cfg = _autoconfig(tmp_path)
    heads = cfg.num_attention_heads  # type: ignore[attr-defined]
    hidden = cfg.hidden_size  # type: ignore[attr-defined]
    assert fast.model_type == cfg.model_type in FAST_MODEL_TYPES  # type: ignore[attr-defined]
    for field in (
        "hidden_size",
        "num_hidden_layers",
        "num_attention_heads",
        "intermediate_size",
        "vocab_size",
        "max_position_embeddings",
        "tie_word_embeddings",
    ):
        assert getattr(fast, field) == getattr(cfg, field), field
    assert fast.num_key_value_heads == (getattr(cfg, "num_key_value_heads", None) or heads)
    assert fast.head_dim == (getattr(cfg, "head_dim", None) or hidden // heads)
    assert fast.attention_out_bias == bool(getattr(cfg, "attention_bias", False))


def test_autoconfig_fallback_for_other_model_types(tmp_path: Path) -> None:
    config = {
        "model_type": "gpt_neox",
        "architectures": ["GPTNeoXForCausalLM"],
        "hidden_size": 512,
        "num_hidden_layers": 4,
        "num_attention_heads": 8,
        "intermediate_size": 2048,
        "vocab_size": 50304,
        "max_position_embeddings": 2048,
        "tie_word_embeddings": False,
    }
    (tmp_path / "config.json").write_text(json.dumps(config))
    assert "gpt_neox" not in FAST_MODEL_TYPES
    arch = load_architecture(str(tmp_path), base_dir=Path("/"))
    assert (arch.model_type, arch.hidden_size, arch.head_dim) == ("gpt_neox", 512, 64)
    assert arch.num_key_value_heads == 8 and arch.vocab_size == 50304
    (tmp_path / "config.json").write_text(json.dumps({"model_type": "no_such_family"}))
    with pytest.raises(ArchitectureError, match="transformers cannot read it"):
        load_architecture(str(tmp_path), base_dir=Path("/"))


def test_imports_do_not_load_transformers() -> None:
    code = (
        "import sys\n"
        "from pathlib import Path\n"
        "import distillplan.sizing.serving as s, distillplan.sizing.finetune as tr\n"
        "import distillplan.sizing.architecture as a\n"
        "arch = a.load_architecture('meta-llama/Llama-3.1-8B', base_dir=Path('.'))\n"
        "r = s.size_serving(arch, s.load_gpus()['a100-80gb'], precision='int4', input_tokens=500,"
        " output_tokens=200, peak_requests_per_second=20, assumptions=s.SizingAssumptions())\n"
        "assert r.fits\n"
        "job = tr.size_training(arch, s.load_gpus()['a100-80gb'], method='qlora', lora_rank=16,"
        " training_tokens=1e8,"
        " assumptions=s.SizingAssumptions(), usd_per_gpu_hour=2.0)\n"
        "assert job.gpus == 1\n"
        "print('transformers' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False"]  # its time: bench/bench_plan.py (the plan command's budget is 1.5 s)


def test_architecture_is_frozen_and_plain_data() -> None:
    arch = load_architecture("mistralai/Mistral-7B-v0.3", base_dir=Path("."))
    with pytest.raises(AttributeError):
        arch.hidden_size = 1  # type: ignore[misc]
    assert asdict(arch)["vocab_size"] == 32768


def test_unknown_family_without_the_hf_extra_names_the_extra(tmp_path: Path) -> None:
    """transformers is optional (distillplan[hf]); without it an unknown family is one clear line."""
    (tmp_path / "config.json").write_text(json.dumps({"model_type": "gpt_neox", "hidden_size": 8}))
    code = (
        "import sys; sys.modules['transformers'] = None\n"  # what an install without the extra sees
        "from pathlib import Path\n"
        "from distillplan.errors import ArchitectureError\n"
        "from distillplan.sizing.architecture import load_architecture\n"
        "try:\n"
        f"    load_architecture({str(tmp_path)!r}, base_dir=Path('/'))\n"
        "except ArchitectureError as e:\n"
        "    print(e)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.count("\n") == 1
    assert "model_type 'gpt_neox'" in out and "pip install 'distillplan[hf]'" in out
