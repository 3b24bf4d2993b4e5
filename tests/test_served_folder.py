"""The served folder holds the weights alone: `merge.py merge` after full fine-tuning, run for real.

The training output of a full fine-tune also holds TRL's checkpoints (optimizer and scheduler states,
several times the weights); the folder copied onto the model volume, and the volume's size, are the
weights only.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from .tiny_model import make_tiny_llama
from .variants import render_variant

WEIGHTS_ONLY = {
    "config.json", "generation_config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json",
    "special_tokens_map.json", "chat_template.jinja",
}  # fmt: skip


def _value(script: str, name: str) -> str:
    line = next(ln for ln in script.splitlines() if ln.startswith(f"{name} = "))
    return str(yaml.safe_load(line.split(" = ", 1)[1].split("  #", 1)[0]))


@pytest.mark.slow  # torch and transformers, in a subprocess
def test_full_fine_tuning_serves_a_clean_folder(tmp_path: Path) -> None:
    for precision in ("bf16", "int8"):
        tree = render_variant(
            tmp_path / precision,
            "invoice-extraction",
            {"student": {"method": "full", "serving_precision": precision}},
        )
        script = tree["distill/training/merge.py"].decode()
        trained, merged, served = (_value(script, n) for n in ("TRAINED", "MERGED", "SERVED"))
        assert served != trained and merged != trained, precision
        assert served == (merged if precision == "bf16" else "distill/training/output/served"), precision
        assert f"kubectl cp {served} " in tree["distill/serving/k8s/load/model-loader.yaml"].decode()

    work = tmp_path / "run"
    (work / "distill/training").mkdir(parents=True)
    (work / "distill/training/merge.py").write_text(script)
    output = make_tiny_llama(work / trained, ["a ticket about billing", "a shipping question"])
    checkpoint = output / "checkpoint-2"  # what TRL's save_strategy leaves beside the final weights
    checkpoint.mkdir()
    (checkpoint / "optimizer.pt").write_bytes(b"\0" * 4096)
    (checkpoint / "scheduler.pt").write_bytes(b"\0" * 64)
    (output / "training_args.bin").write_bytes(b"\0" * 64)
    run = subprocess.run(
        [sys.executable, "distill/training/merge.py", "merge"], cwd=work, capture_output=True, text=True
    )
    assert run.returncode == 0, run.stderr[-3000:]
    written = {p.name for p in (work / merged).iterdir()}
    assert "model.safetensors" in written and "config.json" in written
    assert written <= WEIGHTS_ONLY, written - WEIGHTS_ONLY


def test_the_generated_cluster_steps_create_the_claim_first(tmp_path: Path) -> None:
    """docs/operations.md: the claim, then the loader pod that mounts it, then the copy of the served folder."""

    def distill(plan: dict[str, Any]) -> None:
        plan["verdict"]["decision"] = "distill"  # docs/operations.md comes with a distill verdict

    tree = render_variant(tmp_path, "clinical-coding", plan_edit=distill)
    steps = [ln for ln in tree["distill/docs/operations.md"].decode().splitlines() if ln.startswith("kubectl ")]
    claim = yaml.safe_load(tree["distill/serving/k8s/pvc.yaml"])["metadata"]["name"]
    loader = yaml.safe_load(tree["distill/serving/k8s/load/model-loader.yaml"])
    assert {v["persistentVolumeClaim"]["claimName"] for v in loader["spec"]["volumes"]} == {claim}
    served = _value(tree["distill/training/merge.py"].decode(), "SERVED")
    assert steps == [
        "kubectl apply -f distill/serving/k8s/pvc.yaml",
        "kubectl apply -f distill/serving/k8s/load/",
        f"kubectl wait --for=condition=Ready pod/{loader['metadata']['name']}",
        f"kubectl cp {served} {loader['metadata']['name']}:/models/clinical-coding",
        f"kubectl delete pod {loader['metadata']['name']}",
        "kubectl apply -f distill/serving/k8s/",
    ]
    assert "LITELLM_MASTER_KEY" in tree["distill/docs/operations.md"].decode()  # cache routing: the router's key
