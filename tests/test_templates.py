"""The templates and filters: golden trees, every file parses, keys real engines accept."""

from __future__ import annotations

import dataclasses
import json
import re
import shutil
from pathlib import Path
from typing import Any

import jinja2
import pytest
import tomllib
import yaml
from markdown_it import MarkdownIt

from distillplan.commands._inputs import plan_for_file
from distillplan.commands.scaffold import tree_for
from distillplan.evalset.lockfile import read_lock
from distillplan.outputs import render
from distillplan.outputs.scaffold import lock_state
from distillplan.plan.build import training_layout
from distillplan.plan.model import Plan
from distillplan.spec.load import load_spec

HERE = Path(__file__).resolve().parent


def _regen() -> Any:
    import importlib.util

    spec = importlib.util.spec_from_file_location("regen_golden", HERE / "regen_golden.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


_REGEN = _regen()
EXAMPLES, GOLDEN = _REGEN.EXAMPLES, _REGEN.GOLDEN
example_names, render_example = _REGEN.example_names, _REGEN.render_example
NASTY = "Acme: # \"quoted\" 'single' | pipe > gt { } [ ] <b>html</b> *em* _u_ `tick` \\ back\nnewline Zoë 東京 🚀"


def _names(file: str) -> set[str]:
    lines = (HERE / file).read_text(encoding="utf-8").splitlines()
    return {ln.strip() for ln in lines if ln.strip() and not ln.startswith("#")}


@pytest.fixture(scope="module")
def trees(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, bytes]]:
    work = tmp_path_factory.mktemp("examples")
    return {name: render_example(name, work) for name in example_names()}


def _all_files(trees: dict[str, dict[str, bytes]], suffix: str) -> list[tuple[str, str]]:
    return [
        (f"{n}/{rel}", data.decode("utf-8"))
        for n, tree in trees.items()
        for rel, data in sorted(tree.items())
        if rel.endswith(suffix)
    ]


# ---------------------------------------------------------------- golden trees


@pytest.mark.parametrize("name", example_names())
def test_golden_tree(trees: dict[str, dict[str, bytes]], name: str) -> None:
    golden = {
        p.relative_to(GOLDEN / name).as_posix(): p.read_bytes() for p in (GOLDEN / name).rglob("*") if p.is_file()
    }
    assert sorted(trees[name]) == sorted(golden), "run tests/regen_golden.py and review"
    for rel, data in trees[name].items():
        assert data == golden[rel], f"{name}/{rel} differs from its golden; run tests/regen_golden.py"


def test_rendering_is_deterministic(tmp_path: Path) -> None:
    a = render_example("invoice-extraction", tmp_path / "a")
    b = render_example("invoice-extraction", tmp_path / "b")
    assert a == b


def test_conditional_files(trees: dict[str, dict[str, bytes]]) -> None:
    assert "distill/serving/router/config.yaml" in trees["clinical-coding"]  # routing.mode = "cache"
    assert "distill/serving/router/confidence_hook.py" not in trees["invoice-extraction"]
    assert all("distill/training/accelerate.yaml" not in t for t in trees.values())  # 1 GPU each


# ---------------------------------------------------------------- every file parses


def test_every_yaml_parses(trees: dict[str, dict[str, bytes]]) -> None:
    files = _all_files(trees, ".yaml")
    assert len(files) >= 4 * 7
    for name, text in files:
        assert isinstance(yaml.safe_load(text), dict), name


def _tables(text: str) -> list[list[int]]:
    """Cell counts of every row of every table markdown-it finds."""
    tokens = MarkdownIt("commonmark").enable("table").parse(text)
    tables: list[list[int]] = []
    for i, tok in enumerate(tokens):
        if tok.type == "table_open":
            tables.append([])
        elif tok.type == "tr_open":
            j, cells = i + 1, 0
            while tokens[j].type != "tr_close":
                cells += tokens[j].type in ("th_open", "td_open")
                j += 1
            tables[-1].append(cells)
    return tables


