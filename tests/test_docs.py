"""The shipped docs hold: every shell block of README.md and docs/*.md runs, in order per page, in a
temporary git repo (distillplan installed, the bundled examples copied in and committed), so a
walk-through that stops working fails; a block that cannot run offline says why on the line before
its fence (``<!-- skip: reason -->``). Every relative link, anchor and cited file of the docs
(CONTRIBUTING.md and the generated documents included) resolves; every command is documented; the
README's test command is the one .ci/run runs.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote

import pytest
from markdown_it import MarkdownIt
from markdown_it.token import Token

from tests.conftest import EXAMPLES, GIT_ENV, ROOT, git

PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
LINKED = [*PAGES, ROOT / "CONTRIBUTING.md"]
SHELLS = {"sh", "bash", "shell", "console"}
#: A console block shows a session: its commands are the lines after a "$ " prompt, the rest is output.
PROMPT = "$ "
SKIP = re.compile(r"<!--\s*skip\b(?P<rest>.*?)-->", re.S)
MD = MarkdownIt("commonmark").enable("table")


@dataclass(frozen=True)
class Block:
    page: Path
    line: int  # 1-based line of the opening fence
    text: str
    skip: str | None  # the reason, when the block is marked skipped


def _tokens(page: Path) -> list[Token]:
    return MD.parse(page.read_text(encoding="utf-8"))


def _rel(page: Path) -> str:
    return page.relative_to(ROOT).as_posix() if page.is_relative_to(ROOT) else page.name


def shell_blocks(page: Path) -> list[Block]:
    """The page's shell blocks in order, each with the skip reason of the comment line(s) right before it."""
    out: list[Block] = []
    comments: list[Token] = []
    for tok in _tokens(page):
        if tok.type == "html_block" and tok.content.lstrip().startswith("<!--"):
            comments.append(tok)
            continue
        if tok.type == "fence" and tok.info.split()[:1] and tok.info.split()[0] in SHELLS:
            reasons = [m.group("rest") for c in comments for m in SKIP.finditer(c.content)]
            reason = None
            if reasons:
                reason = reasons[0].strip().removeprefix(":").strip()
                assert reasons[0].strip().startswith(":") and reason, (
                    f"{_rel(page)}:{tok.map[0] + 1 if tok.map else 0}: a skip marker needs a reason: "
                    "<!-- skip: why this block cannot run offline -->"
                )
            text = tok.content
            if tok.info.split()[0] == "console":
                text = "".join(ln[len(PROMPT) :] for ln in text.splitlines(keepends=True) if ln.startswith(PROMPT))
            out.append(Block(page, tok.map[0] + 1 if tok.map else 0, text, reason))
        comments = []
    return out


def test_every_skip_marker_names_its_reason_and_precedes_a_shell_block() -> None:
    """A marker without a reason, or one not right before a shell fence (it would skip nothing),
    fails; the skipped blocks are listed with their reasons (``pytest -rP`` shows them)."""
    marked = 0
    for page in PAGES:
        text = page.read_text(encoding="utf-8")
        markers = [text.count("\n", 0, m.start()) + 1 for m in SKIP.finditer(text)]
        skipped = [b for b in shell_blocks(page) if b.skip is not None]
        assert len(skipped) == len(markers), (
            f"{_rel(page)}: skip markers on lines {markers}, but {len(skipped)} shell blocks follow one"
        )
        for b in skipped:
            print(f"skipped {_rel(page)}:{b.line}: {b.skip}")
        marked += len(skipped)
    assert marked >= 1  # the README's install and test commands, at least


def test_a_marker_without_a_reason_is_refused(tmp_path: Path) -> None:
    page = tmp_path / "page.md"
    page.write_text("<!-- skip -->\n```sh\nkubectl apply -f x\n```\n<!-- skip: -->\n```sh\nnvidia-smi\n```\n")
    with pytest.raises(AssertionError, match=r"page\.md:2: a skip marker needs a reason"):
        shell_blocks(page)
    page.write_text(
        "<!-- skip: needs a GPU -->\n```sh\nnvidia-smi\n```\n\n```sh\ndistillplan catalog\n```\n\n"
        "```console\n$ distillplan validate\ndistill.toml: ok\n```\n\n```yaml\nkey: 1\n```\n"
    )
    blocks = shell_blocks(page)
    assert [(b.line, b.skip) for b in blocks] == [(2, "needs a GPU"), (6, None), (10, None)]
    assert blocks[2].text == "distillplan validate\n"  # a console block: the prompted lines, not the output


def _runnable(page: Path) -> bool:
    try:
        return any(b.skip is None for b in shell_blocks(page))
    except AssertionError:  # a marker without a reason: the test above names it
        return False


