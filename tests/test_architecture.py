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
    active_parameter_count,
    catalog_names,
    expert_parameter_count,
    kv_elements_per_token,
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
    "Qwen/Qwen3-8B",
    "Qwen/Qwen3-14B",
    "Qwen/Qwen3-30B-A3B",
    "google/gemma-3-12b-it",
    "microsoft/phi-4",
    "mistralai/Mistral-Nemo-Base-2407",
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
    cfg = _autoconfig(tmp_path).get_text_config()  # type: ignore[attr-defined]  # a multimodal checkpoint's language model
    heads = cfg.num_attention_heads  # type: ignore[attr-defined]
    hidden = cfg.hidden_size  # type: ignore[attr-defined]
    assert fast.model_type == cfg.model_type in FAST_MODEL_TYPES
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
    types = getattr(cfg, "layer_types", None) or []
    assert fast.sliding_layers == types.count("sliding_attention")
    if fast.sliding_layers:
        assert fast.sliding_window == cfg.sliding_window
    experts = getattr(cfg, "num_experts", None) or getattr(cfg, "num_local_experts", None) or 0
    assert (fast.num_experts, fast.experts_per_token) == (experts, getattr(cfg, "num_experts_per_tok", None) or 0)


def _meta_model(config: dict[str, object]) -> object:
    """The transformers model of ``config`` (a multimodal one's language model) on the meta device."""
    import torch
    import transformers

    cfg = transformers.AutoConfig.for_model(**config).get_text_config()
    with torch.device("meta"):
        return transformers.AutoModelForCausalLM.from_config(cfg)


@pytest.mark.parametrize("name", sorted(SOURCES))
def test_parameter_count_equals_the_transformers_model_on_the_meta_device(name: str) -> None:
    """The model transformers builds from the same config.json, no weights allocated: every
    parameter, and for a mixture of experts the routed share of the expert tensors."""
    config = json.loads(data_path("architectures", SOURCES[name]["file"]).read_text(encoding="utf-8"))
    model = _meta_model(config)
    arch = load_architecture(name, base_dir=Path("."))
    params = dict(model.named_parameters())  # type: ignore[attr-defined]
    assert parameter_count(arch) == sum(p.numel() for p in params.values())
    experts = sum(p.numel() for n, p in params.items() if ".mlp.experts." in n)
    assert expert_parameter_count(arch) == experts
    if arch.is_moe:
        share = arch.experts_per_token / arch.num_experts
        assert active_parameter_count(arch) == parameter_count(arch) - experts + experts * share
    else:
        assert active_parameter_count(arch) == parameter_count(arch) and experts == 0


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


def _folder_with(tmp_path: Path, config: dict[str, object]) -> Path:
    (tmp_path / "config.json").write_text(json.dumps(config))
    return tmp_path


@pytest.mark.slow
@pytest.mark.filterwarnings("ignore:.*is_gradient_checkpointing.*:FutureWarning")
@pytest.mark.parametrize("name", ["microsoft/phi-4", "Qwen/Qwen3-30B-A3B"])
def test_the_lora_targets_exist_and_peft_trains_what_the_sizing_counts(name: str) -> None:
    """PEFT on the transformers model (meta device) with sft.yaml's ``lora_target_modules``: the
    modules exist and the adapters are exactly ``trainable_parameters`` (Phi-4: fused qkv and
    gate-up; Qwen3-30B-A3B: the attention of a mixture of experts). Checked once for all 14 bases
    on 2026-12-02 (rank 16): the dense unfused families matched exactly with "all-linear"; Gemma 3's
    language model matched, its vision tower took 8,695,296 adapter parameters more (not sized).
    TRL's ModelConfig turns a one-element list into the string PEFT expects, as done here."""
    import peft

    from distillplan.plan.student import lora_target_modules
    from distillplan.sizing.finetune import trainable_parameters

    arch = load_architecture(name, base_dir=Path("."))
    model = _meta_model(_config(name))
    targets = lora_target_modules(arch)
    config = peft.LoraConfig(r=16, target_modules=targets[0] if len(targets) == 1 else targets)
    adapted = peft.get_peft_model(model, config)  # type: ignore[arg-type]
    trained = {n: p.numel() for n, p in adapted.named_parameters() if p.requires_grad}
    if arch.text_only:
        trained = {n: k for n, k in trained.items() if ".language_model." in n}
    assert sum(trained.values()) == trainable_parameters(arch, "lora", 16) > 0