def _pipe_rows(text: str) -> list[list[str]]:
    """Raw table blocks: the cells of each ``|``-row, split on unescaped pipes."""
    return [[c for c in re.split(r"(?<!\\)\|", line)[1:-1]] for line in text.splitlines() if line.startswith("|")]


def test_markdown_tables_well_formed(trees: dict[str, dict[str, bytes]]) -> None:
    for name, text in _all_files(trees, ".md"):
        raw_tables = sum(1 for ln in text.splitlines() if re.match(r"^\|(-{3}\|)+$", ln))
        tables = _tables(text)
        assert len(tables) == raw_tables >= 2, name  # every pipe block renders as a table
        for rows in tables:
            assert len(set(rows)) == 1, f"{name}: ragged table {rows}"
        for block in _pipe_rows(text):
            assert block, name


def _chart(text: str) -> dict[str, Any]:
    block = re.search(r"```mermaid\n(.*?)```", text, re.S)
    assert block
    body = block.group(1)
    init = re.match(r"%%\{init: (.*)\}%%\n", body)
    assert init, "colours are set explicitly"
    body = body[init.end() :]
    assert body.startswith("xychart-beta\n")
    axis = re.search(r'x-axis "[^"]*" \[(.*)\]', body)
    y = re.search(r'y-axis "[^"]*" (\S+) --> (\S+)', body)
    lines = re.findall(r"^\s*line \[(.*)\]$", body, re.M)
    assert axis and y and len(lines) == 2
    return {
        "palette": json.loads(init.group(1))["themeVariables"]["xyChart"]["plotColorPalette"].split(", "),
        "months": json.loads("[" + axis.group(1) + "]"),
        "y": (float(y.group(1)), float(y.group(2))),
        "lines": [json.loads("[" + ln + "]") for ln in lines],
    }


def test_mermaid_chart(trees: dict[str, dict[str, bytes]]) -> None:
    for name, tree in trees.items():
        if "distill/docs/proposal.md" not in tree:
            continue  # a decision memo instead (not distill)
        chart = _chart(tree["distill/docs/proposal.md"].decode())
        frontier, distilled = chart["lines"]
        assert chart["months"] == list(range(25))  # month 0 (kickoff) to the 24-month horizon
        assert len(frontier) == len(distilled) == 25 and frontier[0] == distilled[0] == 0
        assert frontier == sorted(frontier)  # cumulative: never falls
        assert chart["y"][0] == 0 and chart["y"][1] >= max(frontier + distilled), name
        assert all(re.fullmatch(r"#[0-9a-f]{6}", c) for c in chart["palette"]) and "#ececff" not in chart["palette"]


def test_chart_lines_cross_at_the_payback_the_text_states(tmp_path: Path) -> None:
    """Point m is the total after m months, so the crossing lies in the month payback_months_from_kickoff names."""
    tree = render_example("invoice-extraction", tmp_path)
    text = tree["distill/docs/proposal.md"].decode()
    plan = plan_for_file(load_spec(tmp_path / "invoice-extraction/distill.toml")).to_json()
    payback = plan["finance"]["payback_months_from_kickoff"]
    frontier, distilled = _chart(text)["lines"]
    first_below = next(m for m in range(1, 25) if distilled[m] < frontier[m])
    assert first_below - 1 < payback <= first_below
    assert f"falls below the red one {payback:.1f} months from kickoff" in text
    assert "Red line: staying on claude-sonnet-5.5" in text


def test_contract_states_the_acceptance_test(trees: dict[str, dict[str, bytes]]) -> None:
    text = trees["invoice-extraction"]["distill/docs/contract.md"].decode()
    locked = tomllib.loads((EXAMPLES / "invoice-extraction" / "distill.lock").read_text("utf-8"))["eval"]["hash"]
    assert f"content hash {locked[:15]}" in text and "eval/locked.jsonl (git blob 24170d33" in text
    assert "committed in" not in text  # no commit cited: committing never makes it stale (issue 23)
    assert "| overall | 40 | 93.00 | 90.50 |" in text
    assert "| medical | 10 | 89.00 | 84.00 |" in text
    assert "`distillplan accept --predictions predictions.jsonl`" in text
    assert "| 2 | Student passes the locked eval within the contracted gap | 70% |" in text


