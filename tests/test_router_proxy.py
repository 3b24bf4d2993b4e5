"""The confidence router through LiteLLM's own proxy app, in process, with the generated config and hook.

The student and the teacher are one fake OpenAI-compatible server on 127.0.0.1 (real HTTP through LiteLLM's
hosted_vllm and openai providers, streamed as server-sent events, with token log-probabilities), which
records every request body it gets: the test sees what the teacher was asked. Stream true and false.
"""

from __future__ import annotations

import json
import math
import os
import threading
import warnings
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, ClassVar

import pytest
import yaml

from .test_real_tools import LITELLM_IMPORT_WARNINGS
from .variants import render_variant

pytestmark = pytest.mark.slow
os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")

STUDENT_ANSWER = ["I21", ".4"]
TEACHER_ANSWER = ["I21", ".9 (teacher)"]


class _Fake(BaseHTTPRequestHandler):
    bodies: ClassVar[list[dict[str, Any]]] = []

    def log_message(self, *args: Any) -> None:
        pass

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        type(self).bodies.append(body)
        student = body["model"] == "student"
        prompt = body["messages"][-1]["content"]
        if student and prompt.startswith("error"):  # the student's server fails: the router's fallback answers
            self.send_response(500)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        tokens = STUDENT_ANSWER if student else TEACHER_ANSWER
        lp = math.log(0.95 if prompt.startswith("sure") else 0.5)

        def logprobs(toks: list[str]) -> dict[str, Any] | None:
            entries = [{"token": t, "logprob": lp, "bytes": list(t.encode()), "top_logprobs": []} for t in toks]
            return {"content": entries} if student and body.get("logprobs") else None

        base = {"id": "chatcmpl-1", "created": 1711475054, "model": body["model"]}
        if not body.get("stream"):
            message = {"role": "assistant", "content": "".join(tokens)}
            choice = {"index": 0, "message": message, "logprobs": logprobs(tokens), "finish_reason": "stop"}
            usage = {"prompt_tokens": 5, "completion_tokens": 2, "total_tokens": 7}
            data = json.dumps({**base, "object": "chat.completion", "choices": [choice], "usage": usage}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
            return
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.end_headers()
        for i, token in enumerate(tokens):
            last = i == len(tokens) - 1
            choice = {
                "index": 0,
                "delta": {"role": "assistant", "content": token} if i == 0 else {"content": token},
                "logprobs": logprobs([token]),
                "finish_reason": "stop" if last else None,
            }
            chunk = {**base, "object": "chat.completion.chunk", "choices": [choice]}
            self.wfile.write(f"data: {json.dumps(chunk)}\n\n".encode())
        self.wfile.write(b"data: [DONE]\n\n")
        self.wfile.flush()


@pytest.fixture
def fake_models() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Fake)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    _Fake.bodies = []
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/v1"
    finally:
        server.shutdown()
        server.server_close()


def _router_folder(tmp_path: Path, api_base: str) -> Path:
    """clinical-coding's generated router config and hook (routing.mode = "cache"), the two deployments
    pointed at the fake server (the student's vLLM Service and the teacher's vendor are not reachable here)."""
    tree = render_variant(tmp_path / "work", "clinical-coding")
    folder = tmp_path / "router"
    folder.mkdir()
    (folder / "confidence_hook.py").write_bytes(tree["distill/serving/router/confidence_hook.py"])
    config = yaml.safe_load(tree["distill/serving/router/config.yaml"])
    assert config["general_settings"]["master_key"] == "os.environ/LITELLM_MASTER_KEY"
    for deployment in config["model_list"]:
        params = deployment["litellm_params"]
        student = params["model"].startswith("hosted_vllm/")
        params.update(model="hosted_vllm/student" if student else "openai/teacher", api_base=api_base)
        params["api_key"] = "sk-fake"
    (folder / "config.yaml").write_text(yaml.safe_dump(config))
    return folder


def _answer(response: Any, stream: bool) -> str:
    assert response.status_code == 200, response.text
    if not stream:
        return str(response.json()["choices"][0]["message"]["content"])
    text = ""
    for line in response.text.splitlines():
        if line.startswith("data: ") and line != "data: [DONE]":
            for choice in json.loads(line[6:]).get("choices") or []:
                text += (choice.get("delta") or {}).get("content") or ""
    return text


@LITELLM_IMPORT_WARNINGS
def test_the_proxy_applies_the_rule_to_streamed_and_whole_replies(
    tmp_path: Path, fake_models: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    import litellm
    from fastapi.testclient import TestClient
    from litellm.proxy.proxy_server import app

    folder = _router_folder(tmp_path, fake_models)
    monkeypatch.setattr(litellm, "callbacks", [])
    monkeypatch.setenv("CONFIG_FILE_PATH", str(folder / "config.yaml"))
    monkeypatch.chdir(folder)
    monkeypatch.delenv("LITELLM_MASTER_KEY", raising=False)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # LiteLLM's own start-up deprecations are not ours to fix
        # What the generated config's comment and the README say: no key, no proxy.
        with pytest.raises(Exception, match=r"refused to start"), TestClient(app):
            pass
        key = "sk-" + "5" * 64
        monkeypatch.setenv("LITELLM_MASTER_KEY", key)
        monkeypatch.setattr(litellm, "callbacks", [])
        with TestClient(app) as client:
            headers = {"Authorization": f"Bearer {key}"}
            params = {
                "max_tokens": 64,
                "response_format": {"type": "json_object"},
                "tools": [{"type": "function", "function": {"name": "code", "parameters": {"type": "object"}}}],
                "seed": 7,
            }
            for stream in (False, True):
                cases = (
                    ("sure: chest pain", STUDENT_ANSWER),
                    ("unsure: chest pain", TEACHER_ANSWER),
                    ("error: chest pain", TEACHER_ANSWER),
                )
                for prompt, want in cases:
                    _Fake.bodies = []
                    body = {
                        "model": "clinical-coding",
                        "messages": [{"role": "user", "content": prompt}],
                        "stream": stream,
                        **params,
                    }
                    response = client.post("/v1/chat/completions", json=body, headers=headers)
                    assert _answer(response, stream) == "".join(want), (stream, prompt)
                    asked = [b["model"] for b in _Fake.bodies]
                    if want is STUDENT_ANSWER:
                        assert asked == ["student"], (stream, prompt)
                        continue
                    # The teacher is asked once: after an unsure answer, or as the fallback of a student that
                    # failed (tried once more first: num_retries), never a second time by the hook.
                    assert asked.count("teacher") == 1 and asked[-1] == "teacher", (stream, prompt, asked)
                    assert set(asked[:-1]) == {"student"}, (stream, prompt, asked)
                    teacher = _Fake.bodies[-1]
                    assert teacher["messages"] == body["messages"] and bool(teacher.get("stream")) is stream
                    for name, value in params.items():  # every request parameter reaches the teacher
                        assert teacher[name] == value, (stream, name)
                    assert "logprobs" not in teacher  # asked of the student by the hook, not of the teacher
