"""Issue 28: the GitHub Action (``action.yml``), its comment script (``action/pr_comment.py``) and
the example workflow, checked by the real tools: actionlint (with shellcheck on the run: scripts),
check-jsonschema's GitHub action and workflow schemas, zizmor (offline, nothing above "low"); the
script against a local HTTP server speaking the GitHub (and GitLab) endpoints it calls; and the
action's steps run as a runner runs them, in a real repository: the first push creates the
comment, the second updates it, a guardrail breach fails the job."""

from __future__ import annotations

import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import ModuleType
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import yaml

from .conftest import ROOT, git

ACTION = ROOT / "action.yml"
WORKFLOW = ROOT / "docs" / "examples" / "distillplan-pr.yml"
GITLAB = ROOT / "docs" / "examples" / "distillplan.gitlab-ci.yml"
SCRIPT = ROOT / "action" / "pr_comment.py"
BIN = Path(sys.executable).parent
MARKER = "<!-- distillplan-diff: distill.toml -->"


def _tool(name: str) -> str:
    path = shutil.which(name, path=str(BIN)) or shutil.which(name)
    assert path, f"{name} is not installed (requirements/test.txt)"
    return path


# ----------------------------------------------------------------------------- the fake API


@dataclass
class FakeApi:
    """The GitHub (or GitLab) endpoints the script calls, two comments a page, with Link headers."""

    kind: str = "github"
    comments: list[dict[str, Any]] = field(default_factory=list)
    calls: list[tuple[str, str]] = field(default_factory=list)
    refuse_writes: bool = False
    next_id: int = 100
    url: str = ""

    def handle(self, h: BaseHTTPRequestHandler) -> None:
        parts = urlsplit(h.path)
        self.calls.append((h.command, parts.path))
        token_ok = (
            h.headers.get("Authorization") == "Bearer t0ken"
            if self.kind == "github"
            else h.headers.get("PRIVATE-TOKEN") == "t0ken"
        )
        if not token_ok:
            return self.reply(h, 401, {"message": "Bad credentials"})
        if self.kind == "github":
            listing = re.fullmatch(r"/repos/o/r/issues/7/comments", parts.path)
            item = re.fullmatch(r"/repos/o/r/issues/comments/(\d+)", parts.path)
            update = "PATCH"
        else:
            listing = re.fullmatch(r"/api/v4/projects/g%2Fp/merge_requests/7/notes", parts.path)
            item = re.fullmatch(r"/api/v4/projects/g%2Fp/merge_requests/7/notes/(\d+)", parts.path)
            update = "PUT"
        length = int(h.headers.get("Content-Length") or 0)
        payload = json.loads(h.rfile.read(length)) if length else None
        if listing and h.command == "GET":
            page = int(parse_qs(parts.query).get("page", ["1"])[0])
            chunk = self.comments[(page - 1) * 2 : page * 2]
            headers = {}
            if page * 2 < len(self.comments):
                headers["Link"] = f'<{self.url}{parts.path}?per_page=100&page={page + 1}>; rel="next"'
            return self.reply(h, 200, chunk, headers)
        if self.refuse_writes:
            return self.reply(h, 403, {"message": "Resource not accessible by integration"})
        if listing and h.command == "POST":
            self.next_id += 1
            who = (
                {"user": {"login": "github-actions[bot]"}} if self.kind == "github" else {"author": {"username": "bot"}}
            )
            self.comments.append({"id": self.next_id, "body": payload["body"], **who})
            return self.reply(h, 201, self.comments[-1])
        if item and h.command == update:
            for c in self.comments:
                if c["id"] == int(item.group(1)):
                    c["body"] = payload["body"]
                    return self.reply(h, 200, c)
            return self.reply(h, 404, {"message": "Not Found"})
        return self.reply(h, 404, {"message": "Not Found"})

    @staticmethod
    def reply(h: BaseHTTPRequestHandler, code: int, body: Any, headers: dict[str, str] | None = None) -> None:
        data = json.dumps(body).encode()
        h.send_response(code)
        for k, v in {"Content-Type": "application/json", **(headers or {})}.items():
            h.send_header(k, v)
        h.send_header("Content-Length", str(len(data)))
        h.end_headers()
        h.wfile.write(data)

    def writes(self) -> list[tuple[str, str]]:
        return [c for c in self.calls if c[0] != "GET"]