def test_k8s_manifests_have_required_fields(trees: dict[str, dict[str, bytes]]) -> None:
    for tree in trees.values():
        k8s = {rel.rsplit("/", 1)[1]: yaml.safe_load(data) for rel, data in tree.items() if "/k8s/" in rel}
        for doc in k8s.values():
            assert doc["apiVersion"] and doc["kind"] and doc["metadata"]["name"]
            assert re.fullmatch(r"[a-z]([-a-z0-9]{0,61}[a-z0-9])?", doc["metadata"]["name"])
        dep, svc, cm = k8s["deployment.yaml"], k8s["service.yaml"], k8s["configmap.yaml"]
        assert (dep["kind"], svc["kind"], cm["kind"]) == ("Deployment", "Service", "ConfigMap")
        labels = dep["spec"]["template"]["metadata"]["labels"]
        selector = dep["spec"]["selector"]["matchLabels"]
        assert selector.items() <= labels.items() and svc["spec"]["selector"] == selector
        pod = dep["spec"]["template"]["spec"]
        (container,) = pod["containers"]
        assert container["name"] and container["image"].startswith("vllm/vllm-openai:")
        vllm = yaml.safe_load(tree["distill/serving/vllm.yaml"])
        assert container["resources"]["limits"]["nvidia.com/gpu"] == vllm["tensor-parallel-size"]
        (term,) = pod["affinity"]["nodeAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"]["nodeSelectorTerms"]
        (expr,) = term["matchExpressions"]
        assert expr["key"] == "nvidia.com/gpu.product" and expr["operator"] == "In"
        pvc = yaml.safe_load(tree["distill/serving/k8s/pvc.yaml"])
        assert pvc["spec"]["accessModes"] == ["ReadWriteMany"]
        (model_volume,) = [v for v in pod["volumes"] if "persistentVolumeClaim" in v]
        assert model_volume["persistentVolumeClaim"]["claimName"] == pvc["metadata"]["name"]
        mount = next(m for m in container["volumeMounts"] if m["name"] == model_volume["name"])
        assert mount["readOnly"] is True and vllm["model"].startswith(mount["mountPath"] + "/")
        for probe in ("readinessProbe", "livenessProbe"):
            assert container[probe]["httpGet"] == {"path": "/health", "port": 8000}
        assert svc["spec"]["ports"][0]["port"] == 8000
        assert cm["data"]["vllm.yaml"] == tree["distill/serving/vllm.yaml"].decode()
        assert container["args"][-1].endswith("/vllm.yaml")
        assert any(v["configMap"]["name"] == cm["metadata"]["name"] for v in pod["volumes"] if "configMap" in v)


# ---------------------------------------------------------------- keys the engines accept


def test_sft_yaml_values(trees: dict[str, dict[str, bytes]]) -> None:
    """Value shapes; the keys themselves go through TRL's own parser in test_real_tools."""
    for name, text in _all_files(trees, "training/sft.yaml"):
        cfg = yaml.safe_load(text)
        assert isinstance(cfg["learning_rate"], float) and cfg["bf16"] is True, name
        assert "max_seq_length" not in cfg and "gradient_checkpointing" not in cfg, name  # TRL/transformers' old names
        assert cfg["activation_checkpointing"] is True, name  # one GPU: transformers' checkpointing


def test_sft_methods(trees: dict[str, dict[str, bytes]]) -> None:
    qlora = yaml.safe_load(trees["invoice-extraction"]["distill/training/sft.yaml"])
    lora = yaml.safe_load(trees["clinical-coding"]["distill/training/sft.yaml"])
    assert qlora["load_in_4bit"] is True and qlora["bnb_4bit_quant_type"] == "nf4"
    assert lora["use_peft"] is True and "load_in_4bit" not in lora
    assert qlora["num_train_epochs"] == 3.0


