"""Teacher training data through the vendor's batch API (P1.1, P1.2): request files out, TRL JSONL back.

* :func:`build_requests`: one request per training input, in the teacher API's batch format:
  OpenAI Batch API input lines ``{"custom_id", "method": "POST", "url": "/v1/chat/completions", "body"}``
  (at most 50,000 requests and 200 MB a file), or Anthropic Message Batches requests
  ``{"custom_id", "params"}`` one a line (at most 100,000 requests and 256 MB a batch; the create call
  takes them as its ``requests`` list): :func:`split` cuts files at whichever limit comes first. Inputs
  equal to an eval input are left out (never train on the locked eval), and so are repeated inputs.
  A reasoning model (the price book's ``reasoning``) gets no ``temperature`` (OpenAI rejects one).
* :func:`collect`: the vendor's result lines joined to the requests on ``custom_id`` (results carry no
  prompt), written as TRL conversational prompt-completion rows
  ``{"prompt": [messages], "completion": [{"role": "assistant", "content": ...}]}``. Failed rows
  (an error, a non-200 status, canceled, expired), truncated rows (``finish_reason`` "length",
  ``stop_reason`` "max_tokens" or "model_context_window_exceeded") and refused rows (OpenAI
  ``message.refusal`` set or ``finish_reason`` "content_filter"; Anthropic ``stop_reason`` "refusal")
  are counted, listed by custom_id, and left out: never train on a refusal. A custom_id answered in
  any results file (a retry file after a failed batch) is written, and not counted as left out.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from distillplan.errors import LocatedError, TeacherDataError, one_line
from distillplan.evalset.metrics import normalize
from distillplan.text import count

__all__ = [
    "BATCH_LIMITS",
    "BatchLimit",
    "CollectResult",
    "Request",
    "build_requests",
    "collect",
    "request_lines",
    "split",
]


@dataclass(frozen=True)
class BatchLimit:
    requests: int
    bytes: int


#: What one batch file (OpenAI) or one batch (Anthropic) may hold, whichever limit comes first. OpenAI:
#: "The file can contain up to 50,000 requests, and can be up to 200 MB in size" (openai SDK,
#: batch_create_params.py); Anthropic: "limited to either 100,000 Message requests or 256 MB in size"
#: (docs.anthropic.com, Message Batches). MB read as 10**6 bytes, the smaller reading.
BATCH_LIMITS = {
    "openai": BatchLimit(50_000, 200 * 10**6),
    "anthropic": BatchLimit(100_000, 256 * 10**6),
}


@dataclass(frozen=True)
class Request:
    custom_id: str
    messages: tuple[dict[str, str], ...]  # system (if any) and user, in OpenAI's chat form
    origin: str = ""  # "path:line" of the training input


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
    for path, line, text in inputs:
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
        user = {"role": "user", "content": text}
        out.append(Request(f"r{len(out):07d}-{digest}", (*messages, user), f"{path}:{line}"))
    return out, in_eval, repeats


def request_lines(
    requests: Sequence[Request], *, api: str, model: str, max_tokens: int, reasoning: bool = False
) -> list[str]:
    """The JSONL lines of the batch files (same order as ``requests``); ``reasoning``: no temperature."""
    lines = []
    for r in requests:
        if api == "openai":
            # max_completion_tokens: the only bound reasoning models take (it counts their reasoning tokens).
            body: dict[str, Any] = {"model": model, "messages": list(r.messages), "max_completion_tokens": max_tokens}
            if not reasoning:
                body["temperature"] = 0
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


def split(requests: Sequence[Request], lines: Sequence[str], limit: BatchLimit) -> list[list[str]]:
    """``lines`` (one per request) cut into files of at most ``limit.requests`` lines and ``limit.bytes``
    bytes (each line with its newline); a single request above the byte limit is an error naming its input."""
    files: list[list[str]] = []
    size = 0
    for request, line in zip(requests, lines, strict=True):
        n = len(line.encode("utf-8")) + 1
        if n > limit.bytes:
            raise TeacherDataError(
                f"{request.origin}: input: the request is {count(n, 'byte')}, above the batch limit of {limit.bytes:,}"
            )
        if not files or len(files[-1]) >= limit.requests or size + n > limit.bytes:
            files.append([])
            size = 0
        files[-1].append(line)
        size += n
    return files


@dataclass
class CollectResult:
    rows: list[dict[str, Any]] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)  # custom_id: reason
    truncated: list[str] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)  # a refusal or a content filter: never trained on
    missing: list[str] = field(default_factory=list)  # requested, no result

    def summary(self) -> str:
        parts = [f"{count(len(self.rows), 'example')} written"]
        for label, ids in (
            ("failed", self.failed),
            ("truncated", self.truncated),
            ("refused or filtered", self.refused),
            ("without a result", self.missing),
        ):
            if ids:
                shown = ", ".join(ids[:3]) + (", ..." if len(ids) > 3 else "")
                parts.append(f"{len(ids)} {label} (left out: {shown})")
        return "; ".join(parts)


def _kind(v: Any) -> str:
    return {dict: "an object", list: "an array", str: "a string", bool: "a boolean", type(None): "null"}.get(
        type(v), "a number"
    )


_WORDS = {dict: "an object", list: "an array", str: "a string", int: "an integer"}


class _Line:
    """Typed access to one result line: a value of the wrong JSON type is a located error
    (``file:line: key.path: expected ..., got ...``), never a crash."""

    def __init__(self, path: str, line: int) -> None:
        self.path, self.line = path, line

    def get(self, obj: dict[str, Any], key: str, kind: type, where: str) -> Any:
        """``obj[key]`` when it is a ``kind``; None when absent or null."""
        v = obj.get(key)
        if v is None:
            return None
        if not isinstance(v, kind) or (isinstance(v, bool) and kind is not bool):
            raise LocatedError(
                path=self.path,
                line=self.line,
                key=f"{where}{key}",
                message=f"expected {_WORDS.get(kind, kind.__name__)}, got {_kind(v)}",
            )
        return v

    def objects(self, items: list[Any], where: str) -> list[dict[str, Any]]:
        for i, item in enumerate(items):
            if not isinstance(item, dict):
                raise LocatedError(
                    path=self.path,
                    line=self.line,
                    key=f"{where}[{i}]",
                    message=f"expected an object, got {_kind(item)}",
                )
        return items


def _answer(obj: dict[str, Any], at: _Line) -> tuple[str | None, str | None, str | None]:
    """(text, failure reason, "truncated" | "refused" | None) of one result line, OpenAI's or Anthropic's."""
    if "result" in obj:  # Anthropic Message Batches
        result = at.get(obj, "result", dict, "") or {}
        kind = at.get(result, "type", str, "result.")
        if kind != "succeeded":
            outer = at.get(result, "error", dict, "result.") if kind == "errored" else None
            err = at.get(outer, "error", dict, "result.error.") if outer else None
            message = at.get(err, "message", str, "result.error.error.") if err else None
            return None, one_line(f"{kind}{': ' + message if message else ''}")[:200], None
        msg = at.get(result, "message", dict, "result.") or {}
        blocks = at.objects(at.get(msg, "content", list, "result.message.") or [], "result.message.content")
        text = "".join(
            at.get(b, "text", str, f"result.message.content[{i}].") or ""
            for i, b in enumerate(blocks)
            if b.get("type") == "text"
        )
        return text, None, _ANTHROPIC_STOP.get(str(msg.get("stop_reason")))
    if obj.get("error"):  # OpenAI Batch API error line
        error = at.get(obj, "error", dict, "")
        message = error.get("message") or error.get("code")
        return None, one_line(f"error: {message if isinstance(message, str | int) else _kind(message)}")[:200], None
    response = at.get(obj, "response", dict, "") or {}
    status = response.get("status_code")
    if status != 200 or isinstance(status, bool):
        shown = status if isinstance(status, int) else _kind(status)
        return None, f"HTTP {shown}", None
    body = at.get(response, "body", dict, "response.") or {}
    choices = at.objects(at.get(body, "choices", list, "response.body.") or [{}], "response.body.choices")
    choice = choices[0]
    message = at.get(choice, "message", dict, "response.body.choices[0].") or {}
    if message.get("refusal"):
        return None, None, "refused"
    content = at.get(message, "content", str, "response.body.choices[0].message.")
    return content or "", None, _OPENAI_FINISH.get(str(choice.get("finish_reason")))


#: Stop and finish reasons whose answer is not trained on (the SDKs' StopReason and finish_reason literals).
_ANTHROPIC_STOP = {"max_tokens": "truncated", "model_context_window_exceeded": "truncated", "refusal": "refused"}
_OPENAI_FINISH = {"length": "truncated", "content_filter": "refused"}


def collect(requests: dict[str, Request], results: Iterable[tuple[str, int, dict[str, Any]]]) -> CollectResult:
    """TRL prompt-completion rows, in request order, from ``(path, line, result object)`` triples.

    A custom_id with an answer in any line is written (the last answer wins: a retry file comes later);
    one without is reported once, by the last reason it was left out."""
    answers: dict[str, str] = {}
    left_out: dict[str, tuple[str, str]] = {}  # custom_id -> (failed | truncated | refused, shown)
    out = CollectResult()
    for path, line, obj in results:
        cid = obj.get("custom_id")
        if not isinstance(cid, str):
            raise LocatedError(path=path, line=line, key="custom_id", message="missing: not a batch result line")
        if cid not in requests:
            raise LocatedError(
                path=path, line=line, key="custom_id", message=f"{cid!r} is in no request file of this project"
            )
        text, failure, why = _answer(obj, _Line(path, line))
        if failure is not None:
            left_out[cid] = ("failed", f"{cid} ({failure})")
        elif why is not None:
            left_out[cid] = (why, cid)
        elif text is not None:
            answers[cid] = text
    lists = {"failed": out.failed, "truncated": out.truncated, "refused": out.refused}
    for cid, request in requests.items():
        if cid in answers:
            out.rows.append(
                {"prompt": list(request.messages), "completion": [{"role": "assistant", "content": answers[cid]}]}
            )
        elif cid in left_out:
            kind, shown = left_out[cid]
            lists[kind].append(shown)
        else:
            out.missing.append(cid)
    return out
