"""Every generated file through its real consumer's own parser or loader (installed by the test extra).

TRL's `trl sft` parser, accelerate's config loader, kubernetes-validate --strict, LiteLLM's proxy config
loader and lm-evaluation-harness's task loader. Warnings are errors (pyproject's filterwarnings).
These import heavy packages (torch among them), so they are marked slow; `.ci/run` runs them.
"""

from __future__ import annotations

import os
import warnings
from pathlib import Path

import pytest
import yaml

from .variants import Tree, all_variants, files

pytestmark = pytest.mark.slow
# LiteLLM downloads its model price map at import unless told to use the copy it ships: no network in tests.
os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")


@pytest.fixture(scope="module")
def trees(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Tree]:
    return all_variants(tmp_path_factory.mktemp("variants"))


def _write(tmp: Path, name: str, data: bytes) -> Path:
    path = tmp / name.replace("/", "__")
    path.write_bytes(data)
    return path


# ---------------------------------------------------------------- TRL


def test_sft_yaml_parses_with_trl_sft_parser(trees: dict[str, Tree], tmp_path: Path) -> None:
    """`trl sft --config sft.yaml`: the very parser of trl/scripts/sft.py, no unknown key, no warning.

    One override: --use_cpu true (bf16 is refused on a machine without a bf16 GPU otherwise)."""
    from trl.scripts.sft import make_parser

    found = files(trees, "training/sft.yaml")
    assert len(found) >= 4 + 6 + 3
    for name, data in found:
        parser = make_parser()
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            script, training, model, _dataset = parser.parse_args_and_config(
                ["--config", str(_write(tmp_path, name, data)), "--use_cpu", "true"]
            )
        raw = yaml.safe_load(data)
        assert model.model_name_or_path == raw["model_name_or_path"], name
        assert script.dataset_name == raw["dataset_name"] and script.dataset_train_split == "train", name
        assert training.bf16 is True and training.learning_rate == raw["learning_rate"], name
        assert model.use_peft is (raw["use_peft"]), name
        multi_gpu = "--accelerate_config" in data.decode()
        # FSDP brings its own activation checkpointing; transformers refuses both.
        assert training.activation_checkpointing is (not multi_gpu), name


# ---------------------------------------------------------------- accelerate


def test_accelerate_yaml_loads_in_accelerate(trees: dict[str, Tree], tmp_path: Path) -> None:
    from accelerate.commands.config.config_args import load_config_from_file

    found = files(trees, "training/accelerate.yaml")
    assert {n.split("/")[0] for n, _ in found} == {"full-4gpu", "lora-4gpu", "qlora-4gpu"}
    for name, data in found:
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            config = load_config_from_file(str(_write(tmp_path, name, data)))
        assert config.num_processes == 4, name
        assert str(config.distributed_type) in ("FSDP", "DistributedType.FSDP"), name
        assert config.fsdp_config["fsdp_state_dict_type"] == "FULL_STATE_DICT", name
        assert config.fsdp_config["fsdp_activation_checkpointing"] is True, name
        assert "# The plan's fit, with the base sharded this way: " in data.decode(), name


# ---------------------------------------------------------------- Kubernetes


def test_every_manifest_passes_kubernetes_validate_strict(trees: dict[str, Tree], tmp_path: Path) -> None:
    """`kubernetes-validate --strict` (unknown fields rejected) on every manifest of every variant."""
    import subprocess
    import sys

    found = [(n, d) for n, d in files(trees, ".yaml") if "/serving/k8s/" in n]
    kinds = {yaml.safe_load(d)["kind"] for _, d in found}
    assert kinds == {"ConfigMap", "Deployment", "Service", "PersistentVolumeClaim", "Pod"}
    paths = [str(_write(tmp_path, n, d)) for n, d in found]
    run = subprocess.run(
        [sys.executable, "-m", "kubernetes_validate", "--strict", "--quiet", *paths],
        capture_output=True,
        text=True,
    )
    assert run.returncode == 0, run.stdout + run.stderr