def test_vllm_yaml_carries_the_scheduler_limits_the_sizing_assumed(trees: dict[str, dict[str, bytes]]) -> None:
    """The replicas and latency rest on max_num_seqs / max_num_batched_tokens: the served
    engine must run with exactly those (issue 12)."""
    from distillplan.commands._inputs import plan_for_file
    from distillplan.spec.load import load_spec

    examples = Path(__file__).resolve().parent.parent / "examples"
    for name, tree in trees.items():
        cfg = yaml.safe_load(tree["distill/serving/vllm.yaml"])
        sizing = plan_for_file(load_spec(examples / name)).sizing
        assert cfg["max-num-seqs"] == sizing.vllm_max_num_seqs >= 1
        assert cfg["max-num-batched-tokens"] == sizing.vllm_max_num_batched_tokens >= 16


def test_vllm_keys_are_engine_args(trees: dict[str, dict[str, bytes]]) -> None:
    allowed = _names("vllm_engine_args.txt")
    for name, text in _all_files(trees, "serving/vllm.yaml"):
        cfg = yaml.safe_load(text)
        assert set(cfg) <= allowed, f"{name}: {sorted(set(cfg) - allowed)}"
        assert cfg["gpu-memory-utilization"] == 0.9 and cfg["port"] == 8000
    quant = {n: yaml.safe_load(t["distill/serving/vllm.yaml"]).get("quantization") for n, t in trees.items()}
    methods = _names("vllm_quantization_methods.txt")  # regenerated from the vLLM release by regen_vllm_args.py
    assert {q for q in quant.values() if q is not None} <= methods
    assert quant["open-chat"] is None  # bf16
    assert quant["invoice-extraction"] == "compressed-tensors"  # int8


def _render_with(tmp_path: Path, edit: dict[str, Any], plan_edit: Any = None) -> dict[str, bytes]:
    dest = tmp_path / "x"
    shutil.copytree(EXAMPLES / "invoice-extraction", dest, ignore=shutil.ignore_patterns("distill"))
    sf = load_spec(dest / "distill.toml")
    spec = sf.spec.model_copy(update={k: sf.spec.__dict__[k].model_copy(update=v) for k, v in edit.items()})
    sf = dataclasses.replace(sf, spec=spec)
    plan = plan_for_file(sf)
    if plan_edit:
        data = plan.to_json()
        plan_edit(data)
        plan = Plan.model_validate(data)
    return tree_for(sf, plan, lock_state(read_lock(dest)))


def test_prefix_cache_sizing_is_stated_in_vllm_yaml(tmp_path: Path, trees: dict[str, dict[str, bytes]]) -> None:
    """A workload cache share makes the sizing count prefix-cache hits; the engine config then
    states prefix caching on (a real vLLM engine argument), and without a share it is left out."""
    tree = _render_with(tmp_path, {"workload": {"cached_input_share": 0.6}})
    cfg = yaml.safe_load(tree["distill/serving/vllm.yaml"])
    assert cfg["enable-prefix-caching"] is True
    assert set(cfg) <= _names("vllm_engine_args.txt")
    assert "832 input tokens a request" in tree["distill/serving/vllm.yaml"].decode()
    # the proposal's assumptions carry the cached price and share (a CFO rebuilds the bill from them)
    proposal = tree["distill/docs/proposal.md"].decode()
    assert "| teacher price, cached input | $0.10 per million tokens, for 60% of input tokens |" in proposal
    for rows in _tables(proposal):
        assert len(set(rows)) == 1, f"ragged table {rows}"
    for _, text in _all_files(trees, "serving/vllm.yaml"):
        assert "enable-prefix-caching" not in yaml.safe_load(text)


