"""From teacher batch results to an accepted (or refused) student, on CPU, with the real tools.

teacher batch results (OpenAI Batch API output format) -> `distillplan teacher-data collect` -> TRL JSONL
-> `trl sft --config distill/training/sft.yaml` -> `python distill/training/merge.py merge` (PEFT)
-> `merge.py quantize` (llm-compressor, its own environment) -> lm-evaluation-harness on the locked eval
with the generated task, --log_samples -> `distillplan accept --predictions <samples file>`.

The student is a tiny random Llama the test makes. The only departures from the generated files, passed
on the command line, are listed in TRL_OVERRIDES and LM_EVAL_MODEL: train 2 steps on the CPU, and score
the merged checkpoint in-process (`--model hf`) instead of through the vLLM Service (no GPU here).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from .conftest import git
from .tiny_model import make_tiny_llama

pytestmark = pytest.mark.slow

#: Command-line overrides of training/sft.yaml (everything else comes from the generated file).
TRL_OVERRIDES = ["--max_steps", "2", "--use_cpu", "true", "--save_strategy", "no", "--logging_steps", "1"]
#: The harness runs the generated task against the merged checkpoint on the CPU, not the served endpoint.
LM_EVAL_MODEL = ["--model", "hf", "--model_args", "pretrained={merged},dtype=float32", "--device", "cpu"]

QUEUES = ["billing", "technical", "account", "shipping"]
SPEC = """\
[project]
name = "ticket-router"
title = "Ticket routing"
start = 2027-01-04

[workload]
task = "classification"
requests_per_month = 40_000_000
input_tokens_per_request = 300
output_tokens_per_request = 4

[teacher]
model = "gpt-4.1"

[student]
base_model = "model/tiny"
method = "lora"
serving_precision = "int8"
training_examples = 24

[eval]
datasets = ["eval/locked.jsonl"]
metric = "exact-match"
teacher_score = {teacher_score}
max_gap_points = 2.0

[teacher_data]
inputs = ["data/inputs.jsonl"]
"""


def _run(cmd: list[str], cwd: Path, **env: str) -> subprocess.CompletedProcess[str]:
    full_env = {
        **os.environ,
        "HF_HUB_OFFLINE": "1",
        "HF_DATASETS_OFFLINE": "1",
        "TOKENIZERS_PARALLELISM": "false",
        **env,
    }
    run = subprocess.run(cmd, cwd=cwd, env=full_env, capture_output=True, text=True)
    assert run.returncode in (0, 1, 4), f"{cmd[:4]} exited {run.returncode}:\n{run.stderr[-3000:]}"
    return run


def _distillplan(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return _run([sys.executable, "-m", "distillplan", *args], cwd)


def _openai_result(custom_id: str, text: str) -> dict[str, object]:
    body = {
        "id": "chatcmpl-x",
        "object": "chat.completion",
        "created": 1764300000,
        "model": "gpt-4.1",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": 30, "completion_tokens": 2, "total_tokens": 32},
    }
    return {
        "id": "batch_req_x",
        "custom_id": custom_id,
        "response": {"status_code": 200, "request_id": "r", "body": body},
    }


def walkthrough() -> list[str]:
    """The commands of the README's "From scaffold to production" block, comments and `cluster` lines aside."""
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")
    block = readme.split("<!-- walkthrough:start -->", 1)[1].split("<!-- walkthrough:end -->", 1)[0]
    lines = [ln.split("  #", 1)[0].strip() for ln in block.splitlines()]
    return [ln for ln in lines if ln and not ln.startswith(("#", "```"))]


def test_readme_walkthrough_is_this_test(git_repo: Path) -> None:
    """Every walk-through command is run by test_teacher_results_to_accept, except the kubectl ones,
    whose paths must be the generated tree's (the manifests themselves pass kubernetes-validate)."""
    commands = walkthrough()
    runners = ("distillplan ", "trl sft ", "python distill/training/merge.py ", "lm_eval ", "kubectl ")
    assert commands and all(c.startswith(runners) for c in commands), commands
    assert [c.split()[0] for c in commands if not c.startswith("kubectl")] == [
        "distillplan", "distillplan", "distillplan", "distillplan", "trl", "python", "python", "lm_eval", "distillplan"
    ]  # fmt: skip