def test_kubernetes_validate_rejects_an_unknown_field(tmp_path: Path) -> None:
    """The check above can fail: a misspelled field in a Deployment is refused under --strict."""
    import subprocess
    import sys

    bad = tmp_path / "bad.yaml"
    bad.write_text(
        "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: x}\nspec:\n  replicas: 1\n"
        "  selector: {matchLabels: {a: b}}\n  template:\n    metadata: {labels: {a: b}}\n    spec:\n"
        "      containers: [{name: c, image: i, imagePullPolicyy: Always}]\n"
    )
    run = subprocess.run(
        [sys.executable, "-m", "kubernetes_validate", "--strict", "--quiet", str(bad)], capture_output=True
    )
    assert run.returncode != 0


# ---------------------------------------------------------------- llm-compressor


def llmcompressor_python() -> str:
    """The Python of llm-compressor's own environment (it pins transformers<=5.17, below what TRL's
    config keys need, so it cannot share the test environment). .ci/run builds it and sets the variable."""
    import os

    python = os.environ.get("DISTILLPLAN_LLMCOMPRESSOR_PYTHON")
    if not python:
        if os.environ.get("CI"):
            pytest.fail("CI must set DISTILLPLAN_LLMCOMPRESSOR_PYTHON (see .ci/run)")
        pytest.skip("set DISTILLPLAN_LLMCOMPRESSOR_PYTHON to llm-compressor's environment")
    return python


def test_recipe_parses_in_llm_compressor(trees: dict[str, Tree], tmp_path: Path) -> None:
    import json
    import subprocess

    found = files(trees, "training/recipe.yaml")
    assert {n.split("/")[0] for n, _ in found} >= {"serve-int8", "serve-int4"}
    assert not any(n.startswith("serve-bf16/") for n, _ in found)  # bf16 is served as merged
    paths = {n: str(_write(tmp_path, n, d)) for n, d in found}
    code = (
        "import json, sys\n"
        "from llmcompressor.recipe import Recipe\n"
        "out = {}\n"
        "for p in sys.argv[1:]:\n"
        "    r = Recipe.create_instance(p)\n"
        "    out[p] = [type(m).__name__ for m in r.modifiers]\n"
        "print(json.dumps(out))\n"
    )
    run = subprocess.run([llmcompressor_python(), "-c", code, *paths.values()], capture_output=True, text=True)
    assert run.returncode == 0, run.stderr[-2000:]
    modifiers = json.loads(run.stdout.strip().splitlines()[-1])
    for name, path in paths.items():
        want = "GPTQModifier" if name.startswith("serve-int4/") else "QuantizationModifier"
        assert modifiers[path] == [want], name
    # a mixture of experts is quantized through llm-compressor's expert linearization: the script's import exists
    merge = trees["student-qwen3-30b-a3b"]["distill/training/merge.py"].decode()
    line = next(ln.strip() for ln in merge.splitlines() if "load_quantizable_moe" in ln and "import" in ln)
    run = subprocess.run([llmcompressor_python(), "-c", line], capture_output=True, text=True)
    assert run.returncode == 0, run.stderr[-2000:]


# ---------------------------------------------------------------- lm-evaluation-harness


