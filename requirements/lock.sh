#!/usr/bin/env bash
# Regenerate every lock in this folder from pyproject.toml and the *.in files: the one command
#   bash requirements/lock.sh
# (needs uv: `pip install uv==0.13.9`; reads the package index, so run it online). Each lock pins
# every transitive version for CPython 3.11 on x86_64 Linux; tests/test_locks.py checks that they
# agree with pyproject.toml. torch is the CPU build 2.13.0+cpu: uv finds it in $TORCH_WHEELS (a
# folder holding the wheel; /opt/wheels on the project's machines) or on PyTorch's CPU index.
set -euo pipefail
cd "$(dirname "$0")/.."
opts=(--quiet --python-version 3.11 --python-platform x86_64-manylinux_2_28 --custom-compile-command "bash requirements/lock.sh")
wheels="${TORCH_WHEELS:-/opt/wheels}"
if [ -d "$wheels" ]; then
  opts+=(--find-links "$wheels")
else
  opts+=(--extra-index-url https://download.pytorch.org/whl/cpu --index-strategy unsafe-best-match)
fi
# The test environment first: the others are constrained to agree with it, so any two of them
# install side by side (.ci/run puts test and lint in one environment).
uv pip compile "${opts[@]}" pyproject.toml --extra test -c requirements/torch-cpu.in -o requirements/test.txt
uv pip compile "${opts[@]}" pyproject.toml -c requirements/test.txt -o requirements/runtime.txt
uv pip compile "${opts[@]}" pyproject.toml --extra lint -c requirements/test.txt -o requirements/lint.txt
uv pip compile "${opts[@]}" requirements/llmcompressor.in -c requirements/torch-cpu.in -o requirements/llmcompressor.txt