@pytest.fixture
def api() -> Iterator[FakeApi]:
    state = FakeApi()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            state.handle(self)

        do_POST = do_PATCH = do_PUT = do_GET

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield state
    server.shutdown()
    server.server_close()


def _script() -> ModuleType:
    spec = importlib.util.spec_from_file_location("pr_comment", SCRIPT)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def post(
    api: FakeApi, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> Callable[..., tuple[int, str]]:
    """Run the comment script in-process with the environment the action gives it."""
    module = _script()

    def run(body: str, behaviour: str = "update", **env: str) -> tuple[int, str]:
        f = tmp_path / "comment.md"
        f.write_text(body, "utf-8")
        base = {
            "GITHUB_TOKEN": "t0ken",
            "GITHUB_API_URL": api.url,
            "GITHUB_REPOSITORY": "o/r",
            "DP_NUMBER": "7",
            "DP_BODY": str(f),
            "DP_BEHAVIOUR": behaviour,
            "DP_AUTHOR": "github-actions[bot]",
        }
        for k, v in {**base, **env}.items():
            monkeypatch.setenv(k, v)
        capsys.readouterr()
        code = module.main()
        return code, capsys.readouterr().out

    return run


def test_comment_created_then_updated_in_place(api: FakeApi, post: Callable[..., tuple[int, str]]) -> None:
    # Other comments first, over several pages, one of them a person's quoting the marker.
    api.comments = [{"id": i, "body": f"review {i}", "user": {"login": "alice"}} for i in range(1, 6)]
    api.comments.append({"id": 6, "body": f"{MARKER}\nplanted", "user": {"login": "mallory"}})
    code, out = post(f"{MARKER}\nfirst push\n")
    assert code == 0 and "created comment 101" in out
    assert api.writes() == [("POST", "/repos/o/r/issues/7/comments")]
    assert sum(1 for c in api.calls if c[0] == "GET") == 3  # every page read, following Link
    assert api.comments[-1]["body"] == f"{MARKER}\nfirst push\n" and api.comments[5]["body"].endswith("planted")
    code, out = post(f"{MARKER}\nsecond push\n")
    assert code == 0 and "updated comment 101" in out
    assert api.writes()[-1] == ("PATCH", "/repos/o/r/issues/comments/101") and len(api.comments) == 7
    assert api.comments[-1]["body"] == f"{MARKER}\nsecond push\n"
    n = len(api.writes())
    code, out = post(f"{MARKER}\nsecond push\n")
    assert code == 0 and "up to date" in out and len(api.writes()) == n  # no edit, no notification
    # Another spec's comment is another comment.
    code, out = post("<!-- distillplan-diff: team/b/distill.toml -->\nother\n")
    assert "created comment 102" in out
    # `new`: one more comment every run.
    post(f"{MARKER}\nagain\n", "new")
    assert [c["id"] for c in api.comments if c["body"].startswith(MARKER)] == [6, 101, 103]


def test_comment_failures_are_one_line(api: FakeApi, post: Callable[..., tuple[int, str]]) -> None:
    code, out = post("no marker\n")
    assert code == 1 and out.startswith("::error::") and "no marker" in out
    code, out = post(f"{MARKER}\n" + "x" * 70_000)
    assert code == 1 and "longer than 65536" in out
    code, out = post(f"{MARKER}\nbody\n", GITHUB_TOKEN="wrong")
    assert code == 1 and "HTTP 401" in out
    code, out = post(f"{MARKER}\nbody\n", "sometimes")
    assert code == 1 and "update, new or none" in out
    assert post(f"{MARKER}\nbody\n", "none") == (0, "") and api.calls[-1][0] == "GET"
    # A fork's pull request: the token may not write. A warning, not a failure.
    api.refuse_writes = True
    code, out = post(f"{MARKER}\nbody\n")
    assert code == 0 and out.startswith("::warning::") and "fork" in out
    # A Link to another host is never followed with the token.
    api.refuse_writes = False
    api.comments = [{"id": i, "body": "x", "user": {"login": "a"}} for i in range(3)]
    real = api.url
    api.url = "http://127.0.0.2:1"
    code, out = post(f"{MARKER}\nbody\n", GITHUB_API_URL=real)
    assert code == 1 and "refusing to follow" in out


def test_gitlab_note_created_then_updated(api: FakeApi, post: Callable[..., tuple[int, str]]) -> None:
    api.kind = "gitlab"
    env = {
        "DP_API": "gitlab",
        "GITLAB_TOKEN": "t0ken",
        "CI_API_V4_URL": f"{api.url}/api/v4",
        "CI_PROJECT_ID": "g/p",
        "CI_MERGE_REQUEST_IID": "7",
        "DP_AUTHOR": "bot",
    }
    assert post(f"{MARKER}\none\n", **env)[0] == 0
    code, out = post(f"{MARKER}\ntwo\n", **env)
    assert code == 0 and "updated comment 101" in out
    assert api.writes() == [
        ("POST", "/api/v4/projects/g%2Fp/merge_requests/7/notes"),
        ("PUT", "/api/v4/projects/g%2Fp/merge_requests/7/notes/101"),
    ]


# ----------------------------------------------------------------------------- the action's steps


_EXPR = re.compile(r"\$\{\{\s*(.*?)\s*\}\}")
_COND = re.compile(r"^([\w.-]+) (==|!=) '([^']*)'$")


def _lookup(name: str, ctx: dict[str, Any]) -> str:
    value: Any = ctx
    for part in name.split("."):
        value = value.get(part, "") if isinstance(value, dict) else ""
    return str(value)


def _if(expr: str, ctx: dict[str, Any]) -> bool:
    m = _COND.match(expr.strip())
    assert m, f"the test runner does not evaluate {expr!r}: extend it"
    equal = _lookup(m.group(1), ctx) == m.group(3)
    return equal if m.group(2) == "==" else not equal


def run_action(repo: Path, tmp: Path, inputs: dict[str, str], event: dict[str, Any], api: FakeApi) -> dict[str, Any]:
    """The composite action's steps, in order, as a runner runs them (``bash -e {0}``, ``env:``
    expressions evaluated, ``if:`` judged, stop at the first failing step). The install step's pip
    is replaced by the installed distillplan (no network)."""
    action = yaml.safe_load(ACTION.read_text("utf-8"))
    temp = tmp / "runner"
    (temp / "distillplan" / "bin").mkdir(parents=True, exist_ok=True)
    exe = temp / "distillplan" / "bin" / "distillplan"
    exe.write_text(f'#!/bin/sh\nexec "{sys.executable}" -m distillplan "$@"\n', "utf-8")
    exe.chmod(0o755)
    defaults = {k: str(v.get("default", "")) for k, v in action["inputs"].items()}
    ctx: dict[str, Any] = {
        "inputs": {**defaults, **inputs},
        "github": {"event": event, "token": "t0ken"},
        "steps": {},
    }
    ctx["inputs"]["github-token"] = "t0ken"
    summary = tmp / "summary.md"
    result: dict[str, Any] = {"failed": None, "ran": [], "logs": {}}
    for step in action["runs"]["steps"]:
        if step.get("if") and not _if(step["if"], ctx):
            continue
        if step["id"] == "install":
            continue
        out_file = tmp / f"out-{step['id']}"
        out_file.write_text("", "utf-8")
        env = {
            **os.environ,
            "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}",
            "RUNNER_TEMP": str(temp),
            "GITHUB_ACTION_PATH": str(ROOT),
            "GITHUB_OUTPUT": str(out_file),
            "GITHUB_STEP_SUMMARY": str(summary),
            "GITHUB_API_URL": api.url,
            "GITHUB_REPOSITORY": "o/r",
        }
        for k, v in (step.get("env") or {}).items():
            env[k] = _EXPR.sub(lambda m: _lookup(m.group(1), ctx), str(v))
        assert "${{" not in step["run"], "no expression may be expanded inside a run: script"
        proc = subprocess.run(
            ["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", step["run"]],
            cwd=repo,
            env=env,
            capture_output=True,
            text=True,
            check=False,
        )
        result["ran"].append(step["id"])
        result["logs"][step["id"]] = proc.stdout + proc.stderr
        outputs = dict(line.split("=", 1) for line in out_file.read_text("utf-8").splitlines() if "=" in line)
        ctx["steps"][step["id"]] = {"outputs": outputs}
        if proc.returncode != 0:
            result["failed"] = step["id"]
            break
    result["outputs"] = {k: v["outputs"] for k, v in ctx["steps"].items()}
    return result


@pytest.mark.slow
def test_action_steps_first_push_creates_second_updates_breach_fails(
    example_repo: Callable[[str], Path], tmp_path: Path, api: FakeApi
) -> None:
    repo = example_repo("invoice-extraction")
    main = git(repo, "rev-parse", "HEAD").strip()
    git(repo, "checkout", "-q", "-b", "feature")
    spec = repo / "distill.toml"
    spec.write_text(spec.read_text("utf-8").replace("6_000_000", "7_000_000"), "utf-8")
    git(repo, "commit", "-q", "-am", "more volume")
    event = {"pull_request": {"number": 7, "base": {"sha": main}}}
    inputs = {"fail-on": "verdict-change\n  payback-months>18  \n"}

    first = run_action(repo, tmp_path, inputs, event, api)
    assert first["failed"] is None, first["logs"]
    assert first["ran"] == ["diff", "comment"] and first["outputs"]["diff"]["exit-code"] == "0"
    assert api.writes() == [("POST", "/repos/o/r/issues/7/comments")]
    assert api.comments[0]["body"].startswith(MARKER) and "frontier spend" in api.comments[0]["body"]
    assert (tmp_path / "summary.md").read_text("utf-8").startswith(MARKER)

    spec.write_text(spec.read_text("utf-8").replace("7_000_000", "8_000_000"), "utf-8")
    git(repo, "commit", "-q", "-am", "even more")
    second = run_action(repo, tmp_path, inputs, event, api)
    assert second["failed"] is None, second["logs"]
    assert api.writes()[-1] == ("PATCH", f"/repos/o/r/issues/comments/{api.comments[0]['id']}")
    assert len(api.comments) == 1 and "$42,400" in api.comments[0]["body"]  # 8M requests: $31,800 x 8/6

    breach = run_action(repo, tmp_path, {"fail-on": "payback-months>1"}, event, api)
    assert breach["outputs"]["diff"]["exit-code"] == "6"
    assert breach["ran"] == ["diff", "comment", "guardrails"] and breach["failed"] == "guardrails"
    assert "guardrail breached" in api.comments[0]["body"] and len(api.comments) == 1
    assert "::error::distillplan: a guardrail is breached" in breach["logs"]["guardrails"]

    quiet = run_action(repo, tmp_path, {"comment": "none", "base": "no-such-rev"}, event, api)
    assert quiet["failed"] == "diff" and "unknown revision 'no-such-rev'" in quiet["logs"]["diff"]


# ----------------------------------------------------------------------------- the real checkers


def _as_workflow(tmp: Path) -> Path:
    """The action's steps as a workflow job (inputs as workflow_dispatch inputs), so actionlint
    and shellcheck check its expressions and run: scripts as they check any workflow's."""
    action = yaml.safe_load(ACTION.read_text("utf-8"))
    doc = {
        "name": "action steps",
        "on": {"workflow_dispatch": {"inputs": {k: {"type": "string"} for k in action["inputs"]}}},
        "permissions": {},
        "jobs": {"steps": {"runs-on": "ubuntu-latest", "steps": action["runs"]["steps"]}},
    }
    path = tmp / ".github" / "workflows" / "action-steps.yml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(doc, sort_keys=False), "utf-8")
    return path


@pytest.mark.slow
def test_actionlint_passes(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    (repo / ".github" / "workflows").mkdir(parents=True)
    git(repo, "init", "-q")  # actionlint finds the project (and `./`) by its repository
    shutil.copy(ACTION, repo / "action.yml")
    example = repo / ".github" / "workflows" / "distillplan.yml"
    # The example, using the action from this checkout: actionlint reads action.yml and checks
    # the `with:` inputs against it.
    example.write_text(re.sub(r"uses: distillplan/distillplan@\S+.*", "uses: ./", WORKFLOW.read_text("utf-8")), "utf-8")
    steps = _as_workflow(repo)
    env = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}"}
    cmd = [_tool("actionlint"), "-shellcheck", _tool("shellcheck"), "-pyflakes", "", "-oneline"]
    proc = subprocess.run([*cmd, str(example), str(steps)], cwd=repo, env=env, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    proc = subprocess.run([*cmd, str(WORKFLOW)], cwd=ROOT, env=env, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    # The tool is live: an input the action does not declare, and an expression in run:, are caught.
    bad = example.read_text("utf-8").replace("comment: update", "coment: update")
    example.write_text(bad, "utf-8")
    proc = subprocess.run([*cmd, str(example)], cwd=repo, env=env, capture_output=True, text=True)
    assert proc.returncode == 1 and "coment" in proc.stdout, proc.stdout


@pytest.mark.slow
def test_schemas_pass(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """check-jsonschema's built-in schemas, in-process (one import of the tool, not three)."""
    from check_jsonschema import main

    def check(*args: str) -> tuple[int, str]:
        capsys.readouterr()
        with pytest.raises(SystemExit) as e:
            main(list(args))
        out = capsys.readouterr()
        return int(e.value.code or 0), out.out + out.err

    for schema, path in (("vendor.github-actions", ACTION), ("vendor.github-workflows", WORKFLOW)):
        assert check("--builtin-schema", schema, str(path)) == (0, "ok -- validation done\n")
    code, out = check("--builtin-schema", "vendor.gitlab-ci", "--data-transform", "gitlab-ci", str(GITLAB))
    assert code == 0, out
    # Live: an action whose step lacks its shell is refused by the schema.
    broken = ACTION.read_text("utf-8").replace(
        "      shell: bash\n      run: |\n        python3 -m venv", "      run: |\n        python3 -m venv"
    )
    assert broken != ACTION.read_text("utf-8")
    bad = tmp_path / "action.yml"
    bad.write_text(broken, "utf-8")
    assert check("--builtin-schema", "vendor.github-actions", str(bad))[0] == 1


_SEVERITY = ["unknown", "informational", "low", "medium", "high"]


@pytest.mark.slow
def test_zizmor_reports_nothing_above_low(tmp_path: Path) -> None:
    proc = subprocess.run(
        [_tool("zizmor"), "--offline", "--persona", "pedantic", "--format", "json", str(ACTION), str(WORKFLOW)],
        capture_output=True,
        text=True,
    )
    findings = json.loads(proc.stdout)
    above = [f for f in findings if _SEVERITY.index(f["determinations"]["severity"].lower()) > _SEVERITY.index("low")]
    assert not above, json.dumps(above, indent=1)[:3000]
    # Live: the classic injection (a PR title expanded into run:) is reported above low.
    bad = tmp_path / ".github" / "workflows" / "bad.yml"
    bad.parent.mkdir(parents=True)
    bad.write_text(
        "on: pull_request_target\npermissions: {}\njobs:\n  x:\n    runs-on: ubuntu-latest\n    steps:\n"
        '      - run: echo "${{ github.event.pull_request.title }}"\n',
        "utf-8",
    )
    proc = subprocess.run([_tool("zizmor"), "--offline", "--format", "json", str(bad)], capture_output=True, text=True)
    severities = {f["determinations"]["severity"].lower() for f in json.loads(proc.stdout)}
    assert severities & {"medium", "high"}, proc.stdout
