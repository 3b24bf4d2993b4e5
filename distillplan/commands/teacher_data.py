"""``distillplan teacher-data requests|collect``: the teacher's training data through its batch API.

``requests`` writes ``<root>/training/batch/<api>-requests-NNN.jsonl`` from ``[teacher_data].inputs``;
``collect RESULTS...`` joins the vendor's result files to those requests and writes the TRL
prompt-completion JSONL that ``training/sft.yaml`` reads (``<root>/training/data/train.jsonl``).
"""

from __future__ import annotations

import json
import os
import posixpath
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from distillplan import git
from distillplan.catalogs.prices import price_book
from distillplan.catalogs.teacher_api import teacher_api
from distillplan.commands._io import EXIT_OK, EXIT_USER, say
from distillplan.errors import LocatedError, TeacherDataError
from distillplan.evalset.accept import read_jsonl
from distillplan.files import atomic_write, is_inside
from distillplan.outputs.teacher_batch import BATCH_LIMITS, Request, build_requests, collect, request_lines, split
from distillplan.plan.student import NO_SYSTEM_ROLE, THINKING_MODE, fold_system_prompt
from distillplan.sizing.architecture import load_architecture
from distillplan.spec.load import SpecFile, load_spec
from distillplan.text import count

BATCH_DIR = "training/batch"
TRAIN_DATA = "training/data/train.jsonl"


def _at(sf: SpecFile, rel: str) -> Path:
    path = sf.dir / posixpath.normpath(posixpath.join(sf.spec.scaffold.root.replace("\\", "/"), rel))
    repo = git.repo_root(sf.dir) or sf.dir
    if not is_inside(path, repo):
        raise TeacherDataError(f"{path}: leads outside the repository {repo}; refusing to write")
    return path


def _shown(sf: SpecFile, path: Path) -> str:
    return os.path.relpath(path, Path.cwd()) if path.is_absolute() else str(path)


def _inputs(sf: SpecFile, paths: Sequence[str], field: str, *, what: str) -> list[tuple[str, int, str]]:
    out = []
    for rel in paths:
        shown = os.path.join(os.path.dirname(sf.display), rel)
        for line, obj in read_jsonl(sf.dir / rel, display_path=shown):
            value = obj.get(field)
            if not isinstance(value, str) or not value.strip():
                raise TeacherDataError(f"{shown}:{line}: {field}: {what} must be a non-empty string")
            out.append((shown, line, value))
    return out


def requests(sf: SpecFile) -> str:
    """Write the batch request files; returns what was written, one line."""
    spec = sf.spec
    if not spec.teacher_data.inputs:
        raise TeacherDataError(f"{sf.display}: teacher_data.inputs: list the JSONL files of training inputs first")
    api = teacher_api(spec.teacher.model, spec.teacher.api, spec.teacher.api_model, price_book(spec.prices_root))
    if not api.known or api.api not in BATCH_LIMITS:
        raise TeacherDataError(
            f"{sf.display}: teacher: no batch format for this teacher (api {api.api!r}); "
            'set [teacher].api to "openai" or "anthropic" and [teacher].api_model'
        )
    assert api.api is not None and api.model is not None
    field = spec.eval.input_field
    inputs = _inputs(sf, spec.teacher_data.inputs, field, what="a training input")
    held_out = [x for _, _, x in _inputs(sf, spec.eval.datasets, field, what="an eval input")]
    reqs, in_eval, repeats = build_requests(inputs, eval_inputs=held_out, system_prompt=spec.teacher_data.system_prompt)
    out_tokens = sf.spec.workload.output_tokens_per_request or 256
    max_tokens = spec.teacher_data.max_output_tokens or max(256, 4 * out_tokens)
    folder = _at(sf, BATCH_DIR)
    lines = request_lines(reqs, api=api.api, model=api.model, max_tokens=max_tokens, reasoning=api.reasoning)
    written = []
    for n, chunk in enumerate(split(reqs, lines, BATCH_LIMITS[api.api]), 1):
        path = folder / f"{api.api}-requests-{n:03d}.jsonl"
        atomic_write(path, "\n".join(chunk) + "\n")
        written.append(_shown(sf, path))
    for stale in sorted(folder.glob("*-requests-*.jsonl")):
        if _shown(sf, stale) not in written:
            stale.unlink()
    return (
        f"{count(len(reqs), 'request')} for {api.api}/{api.model} in {', '.join(written) or 'no file'}"
        f" ({count(in_eval, 'input')} left out as eval inputs, {repeats:,} as repeats; max_tokens {max_tokens:,})"
    )


def _read_requests(sf: SpecFile) -> dict[str, Request]:
    out: dict[str, Request] = {}
    folder = _at(sf, BATCH_DIR)
    files = sorted(folder.glob("*-requests-*.jsonl"))
    if not files:
        raise TeacherDataError(f"{_shown(sf, folder)}: no request files; run `distillplan teacher-data requests` first")
    for path in files:
        shown = _shown(sf, path)
        for line, obj in read_jsonl(path, display_path=shown):
            try:
                if "params" in obj:  # Anthropic
                    params = obj["params"]
                    system = [{"role": "system", "content": params["system"]}] if params.get("system") else []
                    messages: list[dict[str, Any]] = system + list(params["messages"])
                else:  # OpenAI
                    messages = list(obj["body"]["messages"])
                cid = obj["custom_id"]
                if not isinstance(cid, str) or not all(isinstance(m, dict) for m in messages):
                    raise TypeError
            except (KeyError, TypeError, AttributeError):
                raise LocatedError(
                    path=shown,
                    line=line,
                    message="not a batch request line as distillplan writes them; "
                    "run `distillplan teacher-data requests` again",
                ) from None
            out[cid] = Request(cid, tuple(messages))
    return out


def collect_results(sf: SpecFile, results: Sequence[Path]) -> tuple[int, str]:
    reqs = _read_requests(sf)
    arch = load_architecture(sf.spec.student.base_model, base_dir=sf.dir)
    if arch.model_type in NO_SYSTEM_ROLE:  # the student's chat template has no system turn (Gemma)
        reqs = {cid: replace(r, messages=tuple(fold_system_prompt(list(r.messages)))) for cid, r in reqs.items()}
    lines: list[tuple[str, int, dict[str, Any]]] = []
    for path in results:
        shown = str(path)
        lines.extend((shown, n, obj) for n, obj in read_jsonl(path, display_path=shown))
    result = collect(reqs, lines)
    target = _at(sf, TRAIN_DATA)
    if not result.rows:
        return EXIT_USER, f"{_shown(sf, target)}: not written: {result.summary()}"
    rows = result.rows
    if arch.model_type in THINKING_MODE:  # TRL renders each row's chat template with these: no thinking, as served
        rows = [{**row, "chat_template_kwargs": {"enable_thinking": False}} for row in rows]
    text = "".join(json.dumps(row, ensure_ascii=False, separators=(",", ":")) + "\n" for row in rows)
    atomic_write(target, text)
    return EXIT_OK, f"{_shown(sf, target)}: {result.summary()}"


def run_requests(spec: str | Path) -> int:
    say(requests(load_spec(spec)))
    return EXIT_OK


def run_collect(spec: str | Path, results: Sequence[Path]) -> int:
    code, text = collect_results(load_spec(spec), results)
    say(text, err=code != EXIT_OK)
    return code
