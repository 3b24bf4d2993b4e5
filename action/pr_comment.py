"""Post distillplan's pull-request comment: create it, or update the one already there in place.

Shipped with the action (``action.yml``) and the GitLab CI template; the standard library only
(``urllib``), so it runs on any runner's ``python3`` without installing anything. distillplan
itself never talks to the network: this script is the one part that does.

Environment (the action sets it through ``env:``, never by expanding values into the script):

* ``DP_BODY``: the file holding the comment (``distillplan diff --format github``); its first
  line is the hidden marker ``<!-- distillplan-diff: PATH -->`` that finds the comment again.
* ``DP_BEHAVIOUR``: ``update`` (edit this spec's comment, create it the first time), ``new``
  (a comment per run) or ``none`` (post nothing).
* ``DP_AUTHOR``: only a comment by this login is updated (default: none, any author).
* GitHub (default): ``GITHUB_TOKEN``, ``GITHUB_API_URL``, ``GITHUB_REPOSITORY``, ``DP_NUMBER``
  (the pull request's number). Endpoints: list issue comments (paginated), create, update.
* GitLab (``DP_API=gitlab``): ``GITLAB_TOKEN`` (a project access token allowed the API),
  ``CI_API_V4_URL``, ``CI_PROJECT_ID``, ``CI_MERGE_REQUEST_IID``: the merge request's notes.

Exit 0 when posted (or when the token may not write, as on a fork's pull request: a warning, the
body stays in the job summary), 1 on any other failure, with one ``::error::`` line.
"""

from __future__ import annotations

import json
import os
import re
import sys
import urllib.error
import urllib.parse
import urllib.request
from typing import Any

LIMIT = 65_536  # GitHub refuses a longer comment body
MAX_PAGES = 100
MARKER = re.compile(r"^<!-- distillplan-diff: [^\s>]+ -->$")
TIMEOUT = 30


class Failure(Exception):
    pass


class NotAllowed(Failure):
    pass


def _env(name: str, default: str | None = None) -> str:
    value = os.environ.get(name, default)
    if value is None or value == "":
        raise Failure(f"{name} is not set")
    return value


class Api:
    """The few endpoints the comment needs, on GitHub or GitLab."""

    def __init__(self) -> None:
        self.kind = os.environ.get("DP_API", "github")
        if self.kind == "github":
            self.base = _env("GITHUB_API_URL", "https://api.github.com").rstrip("/")
            repo = _env("GITHUB_REPOSITORY")
            number = _env("DP_NUMBER")
            if not number.isdigit() or not re.fullmatch(r"[\w.-]+/[\w.-]+", repo):
                raise Failure(f"not a pull request: repository {repo!r}, number {number!r}")
            self.list_url = f"{self.base}/repos/{repo}/issues/{number}/comments?per_page=100"
            self.create_url = f"{self.base}/repos/{repo}/issues/{number}/comments"
            self.item_url = f"{self.base}/repos/{repo}/issues/comments/{{id}}"
            self.update_method = "PATCH"
            self.headers = {
                "Authorization": f"Bearer {_env('GITHUB_TOKEN')}",
                "Accept": "application/vnd.github+json",
                "X-GitHub-Api-Version": "2022-11-28",
            }
        elif self.kind == "gitlab":
            self.base = _env("CI_API_V4_URL").rstrip("/")
            project = urllib.parse.quote(_env("CI_PROJECT_ID"), safe="")
            iid = _env("CI_MERGE_REQUEST_IID")
            if not iid.isdigit():
                raise Failure(f"not a merge request: iid {iid!r}")
            notes = f"{self.base}/projects/{project}/merge_requests/{iid}/notes"
            self.list_url = f"{notes}?per_page=100&sort=asc"
            self.create_url = notes
            self.item_url = f"{notes}/{{id}}"
            self.update_method = "PUT"
            self.headers = {"PRIVATE-TOKEN": _env("GITLAB_TOKEN")}
        else:
            raise Failure(f"DP_API must be github or gitlab (got {self.kind!r})")
        self.origin = urllib.parse.urlsplit(self.base)[:2]

    def request(self, method: str, url: str, payload: dict[str, Any] | None = None) -> tuple[Any, Any]:
        if urllib.parse.urlsplit(url)[:2] != self.origin:  # never send the token anywhere else
            raise Failure(f"refusing to follow {url[:80]!r}: not the API at {self.base}")
        data = json.dumps(payload).encode("utf-8") if payload is not None else None
        headers = {**self.headers, "User-Agent": "distillplan-action"}
        if data is not None:
            headers["Content-Type"] = "application/json"
        req = urllib.request.Request(url, data=data, method=method, headers=headers)
        try:
            with urllib.request.urlopen(req, timeout=TIMEOUT) as resp:
                return json.loads(resp.read().decode("utf-8") or "null"), resp.headers
        except urllib.error.HTTPError as e:
            detail = e.read(300).decode("utf-8", "replace").replace("\n", " ")
            if e.code in (401, 403, 404) and method != "GET":
                raise NotAllowed(f"{method} {e.code}: {detail}") from None
            raise Failure(f"{method} {url.split('?')[0]}: HTTP {e.code}: {detail}") from None
        except (urllib.error.URLError, TimeoutError, ValueError) as e:
            raise Failure(f"{method} {url.split('?')[0]}: {e}") from None

    def comments(self) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        url: str | None = self.list_url
        for _ in range(MAX_PAGES):
            if url is None:
                break
            page, headers = self.request("GET", url)
            if not isinstance(page, list):
                raise Failure("listing comments: the API did not return a list")
            out += [c for c in page if isinstance(c, dict)]
            url = _next_link(headers.get("Link", ""))
            nxt = headers.get("X-Next-Page", "")
            if url is None and nxt.isdigit():
                url = re.sub(r"([?&])page=\d+", "", self.list_url) + f"&page={nxt}"
        return out


