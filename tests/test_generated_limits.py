"""The generated engine and launcher limits agree with what the plan sends them (issue 22).

- vllm.yaml's max-model-len holds a prompt plus the eval's generation budget (eval.yaml's
  max_gen_toks), on every example: else vLLM refuses the eval's requests.
- A training job of more GPUs than a machine has is laid out over several machines in
  accelerate.yaml (num_machines x GPUs per machine = num_processes), read by accelerate's own loader.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from distillplan.plan.build import training_layout
from distillplan.sizing.finetune import GPUS_PER_MACHINE, machines_for

from .variants import EXAMPLES, render_variant

NAMES = sorted(p.parent.name for p in EXAMPLES.glob("*/distill.toml"))


def _plan(tmp: Path, name: str) -> dict[str, object]:
    from distillplan.commands._inputs import plan_for_file
    from distillplan.spec.load import load_spec

    plan: dict[str, object] = json.loads(json.dumps(plan_for_file(load_spec(tmp / name / "distill.toml")).to_json()))
    return plan


@pytest.mark.parametrize("name", NAMES)
def test_max_model_len_holds_prompt_plus_eval_budget(tmp_path: Path, name: str) -> None:
    tree = render_variant(tmp_path, name)
    vllm = yaml.safe_load(tree["distill/serving/vllm.yaml"])
    evals = [yaml.safe_load(d) for rel, d in tree.items() if rel.startswith("distill/eval/") and rel.endswith(".yaml")]
    budgets = [e["generation_kwargs"]["max_gen_toks"] for e in evals if "generation_kwargs" in (e or {})]
    assert budgets, sorted(tree)
    volume = _plan(tmp_path, name)["volume"]
    assert isinstance(volume, dict)
    prompt = volume["input_tokens_per_request"]
    assert vllm["max-model-len"] >= prompt + max(budgets), (name, vllm["max-model-len"], prompt, budgets)


def test_machines_for() -> None:
    assert [machines_for(g) for g in (1, 2, 4, 8, 16, 32, 64)] == [1, 1, 1, 1, 2, 4, 8]


def test_full_fine_tuning_above_one_machine_is_multi_node(tmp_path: Path) -> None:
    """A 14B fully fine-tuned on 40 GB GPUs needs more GPUs than one machine has."""
    from accelerate.commands.config.config_args import load_config_from_file

    tree = render_variant(
        tmp_path,
        "invoice-extraction",
        {"student": {"method": "full", "base_model": "Qwen/Qwen2.5-14B"}, "hardware": {"gpu": "a100-40gb"}},
    )
    text = tree["distill/training/accelerate.yaml"].decode()
    acc = yaml.safe_load(text)
    assert acc["num_processes"] > GPUS_PER_MACHINE
    assert acc["num_machines"] == acc["num_processes"] // GPUS_PER_MACHINE > 1
    assert acc["num_processes"] == acc["num_machines"] * GPUS_PER_MACHINE
    path = tmp_path / "accelerate.yaml"
    path.write_text(text, encoding="utf-8")
    config = load_config_from_file(str(path))
    assert (config.num_machines, config.num_processes) == (acc["num_machines"], acc["num_processes"])
    assert "--machine_rank" in tree["distill/training/sft.yaml"].decode() or "--machine_rank" in text


@pytest.mark.parametrize("gpus", [1, 2, 4, 8])
def test_one_machine_layouts_stay_one_machine(tmp_path: Path, gpus: int) -> None:
    def edit(plan: dict[str, object]) -> None:
        training = plan["sizing"]["training"]  # type: ignore[index]
        training.update(gpus=gpus, **training_layout(gpus))  # type: ignore[attr-defined]

    tree = render_variant(tmp_path, "invoice-extraction", {"student": {"method": "full"}}, edit)
    if gpus == 1:
        assert "distill/training/accelerate.yaml" not in tree
        return
    acc = yaml.safe_load(tree["distill/training/accelerate.yaml"])
    assert (acc["num_machines"], acc["num_processes"]) == (1, gpus)