@pytest.mark.parametrize(("gpu", "label"), [("h200-141gb", "NVIDIA-H200"), ("l40s-48gb", "NVIDIA-L40S")])
def test_new_catalog_gpus_reach_the_node_affinity(tmp_path: Path, gpu: str, label: str) -> None:
    tree = _render_with(tmp_path, {"hardware": {"gpu": gpu}})
    deployment = yaml.safe_load(tree["distill/serving/k8s/deployment.yaml"])
    terms = deployment["spec"]["template"]["spec"]["affinity"]["nodeAffinity"][
        "requiredDuringSchedulingIgnoredDuringExecution"
    ]["nodeSelectorTerms"]
    exprs = [e for t in terms for e in t["matchExpressions"] if e["key"] == "nvidia.com/gpu.product"]
    assert exprs and exprs[0]["values"] == [label]


def test_accelerate_config_when_training_needs_several_gpus(tmp_path: Path) -> None:
    def four_gpus(plan: dict[str, Any]) -> None:
        plan["sizing"]["training"].update(gpus=4, **training_layout(4))

    tree = _render_with(tmp_path, {"student": {"method": "full"}}, four_gpus)
    acc = yaml.safe_load(tree["distill/training/accelerate.yaml"])
    assert acc["num_processes"] == 4 and acc["distributed_type"] == "FSDP"
    sft = yaml.safe_load(tree["distill/training/sft.yaml"])
    assert sft["use_peft"] is False and sft["learning_rate"] == 1e-5
    assert "--accelerate_config distill/training/accelerate.yaml" in tree["distill/training/sft.yaml"].decode()


def test_int4_and_int8_are_compressed_tensors_made_by_the_recipe(tmp_path: Path) -> None:
    tree = _render_with(tmp_path, {"student": {"serving_precision": "int4"}})
    assert yaml.safe_load(tree["distill/serving/vllm.yaml"])["quantization"] == "compressed-tensors"
    group = yaml.safe_load(tree["distill/training/recipe.yaml"])["quant_stage"]["quant_modifiers"]["GPTQModifier"]
    assert group["config_groups"]["group_0"]["weights"]["num_bits"] == 4
    assert group["config_groups"]["group_0"]["weights"]["group_size"] == 128  # [policy.sizing].int4_group_size
    int8 = yaml.safe_load(_render_with(tmp_path / "8", {})["distill/training/recipe.yaml"])
    weights = int8["quant_stage"]["quant_modifiers"]["QuantizationModifier"]["config_groups"]["group_0"]["weights"]
    assert (weights["num_bits"], weights["strategy"]) == (8, "channel")  # one scale per output channel, as sized
    bf16 = _render_with(tmp_path / "bf", {"student": {"serving_precision": "bf16"}})
    assert "distill/training/recipe.yaml" not in bf16
    assert 'SERVED = "distill/training/output/merged"' in bf16["distill/training/merge.py"].decode()


def test_merge_script_compiles_and_names_the_paths_of_the_other_files(trees: dict[str, dict[str, bytes]]) -> None:
    for name, tree in trees.items():
        source = tree["distill/training/merge.py"].decode()
        compile(source, f"{name}/merge.py", "exec")
        sft = yaml.safe_load(tree["distill/training/sft.yaml"])
        assert f"TRAINED = {json.dumps(sft['output_dir'])}" in source
        assert f"BASE_MODEL = {json.dumps(sft['model_name_or_path'])}" in source
        vllm = yaml.safe_load(tree["distill/serving/vllm.yaml"])
        loader = tree["distill/serving/k8s/load/model-loader.yaml"].decode()
        served = re.search(r'^SERVED = "([^"]+)"', source, re.M)
        assert served and f"kubectl cp {served.group(1)} " in loader and f":{vllm['model']}\n" in loader


# ---------------------------------------------------------------- injection


