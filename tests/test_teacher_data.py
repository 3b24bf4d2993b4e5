"""``distillplan teacher-data requests|collect``: the vendors' batch formats, checked with their own SDK types."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path
from typing import Any

import pytest
from pydantic import TypeAdapter

from .conftest import EXAMPLES, git, run_cli

INPUTS = [
    "Invoice #9001 from Vendor X, total 10.00 USD",
    "Invoice #1000 from Vendor 0...",  # an eval input: never sent to the teacher
    "Invoice #9002 from Vendor Y, total 20.00 USD",
    "Invoice   #9001 from Vendor X, total 10.00 USD",  # a repeat (whitespace aside)
    "Invoice #9003 from Vendor Z, total 30.00 USD",
    "Invoice #9004 from Vendor W, total 40.00 USD",
]


@pytest.fixture
def repo(git_repo: Path) -> Path:
    shutil.copytree(
        EXAMPLES / "invoice-extraction", git_repo, dirs_exist_ok=True, ignore=shutil.ignore_patterns("distill")
    )
    (git_repo / "data").mkdir()
    (git_repo / "data/inputs.jsonl").write_text("".join(json.dumps({"input": x}) + "\n" for x in INPUTS))
    spec = git_repo / "distill.toml"
    spec.write_text(
        spec.read_text()
        + '\n[teacher_data]\ninputs = ["data/inputs.jsonl"]\nsystem_prompt = "Extract the fields as JSON."\n'
    )
    git(git_repo, "add", "-A")
    git(git_repo, "commit", "-q", "-m", "example")
    return git_repo


def _lines(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def _keys(typed_dict: Any) -> set[str]:
    return set(typed_dict.__required_keys__) | set(typed_dict.__optional_keys__)


def test_anthropic_requests_and_results(repo: Path, capsys: pytest.CaptureFixture[str], chdir: Any) -> None:
    from anthropic.types.message_create_params import MessageCreateParamsNonStreaming
    from anthropic.types.messages import MessageBatchIndividualResponse
    from anthropic.types.messages.batch_create_params import Request

    chdir(repo)
    code, out, _ = run_cli("teacher-data", "requests", capsys=capsys)
    assert code == 0 and "4 requests for anthropic/claude-sonnet-5-5" in out
    assert "1 input left out as eval inputs, 1 as repeats" in out
    requests = _lines(repo / "distill/training/batch/anthropic-requests-001.jsonl")
    for line in requests:
        TypeAdapter(Request).validate_python(line)  # the SDK's own type of one Message Batches request
        assert set(line["params"]) <= _keys(MessageCreateParamsNonStreaming)
        assert line["params"]["system"] == "Extract the fields as JSON."
    assert [r["params"]["messages"][0]["content"] for r in requests] == [INPUTS[0], INPUTS[2], INPUTS[4], INPUTS[5]]

    def message(text: str, stop: str) -> dict[str, Any]:
        return {
            "id": "msg_01", "type": "message", "role": "assistant", "model": "claude-sonnet-5-5",
            "content": [{"type": "text", "text": text}], "stop_reason": stop, "stop_sequence": None,
            "usage": {"input_tokens": 20, "output_tokens": 12},
        }  # fmt: skip

    ids = [r["custom_id"] for r in requests]
    results = [
        {"custom_id": ids[2], "result": {"type": "succeeded", "message": message('{"total": 30.0}', "end_turn")}},
        {"custom_id": ids[0], "result": {"type": "succeeded", "message": message('{"total": 10.0}', "end_turn")}},
        {"custom_id": ids[1], "result": {"type": "succeeded", "message": message('{"tot', "max_tokens")}},
        {
            "custom_id": ids[3],
            "result": {
                "type": "errored",
                "error": {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}},
            },
        },
    ]  # fmt: skip
    for line in results:
        MessageBatchIndividualResponse.model_validate(line)  # the fixture is the vendor's result format
    (repo / "results.jsonl").write_text("".join(json.dumps(r) + "\n" for r in results))
    code, out, err = run_cli("teacher-data", "collect", "results.jsonl", capsys=capsys)
    assert code == 0, err
    assert "2 examples written" in out and "1 failed" in out and "Overloaded" in out and "1 truncated" in out
    rows = _lines(repo / "distill/training/data/train.jsonl")
    assert rows[0] == {
        "prompt": [
            {"role": "system", "content": "Extract the fields as JSON."},
            {"role": "user", "content": INPUTS[0]},
        ],
        "completion": [{"role": "assistant", "content": '{"total": 10.0}'}],
    }
    assert [r["prompt"][1]["content"] for r in rows] == [INPUTS[0], INPUTS[4]]  # request order


def test_openai_requests_and_results(repo: Path, capsys: pytest.CaptureFixture[str], chdir: Any) -> None:
    from openai.types.chat import ChatCompletion
    from openai.types.chat.completion_create_params import CompletionCreateParamsNonStreaming

    spec = repo / "distill.toml"
    spec.write_text(spec.read_text().replace('model = "claude-sonnet-5.5"', 'model = "gpt-4.1"'))
    chdir(repo)
    code, out, _ = run_cli("teacher-data", "requests", capsys=capsys)
    assert code == 0 and "4 requests for openai/gpt-4.1" in out
    requests = _lines(repo / "distill/training/batch/openai-requests-001.jsonl")
    for line in requests:
        assert line["method"] == "POST" and line["url"] == "/v1/chat/completions"
        TypeAdapter(CompletionCreateParamsNonStreaming).validate_python(line["body"])
        assert set(line["body"]) <= _keys(CompletionCreateParamsNonStreaming)

    def output(cid: str, text: str, finish: str) -> dict[str, Any]:
        body = {
            "id": "chatcmpl-1", "object": "chat.completion", "created": 1711475054, "model": "gpt-4.1",
            "choices": [{"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": finish}],
            "usage": {"prompt_tokens": 24, "completion_tokens": 15, "total_tokens": 39},
        }  # fmt: skip
        ChatCompletion.model_validate(body)
        return {
            "id": "batch_req_1",
            "custom_id": cid,
            "response": {"status_code": 200, "request_id": "req_1", "body": body},
            "error": None,
        }

    ids = [r["custom_id"] for r in requests]
    lines = [output(ids[0], "a", "stop"), output(ids[1], "b", "length"), output(ids[2], "c", "stop")]
    errors = [
        {
            "id": "batch_req_2",
            "custom_id": ids[3],
            "response": None,
            "error": {"code": "server_error", "message": "boom"},
        }
    ]
    (repo / "output.jsonl").write_text("".join(json.dumps(x) + "\n" for x in lines))
    (repo / "errors.jsonl").write_text("".join(json.dumps(x) + "\n" for x in errors))
    code, out, _ = run_cli("teacher-data", "collect", "output.jsonl", "errors.jsonl", capsys=capsys)
    assert code == 0 and "2 examples written; 1 failed" in out and "1 truncated" in out
    rows = _lines(repo / "distill/training/data/train.jsonl")
    assert [r["completion"][0]["content"] for r in rows] == ["a", "c"]


def test_a_result_for_an_unknown_request_is_located(repo: Path, capsys: pytest.CaptureFixture[str], chdir: Any) -> None:
    chdir(repo)
    assert run_cli("teacher-data", "requests", capsys=capsys)[0] == 0
    (repo / "results.jsonl").write_text('{"custom_id": "r9999999-000000000000", "result": {"type": "expired"}}\n')
    code, _out, err = run_cli("teacher-data", "collect", "results.jsonl", capsys=capsys)
    assert code == 1 and err.strip().startswith("results.jsonl:1:") and "custom_id" in err
    assert len(err.strip().splitlines()) == 1


def test_requests_need_inputs(git_repo: Path, capsys: pytest.CaptureFixture[str], chdir: Any) -> None:
    shutil.copytree(EXAMPLES / "invoice-extraction", git_repo, dirs_exist_ok=True)
    chdir(git_repo)
    code, _, err = run_cli("teacher-data", "requests", capsys=capsys)
    assert code == 1 and "teacher_data.inputs" in err and len(err.strip().splitlines()) == 1


def test_refusals_are_left_out_and_a_retry_is_not_named_left_out(
    repo: Path, capsys: pytest.CaptureFixture[str], chdir: Any
) -> None:
    """OpenAI refusals (message.refusal, finish_reason "content_filter") and Anthropic stop_reason "refusal"
    never become training rows; a custom_id answered by a retry file is written and not named as left out."""
    from anthropic.types.messages import MessageBatchIndividualResponse
    from openai.types.chat import ChatCompletion

    chdir(repo)
    assert run_cli("teacher-data", "requests", capsys=capsys)[0] == 0
    ids = [r["custom_id"] for r in _lines(repo / "distill/training/batch/anthropic-requests-001.jsonl")]

    def anthropic(cid: str, text: str, stop: str) -> dict[str, Any]:
        message = {
            "id": "msg_01", "type": "message", "role": "assistant", "model": "claude-sonnet-5-5",
            "content": [{"type": "text", "text": text}], "stop_reason": stop, "stop_sequence": None,
            "usage": {"input_tokens": 20, "output_tokens": 12},
        }  # fmt: skip
        line = {"custom_id": cid, "result": {"type": "succeeded", "message": message}}
        MessageBatchIndividualResponse.model_validate(line)
        return line

    first = [
        anthropic(ids[0], '{"total": 10.0}', "end_turn"),
        anthropic(ids[1], "I can't help with that.", "refusal"),
        {"custom_id": ids[2], "result": {"type": "expired"}},
        {"custom_id": ids[3], "result": {"type": "expired"}},
    ]
    retry = [anthropic(ids[2], '{"total": 30.0}', "end_turn")]
    (repo / "results.jsonl").write_text("".join(json.dumps(r) + "\n" for r in first))
    (repo / "retry.jsonl").write_text("".join(json.dumps(r) + "\n" for r in retry))
    code, out, err = run_cli("teacher-data", "collect", "results.jsonl", "retry.jsonl", capsys=capsys)
    assert code == 0, err
    assert "2 examples written" in out and "1 refused or filtered (left out: " + ids[1] in out
    assert "1 failed (left out: " + ids[3] + " (expired))" in out and ids[2] not in out
    rows = _lines(repo / "distill/training/data/train.jsonl")
    assert [r["completion"][0]["content"] for r in rows] == ['{"total": 10.0}', '{"total": 30.0}']

    # OpenAI: a refusal message and a filtered reply are left out too.
    spec = repo / "distill.toml"
    spec.write_text(spec.read_text().replace('model = "claude-sonnet-5.5"', 'model = "gpt-4.1"'))
    assert run_cli("teacher-data", "requests", capsys=capsys)[0] == 0
    ids = [r["custom_id"] for r in _lines(repo / "distill/training/batch/openai-requests-001.jsonl")]

    def openai(cid: str, message: dict[str, Any], finish: str) -> dict[str, Any]:
        body = {
            "id": "chatcmpl-1", "object": "chat.completion", "created": 1711475054, "model": "gpt-4.1",
            "choices": [{"index": 0, "message": {"role": "assistant", **message}, "finish_reason": finish}],
        }  # fmt: skip
        ChatCompletion.model_validate(body)
        return {"id": "b", "custom_id": cid, "response": {"status_code": 200, "request_id": "q", "body": body}}

    lines = [
        openai(ids[0], {"content": "ok"}, "stop"),
        openai(ids[1], {"content": None, "refusal": "I can't help with that."}, "stop"),
        openai(ids[2], {"content": "partial"}, "content_filter"),
        openai(ids[3], {"content": "fine"}, "stop"),
    ]
    (repo / "output.jsonl").write_text("".join(json.dumps(x) + "\n" for x in lines))
    code, out, err = run_cli("teacher-data", "collect", "output.jsonl", capsys=capsys)
    assert code == 0, err
    assert "2 examples written; 2 refused or filtered (left out: " in out
    assert [r["completion"][0]["content"] for r in _lines(repo / "distill/training/data/train.jsonl")] == ["ok", "fine"]


def test_a_reasoning_teacher_gets_no_temperature(repo: Path, capsys: pytest.CaptureFixture[str], chdir: Any) -> None:
    """o3 is marked `reasoning` in the price book: OpenAI rejects `temperature` for it, so none is sent."""
    from openai.types.chat.completion_create_params import CompletionCreateParamsNonStreaming

    from distillplan.catalogs.prices import teacher_prices

    assert teacher_prices()["o3"].reasoning and not teacher_prices()["gpt-4.1"].reasoning
    spec = repo / "distill.toml"
    for model, reasoning in (("o3", True), ("gpt-4.1", False)):
        spec.write_text(spec.read_text().replace('model = "claude-sonnet-5.5"', f'model = "{model}"'))
        spec.write_text(spec.read_text().replace('model = "o3"', f'model = "{model}"'))
        chdir(repo)
        code, out, err = run_cli("teacher-data", "requests", capsys=capsys)
        assert code == 0 and f"openai/{model}" in out, err
        for line in _lines(repo / "distill/training/batch/openai-requests-001.jsonl"):
            TypeAdapter(CompletionCreateParamsNonStreaming).validate_python(line["body"])
            assert ("temperature" in line["body"]) is not reasoning
            assert "max_completion_tokens" in line["body"] and "max_tokens" not in line["body"]


def test_batch_files_split_at_the_byte_limit_and_the_count_limit() -> None:
    """Whichever vendor limit comes first cuts a file; one request above the byte limit is a located error."""
    from distillplan.errors import TeacherDataError
    from distillplan.outputs.teacher_batch import BATCH_LIMITS, BatchLimit, build_requests, request_lines, split

    assert BATCH_LIMITS["openai"] == BatchLimit(50_000, 200_000_000)
    assert BATCH_LIMITS["anthropic"] == BatchLimit(100_000, 256_000_000)
    inputs = [("data/in.jsonl", n + 1, f"input {n} " + "x" * (100 + n % 7)) for n in range(40)]
    reqs, _, _ = build_requests(inputs, eval_inputs=[], system_prompt=None)
    lines = request_lines(reqs, api="openai", model="gpt-4.1", max_tokens=256)
    sizes = [len(x.encode()) + 1 for x in lines]
    limit = BatchLimit(requests=1000, bytes=sum(sizes[:10]))  # bytes bind: 10 requests a file
    files = split(reqs, lines, limit)
    assert [x for f in files for x in f] == lines  # nothing lost, order kept
    assert all(sum(len(x.encode()) + 1 for x in f) <= limit.bytes for f in files)
    assert len(files[0]) == 10 and len(files) >= 4
    assert [len(f) for f in split(reqs, lines, BatchLimit(requests=15, bytes=10**9))] == [15, 15, 10]
    with pytest.raises(TeacherDataError, match=r"^data/in\.jsonl:3: input: the request is .* above the batch limit"):
        split(reqs, lines, BatchLimit(requests=1000, bytes=sizes[2] - 1))


def test_the_eval_leak_filter_normalises_as_the_metric_does() -> None:
    """A training input that differs from an eval input only in what the metric's normalisation
    removes (case, Unicode compatibility forms, whitespace) is an eval input: left out (issue 23)."""
    from distillplan.evalset.metrics import normalize
    from distillplan.outputs.teacher_batch import build_requests

    held_out = "Invoice #1000 from Vendor 0..."
    variants = [
        "INVOICE #1000 FROM VENDOR 0...",  # case
        "\uff29\uff4e\uff56\uff4f\uff49\uff43\uff45\u3000#1000 from Vendor 0...",  # fullwidth letters and space (NFKC)
        "\tInvoice #1000\nfrom  Vendor 0... ",  # whitespace
    ]
    assert all(normalize(v) == normalize(held_out) for v in variants)
    kept = "Invoice #1000 from Vendor 0."  # punctuation: the metric keeps it, so does the filter
    inputs = [("in.jsonl", i, x) for i, x in enumerate([*variants, kept], 1)]
    requests, in_eval, repeats = build_requests(inputs, eval_inputs=[held_out], system_prompt=None)
    assert (in_eval, repeats) == (3, 0)
    assert [r.messages[-1]["content"] for r in requests] == [kept]


@pytest.mark.parametrize("student", ["google/gemma-3-12b-it", "Qwen/Qwen3-8B"])
def test_train_rows_follow_the_students_chat_template(
    repo: Path, capsys: pytest.CaptureFixture[str], chdir: Any, student: str
) -> None:
    """Issue 29. Gemma's chat template has no system turn: the teacher still gets the system
    prompt as such; train.jsonl carries it at the head of the user turn, as the eval task does.
    Qwen3's thinks unless told not to: each row tells TRL's chat template `enable_thinking: false`
    (TRL passes a row's `chat_template_kwargs` on), as vllm.yaml does for every request."""
    spec = repo / "distill.toml"
    text = spec.read_text().replace('model = "claude-sonnet-5.5"', 'model = "gpt-4.1"')
    spec.write_text(re.sub(r'base_model = "[^"]*"', f'base_model = "{student}"', text, count=1))
    chdir(repo)
    assert run_cli("teacher-data", "requests", capsys=capsys)[0] == 0
    requests = _lines(repo / "distill/training/batch/openai-requests-001.jsonl")
    assert requests[0]["body"]["messages"][0] == {"role": "system", "content": "Extract the fields as JSON."}
    body = {
        "id": "chatcmpl-1", "object": "chat.completion", "created": 1711475054, "model": "gpt-4.1",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": "a"}, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": 24, "completion_tokens": 15, "total_tokens": 39},
    }  # fmt: skip
    line = {"id": "b", "custom_id": requests[0]["custom_id"], "response": {"status_code": 200, "body": body}}
    (repo / "output.jsonl").write_text(json.dumps({**line, "error": None}) + "\n")
    code, _, err = run_cli("teacher-data", "collect", "output.jsonl", capsys=capsys)
    assert code == 0, err
    rows = _lines(repo / "distill/training/data/train.jsonl")
    if student.startswith("google/"):
        assert rows[0]["prompt"] == [{"role": "user", "content": "Extract the fields as JSON.\n\n" + INPUTS[0]}]
        assert "chat_template_kwargs" not in rows[0]
    else:
        assert rows[0]["prompt"][0] == {"role": "system", "content": "Extract the fields as JSON."}
        assert rows[0]["chat_template_kwargs"] == {"enable_thinking": False}