def test_eval_task_loads_in_lm_eval_harness(
    trees: dict[str, Tree], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`lm_eval --include_path distill/eval --tasks <task>`: the harness's own task loader reads the locked
    JSONL through the task and renders each row's prompt and target."""
    import json
    import shutil

    from lm_eval.tasks import TaskManager

    from .variants import EXAMPLES

    monkeypatch.setenv("HF_DATASETS_OFFLINE", "1")
    for example in ("invoice-extraction", "ticket-triage"):
        work = tmp_path / example
        shutil.copytree(EXAMPLES / example, work)
        task_yaml = trees[example]["distill/eval/eval.yaml"]
        (work / "distill/eval").mkdir(parents=True, exist_ok=True)
        (work / "distill/eval/eval.yaml").write_bytes(task_yaml)
        name = yaml.safe_load(task_yaml)["task"]
        monkeypatch.chdir(work)  # data_files are relative to the folder holding distill.toml
        loaded = TaskManager(include_path=str(work / "distill/eval")).load([name])
        task = loaded["tasks"][name]
        docs = list(task.test_docs())
        rows = [json.loads(line) for line in (work / "eval/locked.jsonl").read_text().splitlines() if line.strip()]
        assert len(docs) == len(rows) and task.config.output_type == "generate_until"
        assert task.doc_to_text(docs[0]) == rows[0]["input"]
        target = task.doc_to_target(docs[0])
        assert (json.loads(target) if example == "invoice-extraction" else target) == rows[0]["reference"]


def test_the_eval_task_sends_the_system_prompt_in_lm_eval_harness(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With [teacher_data].system_prompt, the harness's own prompt builder (the chat form
    `--apply_chat_template` sends to the served student) starts with that system message, verbatim."""
    import json

    from lm_eval.tasks import TaskManager

    from .test_templates import SYSTEM_PROMPT
    from .variants import render_variant

    monkeypatch.setenv("HF_DATASETS_OFFLINE", "1")
    tree = render_variant(tmp_path, "invoice-extraction", {"teacher_data": {"system_prompt": SYSTEM_PROMPT}})
    work = tmp_path / "invoice-extraction"
    (work / "distill/eval").mkdir(parents=True, exist_ok=True)
    (work / "distill/eval/eval.yaml").write_bytes(tree["distill/eval/eval.yaml"])
    name = yaml.safe_load(tree["distill/eval/eval.yaml"])["task"]
    monkeypatch.chdir(work)
    task = TaskManager(include_path=str(work / "distill/eval")).load([name])["tasks"][name]
    doc = next(iter(task.test_docs()))
    chat = task.fewshot_context(
        doc, 0, apply_chat_template=True, chat_template=lambda m, add_generation_prompt=True: json.dumps(m)
    )
    messages = json.loads(chat)
    assert messages[0] == {"role": "system", "content": SYSTEM_PROMPT}
    assert messages[1] == {"role": "user", "content": doc["input"]}


# ---------------------------------------------------------------- LiteLLM router


# LiteLLM's own types trip pydantic's ReadOnly-TypedDict warning when imported: not ours to fix.
def LITELLM_IMPORT_WARNINGS(test):  # type: ignore[no-untyped-def]
    for rule in (
        "ignore:Items? .* on TypedDict class:UserWarning",
        "ignore::pydantic.warnings.PydanticDeprecatedSince20",
    ):
        test = pytest.mark.filterwarnings(rule)(test)
    return test


def _router_folder(trees: dict[str, Tree], tmp_path: Path) -> Path:
    folder = tmp_path / "router"
    folder.mkdir()
    tree = trees["clinical-coding"]  # routing.mode = "cache"
    for name in ("config.yaml", "confidence_hook.py"):
        (folder / name).write_bytes(tree[f"distill/serving/router/{name}"])
    return folder


@LITELLM_IMPORT_WARNINGS
def test_router_config_loads_in_the_litellm_proxy(
    trees: dict[str, Tree], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The proxy's own loader (`litellm --config` runs ProxyConfig.load_config): models, fallbacks and the hook."""
    import asyncio

    import litellm
    from litellm.proxy.proxy_server import ProxyConfig

    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-test-not-used")
    monkeypatch.setattr(litellm, "callbacks", [])
    folder = _router_folder(trees, tmp_path)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # LiteLLM's own start-up deprecations are not ours to fix
        router, model_list, _general = asyncio.run(
            ProxyConfig().load_config(router=None, config_file_path=str(folder / "config.yaml"))
        )
    assert sorted(router.model_names) == ["clinical-coding", "clinical-coding-teacher"]
    assert router.fallbacks == [{"clinical-coding": ["clinical-coding-teacher"]}]
    deployments = {d["model_name"]: d["litellm_params"] for d in model_list}
    assert deployments["clinical-coding"]["api_base"] == "http://vllm-clinical-coding:8000/v1"
    assert deployments["clinical-coding-teacher"]["model"] == "anthropic/claude-sonnet-5-5"
    hooks = [c for c in litellm.callbacks if type(c).__name__ == "ConfidenceRouter"]
    assert len(hooks) == 1


def _load_hook(folder: Path):  # type: ignore[no-untyped-def]
    import importlib.util

    spec = importlib.util.spec_from_file_location("confidence_hook", folder / "confidence_hook.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _student_response(logprobs: list[float]):  # type: ignore[no-untyped-def]
    import litellm

    return litellm.ModelResponse(
        model="clinical-coding",
        choices=[
            {
                "index": 0,
                "finish_reason": "stop",
                "message": {"role": "assistant", "content": "I21.4"},
                "logprobs": {
                    "content": [
                        {"token": f"t{i}", "logprob": lp, "bytes": [], "top_logprobs": []}
                        for i, lp in enumerate(logprobs)
                    ]
                },
            }
        ],
    )


@LITELLM_IMPORT_WARNINGS
def test_confidence_hook_keeps_a_sure_student_and_asks_the_teacher_otherwise(
    trees: dict[str, Tree], tmp_path: Path
) -> None:
    """The hook with a real LiteLLM Router whose teacher deployment answers with LiteLLM's mock_response."""
    import asyncio
    import math

    import litellm

    folder = _router_folder(trees, tmp_path)
    hook = _load_hook(folder)
    assert hook.CONFIDENCE_THRESHOLD == 0.85  # clinical-coding's [routing].confidence_threshold
    # The student deployment asks for log-probabilities, the teacher's does not (a fallback must not carry them).
    deployments = {
        d["model_name"]: d["litellm_params"] for d in yaml.safe_load((folder / "config.yaml").read_text())["model_list"]
    }
    assert deployments[hook.STUDENT].get("logprobs") is True and "logprobs" not in deployments[hook.TEACHER]
    router = litellm.Router(
        model_list=[
            {
                "model_name": hook.TEACHER,
                "litellm_params": {"model": "openai/teacher", "mock_response": "I21.9 (teacher)"},
            }
        ]
    )
    rule = hook.ConfidenceRouter(router=router)
    data = {"model": hook.STUDENT, "messages": [{"role": "user", "content": "discharge summary"}]}
    assert "logprobs" not in asyncio.run(rule.async_pre_call_hook(None, None, dict(data), "completion"))

    sure = _student_response([math.log(0.95)] * 3)  # confidence 0.95 >= 0.85
    assert hook.confidence(sure) == pytest.approx(0.95)
    assert asyncio.run(rule.async_post_call_success_hook(data, None, sure)) is sure

    unsure = _student_response([math.log(0.99), math.log(0.5)])  # exp(mean) = 0.70 < 0.85
    answer = asyncio.run(rule.async_post_call_success_hook(data, None, unsure))
    assert answer.choices[0].message.content == "I21.9 (teacher)"

    no_logprobs = litellm.ModelResponse(
        model="x", choices=[{"index": 0, "message": {"role": "assistant", "content": "?"}}]
    )
    assert hook.needs_teacher(no_logprobs)  # cannot judge: the teacher answers
    teacher_call = {"model": hook.TEACHER, "messages": data["messages"]}
    assert asyncio.run(rule.async_post_call_success_hook(teacher_call, None, unsure)) is unsure  # teacher answers pass
    # The router's fallback answered (the student failed): judged as the teacher's, not sent to the teacher again.
    fallback = litellm.ModelResponse(
        model="teacher", choices=[{"index": 0, "message": {"role": "assistant", "content": "T"}}]
    )
    fallback._hidden_params = {"additional_headers": {"x-litellm-model-group": hook.TEACHER}}
    assert hook.answered_by(fallback) == hook.TEACHER
    assert asyncio.run(rule.async_post_call_success_hook(data, None, fallback)) is fallback


@LITELLM_IMPORT_WARNINGS
def test_confidence_hook_rolls_back_a_stratum(trees: dict[str, Tree], tmp_path: Path) -> None:
    import asyncio

    hook = _load_hook(_router_folder(trees, tmp_path))
    hook.TEACHER_ONLY_STRATA = frozenset({"oncology"})
    rule = hook.ConfidenceRouter(router=object())
    data = {"model": hook.STUDENT, "messages": [], "metadata": {"stratum": "oncology"}}
    assert asyncio.run(rule.async_pre_call_hook(None, None, data, "completion"))["model"] == hook.TEACHER
    other = {"model": hook.STUDENT, "messages": [], "metadata": {"stratum": "cardiology"}}
    assert asyncio.run(rule.async_pre_call_hook(None, None, other, "completion"))["model"] == hook.STUDENT