def _resolve(command: str, repo: Path, samples: Path | None) -> list[str] | None:
    """The argv that runs a walk-through line here, with the substitutions this module's docstring lists."""
    argv = command.split()
    if argv[0] == "distillplan":
        if samples is not None:
            argv = [str(samples) if a.endswith("_TIME.jsonl") else a for a in argv]
        return [sys.executable, "-m", "distillplan", *argv[1:]]
    if argv[:2] == ["trl", "sft"]:
        return [sys.executable, "-m", "trl.cli.main", *argv[1:], *TRL_OVERRIDES]
    if argv[0] == "python":
        if argv[-1] == "quantize":
            quantizer = os.environ.get("DISTILLPLAN_LLMCOMPRESSOR_PYTHON")
            if not quantizer:
                if os.environ.get("CI"):
                    pytest.fail("CI must set DISTILLPLAN_LLMCOMPRESSOR_PYTHON (see .ci/run)")
                return None
            return [quantizer, *argv[1:]]
        return [sys.executable, *argv[1:]]
    if argv[0] == "lm_eval":
        i = argv.index("--model_args")
        rest = argv[i + 2 :]
        merged = repo / "distill/training/output/merged"
        model = [a.format(merged=merged) for a in LM_EVAL_MODEL]
        return [sys.executable, "-m", "lm_eval", *model, "--apply_chat_template", *rest, "--batch_size", "8"]
    return None  # kubectl: a cluster


def test_teacher_results_to_accept(git_repo: Path) -> None:
    repo = git_repo
    inputs = [f"Ticket {i}: my {QUEUES[i % 4]} problem" for i in range(24)]
    evals = [
        {"id": f"e{i}", "input": f"Ticket 9{i}: a {QUEUES[i % 4]} question", "reference": QUEUES[i % 4]}
        for i in range(8)
    ]
    make_tiny_llama(repo / "model/tiny", inputs + [e["input"] for e in evals] + QUEUES)
    (repo / "data").mkdir()
    (repo / "data/inputs.jsonl").write_text("".join(json.dumps({"input": x}) + "\n" for x in inputs))
    (repo / "eval").mkdir()
    (repo / "eval/locked.jsonl").write_text("".join(json.dumps(e) + "\n" for e in evals))
    (repo / "distill.toml").write_text(SPEC.format(teacher_score="0.9"))
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "project")

    samples: Path | None = None
    outcome = None
    for command in walkthrough():
        if command.startswith("distillplan teacher-data collect"):
            # The teacher's answers, in the OpenAI Batch API's output format, for the requests just written.
            requests = [
                json.loads(x)
                for x in (repo / "distill/training/batch/openai-requests-001.jsonl").read_text().splitlines()
            ]
            results = []
            for r in requests:
                text = r["body"]["messages"][-1]["content"]
                results.append(_openai_result(r["custom_id"], next(q for q in QUEUES if q in text)))
            (repo / "batch-output.jsonl").write_text("".join(json.dumps(x) + "\n" for x in results))
        if command.startswith("distillplan accept"):
            task = yaml.safe_load((repo / "distill/eval/eval.yaml").read_text())["task"]
            (samples,) = (repo / "distill/eval/results").rglob(f"samples_{task}_*.jsonl")
            assert len(samples.read_text().splitlines()) == len(evals)
        argv = _resolve(command, repo, samples)
        if argv is None:
            continue
        run = _run(argv, repo)
        if command.startswith("distillplan accept"):
            outcome = run
            continue
        assert run.returncode == 0, f"{command}\n{run.stdout[-2000:]}\n{run.stderr[-3000:]}"
        if command.startswith("distillplan teacher-data collect"):
            assert "24 examples written" in run.stdout
        if command.startswith("trl sft"):
            adapter = repo / yaml.safe_load((repo / "distill/training/sft.yaml").read_text())["output_dir"]
            assert (adapter / "adapter_config.json").is_file() and (adapter / "adapter_model.safetensors").is_file()
        if command.endswith("merge.py merge"):
            merged = repo / "distill/training/output/merged"
            assert (merged / "config.json").is_file() and not (merged / "adapter_config.json").exists()
        if command.endswith("merge.py quantize"):
            served = json.loads((repo / "distill/training/output/served/config.json").read_text())
            quant = served["quantization_config"]
            assert quant["quant_method"] == "compressed-tensors"  # what vllm.yaml declares
            vllm = yaml.safe_load((repo / "distill/serving/vllm.yaml").read_text())
            assert vllm["quantization"] == "compressed-tensors"
            weights = quant["config_groups"]["group_0"]["weights"]
            assert (weights["num_bits"], weights["strategy"]) == (8, "channel")

    # The contract's acceptance test read the harness's file as it is. A two-step random student cannot
    # reach 0.9 - 2 points: FAIL, exit 4. Against a contract it meets (teacher 0): PASS, exit 0.
    assert outcome is not None and samples is not None
    assert outcome.returncode == 4 and "FAIL" in outcome.stdout + outcome.stderr
    (repo / "distill.toml").write_text(SPEC.format(teacher_score="0.0"))
    # The teacher baseline is part of the lock: a changed contract is re-locked, with its reason.
    assert _distillplan(repo, "lock", "--reason", "contract the random student meets").returncode == 0
    passed = _distillplan(repo, "accept", "--predictions", str(samples))
    assert passed.returncode == 0 and "PASS" in passed.stdout