def test_hostile_strings_round_trip(tmp_path: Path) -> None:
    tree = _render_with(
        tmp_path,
        {"project": {"title": NASTY, "client": NASTY, "provider": NASTY}},
        lambda p: p["teacher"].update(source=NASTY, model=NASTY),
    )
    assert yaml.safe_load(tree["distill/serving/vllm.yaml"])["served-model-name"] == "invoice-extraction"
    for rel, data in tree.items():
        if rel.endswith(".yaml"):
            yaml.safe_load(data)
    for doc in ("distill/docs/proposal.md", "distill/docs/contract.md"):
        text = tree[doc].decode()
        for rows in _tables(text):
            assert len(set(rows)) == 1, rows
        assert "<b>" not in text and "\nnewline" not in text
    contract = tree["distill/docs/contract.md"].decode()
    html = MarkdownIt("commonmark").enable("table").render(contract)
    assert "Acme: # &quot;quoted&quot;" in html and "<b>html" not in html


@pytest.mark.parametrize("value", [NASTY, "", "null", "true", "0x1F", "- a", "\x85\u2028\ufeff\x01 tab\t", "é" * 3])
def test_yaml_str_round_trips(value: str) -> None:
    assert yaml.safe_load("k: " + render.yaml_str(value))["k"] == value


@pytest.mark.parametrize("value", [2e-5, 1e-05, 0.0002, 3.0, 1e16, -1.5e-7])
def test_yaml_value_floats_stay_floats(value: float) -> None:
    assert yaml.safe_load("k: " + render.yaml_value(value))["k"] == value


def test_toml_str_round_trips() -> None:
    import tomllib

    assert tomllib.loads("k = " + render.toml_str(NASTY + "\x01\t"))["k"] == NASTY + "\x01\t"


def test_markdown_filters() -> None:
    assert render.md_cell("a | b") == "a \\| b"
    assert render.md_cell("") == "-"
    assert render.md_text("line\nnext") == "line next"
    assert render.md_text("# heading") == "\\# heading"
    assert render.md_text("1. item") == "1\\. item" and render.md_text("9.9B") == "9.9B"


def test_number_filters() -> None:
    assert render.usd(1234.5) == "$1,234" or render.usd(1234.5) == "$1,235"
    assert render.usd(-5000) == "-$5,000" and render.usd(None) == "n/a"
    assert render.usd(1_234_567, compact=True) == "$1.2M"
    assert render.usd(4.8181, 2) == "$4.82"
    assert render.pct(0.125) == "12.5%" and render.num(1234567) == "1,234,567"


def test_undefined_names_fail() -> None:
    import jinja2

    with pytest.raises(jinja2.UndefinedError):
        render.environment().from_string("{{ nothing.here }}").render()


def test_serving_settings_reach_the_manifests(tmp_path: Path) -> None:
    from .variants import render_variant

    serving = {
        "image": "registry.example/vllm:pinned",
        "node_selector": {"cloud.google.com/gke-accelerator": "nvidia-a100-80gb"},
        "storage_class": "filestore-rwx",
        "model_volume_gib": 64,
    }
    tree = render_variant(tmp_path, "invoice-extraction", {"serving": serving})
    pod = yaml.safe_load(tree["distill/serving/k8s/deployment.yaml"])["spec"]["template"]["spec"]
    assert pod["containers"][0]["image"] == "registry.example/vllm:pinned"
    assert pod["nodeSelector"] == serving["node_selector"] and "affinity" not in pod
    pvc = yaml.safe_load(tree["distill/serving/k8s/pvc.yaml"])["spec"]
    assert pvc["storageClassName"] == "filestore-rwx" and pvc["resources"]["requests"]["storage"] == "64Gi"
    default = yaml.safe_load(render_variant(tmp_path / "d", "invoice-extraction")["distill/serving/k8s/pvc.yaml"])
    assert "storageClassName" not in default["spec"]
    assert default["spec"]["resources"]["requests"]["storage"] == "20Gi"  # 2 x 8.5 GiB, at least 20


SYSTEM_PROMPT = 'Extract the fields as JSON: {{ input }} {% raw %} "quoted" \\ back é 😀\u2028\x1b\nline two }}'


