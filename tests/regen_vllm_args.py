"""Regenerate tests/vllm_engine_args.txt and tests/vllm_quantization_methods.txt from a real vLLM release.

    python tests/regen_vllm_args.py [VERSION]     # default: the release in [serving].image's default tag

vLLM needs a GPU build and gigabytes of dependencies, too heavy for CI here; its `vllm serve --config` keys
are its long option names, i.e. the fields of EngineArgs/AsyncEngineArgs (vllm/engine/arg_utils.py) and of
the OpenAI server's FrontendArgs (vllm/entrypoints/common/cli_args.py), underscores as dashes. This script
downloads the release's wheel (no install, no dependencies), reads those classes with `ast`, and writes the
lists with the version and the date, so a test can hold vllm.yaml to them. Review the diff, then commit.
"""

from __future__ import annotations

import ast
import datetime as dt
import re
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
ENGINE_CLASSES = {
    "vllm/engine/arg_utils.py": ("EngineArgs", "AsyncEngineArgs"),
    "vllm/entrypoints/common/cli_args.py": ("BaseFrontendArgs", "FrontendArgs"),
}
QUANTIZATION_FILE = "vllm/model_executor/layers/quantization/__init__.py"


def default_version() -> str:
    from distillplan.spec.models import Serving

    tag = Serving().image.rsplit(":", 1)[1]
    return tag.removeprefix("v")


def fields(source: str, names: tuple[str, ...]) -> set[str]:
    out: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.ClassDef) and node.name in names:
            for stmt in node.body:
                if isinstance(stmt, ast.AnnAssign) and isinstance(stmt.target, ast.Name):
                    out.add(stmt.target.id)
    return out


def quantization_methods(source: str) -> list[str]:
    """The string values of the ``QuantizationMethods = Literal[...]`` alias."""
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, (ast.Assign, ast.AnnAssign)):
            target = node.targets[0] if isinstance(node, ast.Assign) else node.target
            if isinstance(target, ast.Name) and target.id == "QuantizationMethods" and node.value is not None:
                return sorted(
                    c.value for c in ast.walk(node.value) if isinstance(c, ast.Constant) and isinstance(c.value, str)
                )
    raise SystemExit(f"QuantizationMethods not found in {QUANTIZATION_FILE}")


def main(version: str) -> int:
    with tempfile.TemporaryDirectory() as tmp:
        download = ["download", "--quiet", "--no-deps", "--only-binary", ":all:", "--dest", tmp, f"vllm=={version}"]
        subprocess.run(
            [sys.executable, "-m", "pip", *download],
            check=True,
        )
        (wheel,) = Path(tmp).glob("vllm-*.whl")
        with zipfile.ZipFile(wheel) as z:
            names: set[str] = set()
            for path, classes in ENGINE_CLASSES.items():
                names |= fields(z.read(path).decode("utf-8"), classes)
            methods = quantization_methods(z.read(QUANTIZATION_FILE).decode("utf-8"))
    today = dt.date.today().isoformat()
    source = f"{wheel.name}, generated {today} by tests/regen_vllm_args.py"
    options = sorted(re.sub("_", "-", n) for n in names if not n.startswith("_"))
    (HERE / "vllm_engine_args.txt").write_text(
        "# vLLM `vllm serve` long option names, the keys of a `--config` YAML file.\n"
        f"# vllm {version}: EngineArgs, AsyncEngineArgs, BaseFrontendArgs, FrontendArgs fields ({source}).\n"
        + "".join(f"{o}\n" for o in options)
    )
    (HERE / "vllm_quantization_methods.txt").write_text(
        f"# vLLM `--quantization` values (QuantizationMethods) of vllm {version} ({source}).\n"
        + "".join(f"{m}\n" for m in methods)
    )
    print(f"vllm {version}: {len(options)} options, {len(methods)} quantization methods")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else default_version()))