RUNNABLE = [p for p in PAGES if _runnable(p)]


def _script(blocks: list[Block], trace: Path) -> str:
    """One bash script running the page's blocks in order under `set -e -o pipefail`; before each block its
    location goes to ``trace`` so a failure names the block."""
    parts = ["set -e -o pipefail"]
    for b in blocks:
        if b.skip is None:
            parts.append(f"echo '{_rel(b.page)}:{b.line}' > '{trace}'")
            parts.append(b.text)
    return "\n".join(parts) + "\n"


@pytest.mark.slow  # bash, git and pre-commit as a user runs them
@pytest.mark.parametrize("page", RUNNABLE, ids=[_rel(p) for p in RUNNABLE])
def test_the_page_shell_blocks_run_in_a_fresh_repo(page: Path, git_repo: Path, tmp_path: Path) -> None:
    """The page's blocks from the root of what a clone holds: every file git tracks or would add
    (the working tree's bytes, so an edited page runs as edited), committed; distillplan on PATH."""
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT,
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    for name in filter(None, listed.split("\0")):
        if (ROOT / name).is_file() and not (ROOT / name).is_symlink():
            (git_repo / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / name, git_repo / name)
    assert (git_repo / "examples" / "invoice-extraction" / "distill.toml").is_file()
    git(git_repo, "add", "-A")
    git(git_repo, "commit", "-q", "-m", "a clone of distillplan")
    trace = tmp_path / "block"
    env = {
        **os.environ,
        **GIT_ENV,
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
        "PRE_COMMIT_HOME": str(tmp_path / "pre-commit-home"),
        "HOME": str(tmp_path / "home"),
    }
    env.pop("PRE_COMMIT", None)
    (tmp_path / "home").mkdir()
    run = subprocess.run(
        ["bash", "-c", _script(shell_blocks(page), trace)],
        cwd=git_repo,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    where = trace.read_text().strip() if trace.exists() else _rel(page)
    output = f"{run.stdout[-3000:]}\n{run.stderr[-3000:]}"
    assert run.returncode == 0, f"{where}: the block failed (exit {run.returncode})\n{output}"


# ------------------------------------------------------------------ links and cited files


def _slug(heading: str) -> str:
    """GitHub's anchor of a heading: lower case, punctuation dropped, spaces as hyphens."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


def _anchors(page: Path) -> set[str]:
    """The page's heading anchors as GitHub makes them (a repeated heading gets -1, -2, ...)."""
    toks = _tokens(page)
    seen: dict[str, int] = {}
    out: set[str] = set()
    for i, t in enumerate(toks):
        if t.type == "heading_open":
            slug = _slug(toks[i + 1].content)
            n = seen.get(slug, 0)
            seen[slug] = n + 1
            out.add(slug if n == 0 else f"{slug}-{n}")
    return out


HTML_LINK = re.compile(r"""\b(?:href|src)\s*=\s*["']([^"']+)["']""")


def _links(tokens: list[Token]) -> list[tuple[int, str]]:
    """Every link and image target: Markdown's (inline or by reference) and raw HTML's href/src."""
    out: list[tuple[int, str]] = []
    for tok in tokens:
        line = tok.map[0] + 1 if tok.map else 0
        if tok.type == "html_block":
            out += [(line, m.group(1)) for m in HTML_LINK.finditer(tok.content)]
        for child in tok.children or ():
            if child.type == "link_open":
                out.append((line, str(child.attrs.get("href", ""))))
            elif child.type == "image":
                out.append((line, str(child.attrs.get("src", ""))))
            elif child.type == "html_inline":
                out += [(line, m.group(1)) for m in HTML_LINK.finditer(child.content)]
    return out


def _codes(tokens: list[Token]) -> list[tuple[int, str]]:
    """Inline code spans of the page (not fenced blocks), with their line."""
    out: list[tuple[int, str]] = []
    for tok in tokens:
        for child in tok.children or ():
            if child.type == "code_inline":
                out.append((tok.map[0] + 1 if tok.map else 0, child.content))
    return out


#: A cited path: segments of file-name characters, at least one slash, a file or folder name last.
PATH = re.compile(r"^\.?[\w.-]+(?:/[\w.-]+)+/?$")
#: A cited project document by its bare name: README.md, CONTRIBUTING.md, DOMAIN.md, SOURCES.toml.
PROJECT_DOC = re.compile(r"^[A-Z][A-Z0-9_-]*\.(?:md|toml|txt|rst)$")
TEMPLATES = ROOT / "templates"


def _in_tree(path: str, roots: list[Path]) -> bool | None:
    """True when ``path`` is a file or folder under one of ``roots`` (a template ``X.j2`` stands for
    the generated ``X``); None when no root even has its folder (an output a command writes, such as
    ``distill/training/output/served``, or a user's own file), so nothing can be said."""
    rel = path.rstrip("/")
    parent = rel.rsplit("/", 1)[0] if "/" in rel else "."
    if any((r / rel).exists() or (r / f"{rel}.j2").exists() for r in roots):
        return True
    return False if any((r / parent).is_dir() for r in roots) else None


def _dangling(page: Path, roots: list[Path], text: str | None = None) -> list[str]:
    """Every broken link and missing cited file of ``page`` (or of ``text`` read as that page)."""
    tokens = _tokens(page) if text is None else MD.parse(text)
    bad: list[str] = []
    for line, href in _links(tokens):
        if re.match(r"^[a-z][a-z0-9+.-]*:", href):  # https:, mailto:
            continue
        target, _, anchor = unquote(href).partition("#")
        dest = (page.parent / target).resolve() if target else page
        if not dest.exists():
            bad.append(f"{_rel(page)}:{line}: link to {href}: no such file")
        elif anchor and dest.suffix == ".md" and anchor not in _anchors(dest):
            bad.append(f"{_rel(page)}:{line}: link to {href}: no such heading")
    for line, code in _codes(tokens):
        code = code.strip()
        if PATH.match(code) and not code.startswith(("../", "./")):
            here = _in_tree(code, roots)
            if code.startswith("distill/"):  # the generated tree: what the templates render
                rendered = _in_tree(code.removeprefix("distill/"), [TEMPLATES])
                missing = here is not True and (rendered is False or (rendered is None and here is False))
            else:
                missing = here is False
            if missing:
                bad.append(f"{_rel(page)}:{line}: `{code}` does not exist")
        elif PROJECT_DOC.match(code) and not any(ROOT.glob(f"**/{code}")):
            bad.append(f"{_rel(page)}:{line}: `{code}` does not exist")
    return bad


def test_no_dangling_link_or_cited_file_in_the_docs() -> None:
    """README.md, docs/*.md and CONTRIBUTING.md: every relative link (and its #anchor) resolves, and
    every repository path they cite in code (`docs/plan-json.md`, `distillplan/sizing/latency.py`, a
    generated `distill/serving/vllm.yaml`) exists, as does a project document cited by name."""
    assert sum(len(_links(_tokens(p))) for p in LINKED) > 30 and len(LINKED) > 10
    bad = [b for page in LINKED for b in _dangling(page, [ROOT])]
    assert bad == []


def test_no_dangling_reference_in_the_generated_documents() -> None:
    """The generated proposal, contract, memo and operations page of every example (the goldens):
    every path they cite exists in that project (the example's files plus the generated tree)."""
    pages = sorted((ROOT / "tests" / "golden").glob("*/distill/docs/*.md"))
    assert len(pages) >= 7
    bad = [b for p in pages for b in _dangling(p, [EXAMPLES / p.parts[-4], p.parents[2]])]
    assert bad == []


def test_the_checker_finds_what_it_is_for() -> None:
    """A missing cited file, a missing project document, a broken link and a broken anchor are found;
    a user's own file and an output folder no tree has are not flagged."""
    text = (
        "See `DOMAIN.md`, `docs/nothing.md`, `distillplan/sizing/nope.py`, `distill/serving/vllm.yml`.\n\n"
        "[a](missing.md), [b](spec.md#no-such-heading), [c](spec.md#spec-reference), [d](https://x.example)\n\n"
        '![chart](img/none.png) <a href="gone.md">e</a> [f](pipeline.md#re-running-scaffold) [g][ref]\n\n'
        "[ref]: nowhere.md\n\n"
        "Fine: `distill.toml`, `eval/locked.jsonl`, `distill/training/output/served`, `docs/plan-json.md`,"
        " `distill/serving/vllm.yaml`, `distill/docs/proposal.md`, `predictions.jsonl`, `README.md`.\n"
    )
    found = _dangling(ROOT / "docs" / "probe.md", [ROOT], text)
    assert [b.split(": ", 1)[1] for b in found] == [
        "link to missing.md: no such file",
        "link to spec.md#no-such-heading: no such heading",
        "link to img/none.png: no such file",
        "link to gone.md: no such file",
        "link to nowhere.md: no such file",
        "`DOMAIN.md` does not exist",
        "`docs/nothing.md` does not exist",
        "`distillplan/sizing/nope.py` does not exist",
        "`distill/serving/vllm.yml` does not exist",
    ]


def test_every_policy_threshold_names_its_rule() -> None:
    """docs/spec.md's rule column: each top-level [policy] threshold cites its playbook rule, or says
    it is distillplan's own; a new threshold without either fails here, not in a reader's head."""
    from distillplan.spec.policy import Policy
    from distillplan.spec.reference import rule_of

    for key, field in Policy.model_fields.items():
        if key in ("sizing",):  # a table of sizing assumptions, each distillplan's own (docs/sizing.md)
            continue
        rule = rule_of(field.description)
        assert rule != "distillplan" or "distillplan's" in (field.description or ""), key
    spec = (ROOT / "docs" / "spec.md").read_text(encoding="utf-8")
    assert "| `volume_floor_tokens_per_month` | number | `50_000_000` | P2.2 |" in spec


def test_the_walk_through_quotes_the_sample_size_the_tool_computes() -> None:
    """The README's "the plan's sample size, N here" is the invoice example's required size (P2.3)."""
    from distillplan.evalset.samplesize import required_examples
    from distillplan.spec.load import load_spec

    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    quoted = re.search(r"plan's sample size, ([\d,]+) here", readme)
    assert quoted is not None
    ev = load_spec(EXAMPLES / "invoice-extraction").spec.eval
    assert ev.teacher_score is not None
    want = required_examples(teacher_score=ev.teacher_score, gap_points=ev.max_gap_points)
    assert quoted.group(1) == f"{want:,}"


def test_every_non_cost_driver_is_in_the_playbook_page_and_the_json_reference() -> None:
    """CONTRIBUTING's promise: each Driver of plan.decision.non_cost_drivers has its line, with its
    P-number, in docs/playbook.md's "Non-cost drivers" and its id in docs/plan-json.md."""
    import inspect

    from distillplan.plan import decision

    source = inspect.getsource(decision.non_cost_drivers)
    drivers = re.findall(r'id="([a-z-]+)",\s*rule="(P[0-9.]+)"', source)
    assert len(drivers) >= 3
    playbook = (ROOT / "docs" / "playbook.md").read_text(encoding="utf-8").split("**Non-cost drivers.**", 1)[1]
    listed = playbook.split("\n\n**", 1)[0]
    json_doc = (ROOT / "docs" / "plan-json.md").read_text(encoding="utf-8")
    for driver, rule in drivers:
        assert f"- `{driver}` ({rule})" in listed, driver
        assert f"`{driver}`" in json_doc, driver


# ------------------------------------------------------------------ commands, CI command, metadata


def _commands() -> list[str]:
    import click

    from distillplan.cli import cli

    out: list[str] = []
    for name, cmd in sorted(cli.commands.items()):
        if isinstance(cmd, click.Group):
            out += [f"{name} {sub}" for sub in sorted(cmd.commands)]
        else:
            out.append(name)
    return out


def test_every_command_is_documented() -> None:
    """Each command (and sub-command) has its row in docs/exit-codes.md, and the README names it."""
    exits = (ROOT / "docs" / "exit-codes.md").read_text(encoding="utf-8")
    readme = (ROOT / "README.md").read_text(encoding="utf-8").split("## Commands", 1)[1].split("\n## ", 1)[0]
    commands = _commands()
    assert len(commands) >= 13
    assert [c for c in commands if f"| `distillplan {c}" not in exits] == []
    assert [c for c in commands if f"`{c.split()[0]}`" not in readme] == []


def test_the_readme_test_command_is_the_one_ci_runs() -> None:
    """.ci/run runs the README's test command exactly as written (after its own pip flags)."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    block = readme.split("Run the tests", 1)[1].split("```sh\n", 1)[1].split("```", 1)[0].strip()
    assert block == "pip install -r requirements/test.txt -e . && pytest"
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    line = ci.split("# The README's test command, exactly as written:\n", 1)[1].splitlines()[0]
    assert line == block.replace("pip install ", "pip install --quiet --disable-pip-version-check ", 1)


def test_project_metadata_is_real_or_absent() -> None:
    """No placeholder in pyproject.toml's metadata: a URL, if any, is https on a real host (no
    reserved example domain, no ``<...>``), and no field is template text."""
    from distillplan.files import tomllib

    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    urls = list(project.get("urls", {}).values())
    placeholder = re.compile(
        r"example\.(?:com|org|net|invalid)|\.invalid\b|\.test\b|localhost|<|>|TODO|FIXME|xxx", re.I
    )
    for url in urls:
        assert url.startswith("https://") and not placeholder.search(url), url
    people = [*project.get("authors", []), *project.get("maintainers", [])]
    fields = [person.get(k, "") for person in people for k in ("name", "email")]
    for value in [project.get("description", ""), *fields]:
        assert not placeholder.search(value), value
    assert project["readme"] == "README.md" and (ROOT / project["readme"]).is_file()