def test_kubectl_lines_name_the_generated_files(tmp_path: Path) -> None:
    """The walk-through's cluster lines point at the files scaffold writes, and at the loader pod and path
    the manifests use (this repository's README is written for the ticket-router project of the test)."""
    spec_dir = tmp_path / "ticket-router"
    spec_dir.mkdir()
    (spec_dir / "eval").mkdir()
    (spec_dir / "eval/locked.jsonl").write_text('{"id": "e0", "input": "x", "reference": "billing"}\n')
    make = spec_dir / "model/tiny"
    make.mkdir(parents=True)
    (make / "config.json").write_text(
        json.dumps(
            {"model_type": "llama", "architectures": ["LlamaForCausalLM"], "vocab_size": 400, "hidden_size": 128,
             "intermediate_size": 256, "num_hidden_layers": 2, "num_attention_heads": 4, "num_key_value_heads": 2,
             "max_position_embeddings": 4096, "tie_word_embeddings": False}
        )
    )  # fmt: skip
    (spec_dir / "distill.toml").write_text(SPEC.format(teacher_score="0.9"))
    from distillplan.outputs.scaffold import plan_tree
    from distillplan.plan.build import plan_for_file
    from distillplan.spec.load import load_spec

    sf = load_spec(spec_dir / "distill.toml")
    tree = plan_tree(sf, plan_for_file(sf).to_json(), {"eval_hash": None, "commit": None})
    loader = yaml.safe_load(tree["distill/serving/k8s/load/model-loader.yaml"])
    vllm = yaml.safe_load(tree["distill/serving/vllm.yaml"])
    kubectl = [c for c in walkthrough() if c.startswith("kubectl")]
    # The claim the loader pod mounts exists before the pod; the copy comes after both.
    assert kubectl == [
        "kubectl apply -f distill/serving/k8s/pvc.yaml",
        "kubectl apply -f distill/serving/k8s/load/",
        f"kubectl cp distill/training/output/served {loader['metadata']['name']}:{vllm['model']}",
        "kubectl apply -f distill/serving/k8s/",
    ]
    assert any(rel.startswith("distill/serving/k8s/load/") for rel in tree)
    claim = yaml.safe_load(tree["distill/serving/k8s/pvc.yaml"])["metadata"]["name"]
    assert {v["persistentVolumeClaim"]["claimName"] for v in loader["spec"]["volumes"]} == {claim}
    lm_eval = next(c for c in walkthrough() if c.startswith("lm_eval"))
    task = yaml.safe_load(tree["distill/eval/eval.yaml"])
    assert f"--tasks {task['task']} " in lm_eval and "model=ticket-router," in lm_eval
    assert lm_eval in tree["distill/eval/eval.yaml"].decode().replace(" \\\n#        ", " ")