def test_the_system_prompt_is_the_eval_tasks_description(tmp_path: Path) -> None:
    """The student is scored under the system prompt it trained under (issue 23): eval.yaml's
    `description`, which lm-evaluation-harness renders as a Jinja template (its environment:
    StrictUndefined, trailing newline kept) into the system message, renders to exactly the prompt,
    whatever braces or quotes it holds; without a system prompt there is no description."""
    import jinja2

    task = yaml.safe_load(
        _render_with(tmp_path, {"teacher_data": {"system_prompt": SYSTEM_PROMPT}})["distill/eval/eval.yaml"]
    )
    env = jinja2.Environment(loader=jinja2.BaseLoader(), undefined=jinja2.StrictUndefined, keep_trailing_newline=True)
    assert env.from_string(task["description"]).render(input="NOT THIS") == SYSTEM_PROMPT
    plain = yaml.safe_load(_render_with(tmp_path / "plain", {})["distill/eval/eval.yaml"])
    assert "description" not in plain


# ---------------------------------------------------------------- per family (issue 29)


@pytest.fixture(scope="module")
def families(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, bytes]]:
    from .variants import FAMILY_VARIANTS, render_variant

    def distill(plan: dict[str, Any]) -> None:  # unlocked here: the contract is written for a distill verdict
        plan["verdict"]["decision"] = "distill"

    work = tmp_path_factory.mktemp("families")
    return {
        name: render_variant(work / name, "invoice-extraction", edit, distill) for name, edit in FAMILY_VARIANTS.items()
    }


def test_gemma_3_is_served_text_only_and_gets_its_system_prompt_in_the_user_turn(
    families: dict[str, dict[str, bytes]],
) -> None:
    from .variants import FAMILY_SYSTEM_PROMPT

    tree = families["student-gemma-3-12b-it"]
    vllm = yaml.safe_load(tree["distill/serving/vllm.yaml"])
    assert set(vllm) <= _names("vllm_engine_args.txt")
    assert vllm["language-model-only"] is True and "default-chat-template-kwargs" not in vllm
    assert "40 of the 48 layers attend to the last 1,024 tokens" in tree["distill/serving/vllm.yaml"].decode()
    task = yaml.safe_load(tree["distill/eval/eval.yaml"])
    assert "description" not in task  # no system turn: the prompt leads the user turn instead
    rendered = jinja2.Environment().from_string(task["doc_to_text"]).render(input="INVOICE 42")
    assert rendered == FAMILY_SYSTEM_PROMPT + "\n\nINVOICE 42"
    assert yaml.safe_load(tree["distill/training/sft.yaml"])["lora_target_modules"] == ["all-linear"]
    contract = tree["distill/docs/contract.md"].decode()
    assert "Gemma Terms of Use" in contract and "Prohibited Use Policy" in contract
    assert "Gemma Terms of Use (https://ai.google.dev/gemma/terms), gated" in tree["distill/docs/proposal.md"].decode()


def test_a_qwen3_mixture_of_experts_thinks_off_and_adapts_its_attention(families: dict[str, dict[str, bytes]]) -> None:
    tree = families["student-qwen3-30b-a3b"]
    vllm = yaml.safe_load(tree["distill/serving/vllm.yaml"])
    assert set(vllm) <= _names("vllm_engine_args.txt")
    assert vllm["default-chat-template-kwargs"] == {"enable_thinking": False}
    assert "language-model-only" not in vllm
    sft = yaml.safe_load(tree["distill/training/sft.yaml"])
    assert sft["lora_target_modules"] == ["q_proj", "k_proj", "v_proj", "o_proj"]
    assert "Apache License 2.0" in tree["distill/docs/contract.md"].decode()
    proposal = tree["distill/docs/proposal.md"].decode()
    assert "30,532,122,624 parameters (3,353,032,704 active a token: 8 of 128 experts)" in proposal


def test_fold_system_prompt() -> None:
    from distillplan.plan.student import fold_system_prompt

    system, user = {"role": "system", "content": "S"}, {"role": "user", "content": "U"}
    assert fold_system_prompt([system, user]) == [{"role": "user", "content": "S\n\nU"}]
    assert fold_system_prompt([user]) == [user]
    assert fold_system_prompt([system]) == [{"role": "user", "content": "S"}]