def _next_link(link: str) -> str | None:
    for part in link.split(","):
        m = re.match(r'\s*<([^>]+)>\s*;\s*rel="next"', part)
        if m:
            return m.group(1)
    return None


def _author(c: dict[str, Any]) -> str:
    who = c.get("user") or c.get("author") or {}
    return str(who.get("login") or who.get("username") or "") if isinstance(who, dict) else ""


def post(api: Api, body: str, behaviour: str, author: str) -> str:
    marker = body.split("\n", 1)[0]
    if behaviour == "update":
        for c in api.comments():
            text = str(c.get("body") or "")
            if text.split("\n", 1)[0] == marker and (not author or _author(c) == author):
                if text == body:
                    return f"comment {c.get('id')} is up to date"
                api.request(api.update_method, api.item_url.format(id=int(c["id"])), {"body": body})
                return f"updated comment {c.get('id')}"
    made, _ = api.request("POST", api.create_url, {"body": body})
    return f"created comment {made.get('id') if isinstance(made, dict) else '?'}"


def main() -> int:
    try:
        behaviour = os.environ.get("DP_BEHAVIOUR", "update")
        if behaviour not in ("update", "new", "none"):
            raise Failure(f"comment must be update, new or none (got {behaviour!r})")
        if behaviour == "none":
            return 0
        path = _env("DP_BODY")
        with open(path, encoding="utf-8") as f:
            body = f.read(LIMIT + 1)
        if len(body) > LIMIT:
            raise Failure(f"{path}: the comment is longer than {LIMIT} characters")
        if not MARKER.match(body.split("\n", 1)[0]):
            raise Failure(f"{path}: not a distillplan comment (no marker on its first line)")
        print(f"distillplan: {post(Api(), body, behaviour, os.environ.get('DP_AUTHOR', ''))}")
        return 0
    except NotAllowed as e:
        print(
            "::warning::distillplan: this token may not comment here (a fork's pull request gets a "
            f"read-only token; the diff is in the job summary): {e}"
        )
        return 0
    except (Failure, OSError) as e:
        print(f"::error::distillplan: {e}")
        return 1
    except (KeyError, TypeError, ValueError, AttributeError) as e:  # an API answer of another shape
        print(f"::error::distillplan: unexpected answer from the API: {type(e).__name__}: {str(e)[:200]}")
        return 1


if __name__ == "__main__":
    sys.exit(main())