def test_mixtral_counts_like_transformers(tmp_path: Path) -> None:
    """A family with no bundled base: a small Mixtral config, every expert counted, 2 of 4 active."""
    config = {
        "model_type": "mixtral",
        "architectures": ["MixtralForCausalLM"],
        "hidden_size": 64,
        "intermediate_size": 96,
        "num_hidden_layers": 3,
        "num_attention_heads": 4,
        "num_key_value_heads": 2,
        "num_local_experts": 4,
        "num_experts_per_tok": 2,
        "vocab_size": 1000,
        "max_position_embeddings": 4096,
    }
    arch = load_architecture(str(_folder_with(tmp_path, config)), base_dir=Path("/"))
    model = _meta_model(config)
    assert parameter_count(arch) == sum(p.numel() for p in model.parameters())  # type: ignore[attr-defined]
    assert (arch.num_experts, arch.experts_per_token, arch.moe_intermediate_size) == (4, 2, 96)
    assert parameter_count(arch) - active_parameter_count(arch) == 3 * 2 * 3 * 64 * 96


def test_sliding_window_layers_keep_only_the_window() -> None:
    """Gemma 3 12B: 40 of 48 layers keep the last 1,024 tokens (vLLM's hybrid KV allocator)."""
    g = load_architecture("google/gemma-3-12b-it", base_dir=Path("."))
    per_layer = 2 * 8 * 256
    assert (g.sliding_layers, g.sliding_window, g.text_only) == (40, 1024, True)
    assert kv_elements_per_token(g, 1024) == kv_elements_per_token(g) == per_layer * 48
    assert kv_elements_per_token(g, 8192) == per_layer * (8 + 40 * 1024 / 8192)
    gemma2 = load_architecture("google/gemma-2-9b", base_dir=Path("."))  # every other layer local, window 4096
    assert gemma2.sliding_layers == 21 and kv_elements_per_token(gemma2, 8192) == 2 * 8 * 256 * (21 + 21 / 2)
    qwen = load_architecture("Qwen/Qwen3-8B", base_dir=Path("."))
    assert qwen.sliding_layers == 0 and kv_elements_per_token(qwen, 30000) == 2 * 8 * 128 * 36


def _config(name: str) -> dict[str, object]:
    data: dict[str, object] = json.loads(data_path("architectures", SOURCES[name]["file"]).read_text(encoding="utf-8"))
    return data


@pytest.mark.parametrize(
    ("name", "change", "located"),
    [
        ("Qwen/Qwen3-30B-A3B", {"mlp_only_layers": [0, 5]}, "mlp_only_layers"),
        ("Qwen/Qwen3-30B-A3B", {"decoder_sparse_step": 2}, "decoder_sparse_step"),
        ("Qwen/Qwen3-30B-A3B", {"num_experts_per_tok": 200}, "num_experts_per_tok"),
        ("Qwen/Qwen3-30B-A3B", {"shared_expert_intermediate_size": 512}, "shared experts"),
        ("Qwen/Qwen3-8B", {"use_sliding_window": True, "sliding_window": 4096}, "use_sliding_window"),
        ("Qwen/Qwen3-8B", {"layer_types": ["sliding_attention"] * 36, "sliding_window": 4096}, "layer_types"),
        ("mistralai/Mistral-Nemo-Base-2407", {"num_local_experts": 8}, "num_local_experts"),
        ("google/gemma-3-12b-it", {"text_config": None}, "text_config"),
        ("google/gemma-3-12b-it", {"text_config": {"layer_types": ["chunked_attention"] * 48}}, "layer_types"),
        ("google/gemma-3-12b-it", {"text_config": {"sliding_window": 0}}, "text_config.sliding_window"),
    ],
)
def test_what_is_not_modelled_is_refused_with_its_key(
    tmp_path: Path, name: str, change: dict[str, object], located: str
) -> None:
    config = _config(name)
    for key, value in change.items():
        if key == "text_config" and isinstance(value, dict):
            config[key] = {**config[key], **value}  # type: ignore[dict-item]
        else:
            config[key] = value
    with pytest.raises(ArchitectureError) as info:
        load_architecture(str(_folder_with(tmp_path, config)), base_dir=Path("/"))
    message = str(info.value)
    assert located in message and str(tmp_path / "config.json") in message and "\n" not in message


@pytest.mark.parametrize(
    ("config", "located"),
    [
        (  # shared experts: a family the reader does not know, through AutoConfig
            {
                "model_type": "qwen2_moe",
                "architectures": ["Qwen2MoeForCausalLM"],
                "hidden_size": 64,
                "num_hidden_layers": 2,
                "num_attention_heads": 4,
                "num_experts": 8,
                "moe_intermediate_size": 32,
                "shared_expert_intermediate_size": 64,
                "max_position_embeddings": 4096,
            },
            "num_experts",
        ),
        (  # interleaved windows in a family outside the reader
            {
                "model_type": "cohere2",
                "architectures": ["Cohere2ForCausalLM"],
                "hidden_size": 64,
                "num_hidden_layers": 4,
                "num_attention_heads": 4,
                "sliding_window": 16,
                "max_position_embeddings": 4096,
            },
            "layer_types",
        ),
    ],
)
def test_autoconfig_fallback_refuses_experts_and_windows(
    tmp_path: Path, config: dict[str, object], located: str
) -> None:
    with pytest.raises(ArchitectureError, match=located):
        load_architecture(str(_folder_with(tmp_path, config)), base_dir=Path("/"))
