"""Teacher training data through the vendor's batch API (P1.1, P1.2): request files out, TRL JSONL back.

* :func:`build_requests`: one request per training input, in the teacher API's batch format:
  OpenAI Batch API input lines ``{"custom_id", "method": "POST", "url": "/v1/chat/completions", "body"}``
  (at most 50,000 a file), or Anthropic Message Batches requests ``{"custom_id", "params"}`` one a line
  (at most 100,000 a batch; the create call takes them as its ``requests`` list). Inputs equal to an
  eval input are left out (never train on the locked eval), and so are repeated inputs.
* :func:`collect`: the vendor's result lines joined to the requests on ``custom_id`` (results carry no
  prompt), written as TRL conversational prompt-completion rows
  ``{"prompt": [messages], "completion": [{"role": "assistant", "content": ...}]}``. Failed rows
  (an error, a non-200 status, canceled, expired) and truncated rows (``finish_reason`` "length",
  ``stop_reason`` "max_tokens") are counted, listed by custom_id, and left out.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from distillplan.errors import LocatedError, TeacherDataError
from distillplan.evalset.metrics import normalize

__all__ = ["BATCH_LIMITS", "CollectResult", "Request", "build_requests", "collect", "request_lines"]

#: Requests per batch file each API accepts.
BATCH_LIMITS = {"openai": 50_000, "anthropic": 100_000}


@dataclass(frozen=True)
class Request:
    custom_id: str
    messages: tuple[dict[str, str], ...]  # system (if any) and user, in OpenAI's chat form


def _key(text: str) -> str:
    """What makes two inputs the same: the metric's normalisation (NFKC, case-folded, whitespace
    collapsed), so a training input the acceptance test would score as an eval input is one."""
    return normalize(text)


def build_requests(
    inputs: Iterable[tuple[str, int, str]], *, eval_inputs: Iterable[str], system_prompt: str | None
) -> tuple[list[Request], int, int]:
    """(requests, left out as eval inputs, left out as repeats) from ``(path, line, input)`` triples."""
    held_out = {_key(x) for x in eval_inputs}
    seen: set[str] = set()
    out: list[Request] = []
    in_eval = repeats = 0
    for _path, _line, text in inputs:
        key = _key(text)
        if key in held_out:
            in_eval += 1
            continue
        if key in seen:
            repeats += 1
            continue
        seen.add(key)
        digest = hashlib.sha256(text.encode("utf-8")).hexdigest()[:12]
        messages = ({"role": "system", "content": system_prompt},) if system_prompt else ()
        out.append(Request(f"r{len(out):07d}-{digest}", (*messages, {"role": "user", "content": text})))
    return out, in_eval, repeats


def request_lines(requests: Sequence[Request], *, api: str, model: str, max_tokens: int) -> list[str]:
    """The JSONL lines of one batch file (same order as ``requests``)."""
    lines = []
    for r in requests:
        if api == "openai":
            body = {"model": model, "messages": list(r.messages), "max_completion_tokens": max_tokens, "temperature": 0}
            obj: dict[str, Any] = {
                "custom_id": r.custom_id,
                "method": "POST",
                "url": "/v1/chat/completions",
                "body": body,
            }
        elif api == "anthropic":
            # No temperature: the current Messages API (anthropic SDK 2.x) takes none.
            params: dict[str, Any] = {"model": model, "max_tokens": max_tokens}
            system = [m["content"] for m in r.messages if m["role"] == "system"]
            if system:
                params["system"] = system[0]
            params["messages"] = [m for m in r.messages if m["role"] != "system"]
            obj = {"custom_id": r.custom_id, "params": params}
        else:
            raise TeacherDataError(
                f"no batch format for the {api!r} API: the OpenAI and Anthropic batch formats are written"
            )
        lines.append(json.dumps(obj, ensure_ascii=False, separators=(",", ":")))
    return lines


@dataclass
class CollectResult:
    rows: list[dict[str, Any]] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)  # custom_id: reason
    truncated: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)  # requested, no result

    def summary(self) -> str:
        parts = [f"{len(self.rows)} examples written"]
        for label, ids in (("failed", self.failed), ("truncated", self.truncated), ("without a result", self.missing)):
            if ids:
                shown = ", ".join(ids[:3]) + (", ..." if len(ids) > 3 else "")
                parts.append(f"{len(ids)} {label} (left out: {shown})")
        return "; ".join(parts)


def _answer(obj: dict[str, Any]) -> tuple[str | None, str | None, bool]:
    """(text, failure reason, truncated) of one result line, OpenAI's or Anthropic's."""
    if "result" in obj:  # Anthropic Message Batches
        result = obj["result"] or {}
        kind = result.get("type")
        if kind != "succeeded":
            err = (result.get("error") or {}).get("error", {}) if kind == "errored" else {}
            return None, f"{kind}{': ' + str(err.get('message')) if err.get('message') else ''}", False
        message = result.get("message") or {}
        text = "".join(b.get("text", "") for b in message.get("content") or [] if b.get("type") == "text")
        return text, None, message.get("stop_reason") == "max_tokens"
    if obj.get("error"):  # OpenAI Batch API error line
        return None, f"error: {obj['error'].get('message') or obj['error'].get('code')}", False
    response = obj.get("response") or {}
    if response.get("status_code") != 200:
        return None, f"HTTP {response.get('status_code')}", False
    choice = ((response.get("body") or {}).get("choices") or [{}])[0]
    return (choice.get("message") or {}).get("content") or "", None, choice.get("finish_reason") == "length"


def collect(requests: dict[str, Request], results: Iterable[tuple[str, int, dict[str, Any]]]) -> CollectResult:
    """TRL prompt-completion rows, in request order, from ``(path, line, result object)`` triples."""
    answers: dict[str, str] = {}
    out = CollectResult()
    for path, line, obj in results:
        cid = obj.get("custom_id")
        if not isinstance(cid, str):
            raise LocatedError(path=path, line=line, key="custom_id", message="missing: not a batch result line")
        if cid not in requests:
            raise LocatedError(
                path=path, line=line, key="custom_id", message=f"{cid!r} is in no request file of this project"
            )
        text, failure, truncated = _answer(obj)
        if failure is not None:
            out.failed.append(f"{cid} ({failure})")
        elif truncated:
            out.truncated.append(cid)
        elif text is not None:
            answers[cid] = text
    reported = {x.split(" ", 1)[0] for x in out.failed} | set(out.truncated)
    for cid, request in requests.items():
        if cid in answers:
            out.rows.append(
                {"prompt": list(request.messages), "completion": [{"role": "assistant", "content": answers[cid]}]}
            )
        elif cid not in reported:
            out.missing.append(cid)
    return out
