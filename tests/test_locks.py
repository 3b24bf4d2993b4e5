"""The committed locks (requirements/*.txt) agree with pyproject.toml (issue 20).

Each lock is what `bash requirements/lock.sh` compiled for CPython 3.11 on x86_64 Linux. A
requirement added to or tightened in pyproject.toml without re-locking fails here: every direct
requirement of an environment must be pinned in its lock at a version its specifier admits, every
package the lock says came from pyproject.toml must still be asked for there, and packages shared
by two locks have one version (.ci/run installs test and lint side by side)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import tomllib
from packaging.markers import default_environment
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

ROOT = Path(__file__).resolve().parents[1]
REQ = ROOT / "requirements"
PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s;]+)")
# The environment the locks are compiled for (lock.sh: --python-version 3.11 --python-platform x86_64-manylinux_2_28).
ENV = {**default_environment(), "python_version": "3.11", "python_full_version": "3.11.0", "sys_platform": "linux"}
ENV |= {"platform_system": "Linux", "platform_machine": "x86_64", "os_name": "posix"}


def pins(name: str) -> dict[str, Version]:
    out: dict[str, Version] = {}
    for line in (REQ / name).read_text("utf-8").splitlines():
        if m := PIN.match(line):
            out[canonicalize_name(m[1])] = Version(m[2])
    return out


def from_pyproject(name: str) -> set[str]:
    """The packages the lock says pyproject.toml asked for (uv's `# via distillplan (pyproject.toml)`)."""
    out, current = set(), None
    for line in (REQ / name).read_text("utf-8").splitlines():
        if m := PIN.match(line):
            current = canonicalize_name(m[1])
        elif current and "distillplan (pyproject.toml)" in line:
            out.add(current)
    return out


def requirements(*extras: str) -> list[Requirement]:
    """pyproject.toml's requirements for the runtime plus ``extras``, self-references expanded."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text("utf-8"))["project"]
    out: list[Requirement] = []
    todo, seen = list(extras), set()
    reqs = [Requirement(r) for r in project["dependencies"]]
    while todo:
        extra = todo.pop()
        if extra in seen:
            continue
        seen.add(extra)
        for raw in project["optional-dependencies"][extra]:
            r = Requirement(raw)
            if canonicalize_name(r.name) == "distillplan":
                todo += sorted(r.extras)
            else:
                reqs.append(r)
    for r in reqs:
        if r.marker is None or r.marker.evaluate(ENV):
            out.append(r)
    return out


ENVIRONMENTS = {"runtime.txt": (), "test.txt": ("test",), "lint.txt": ("lint",)}


@pytest.mark.parametrize("lock", sorted(ENVIRONMENTS))
def test_every_requirement_is_pinned_at_an_admitted_version(lock: str) -> None:
    pinned = pins(lock)
    reqs = requirements(*ENVIRONMENTS[lock])
    assert reqs
    for r in reqs:
        name = canonicalize_name(r.name)
        assert name in pinned, f"requirements/{lock}: {r.name} is not locked; run `bash requirements/lock.sh`"
        assert r.specifier.contains(pinned[name], prereleases=True), (
            f"requirements/{lock}: {r.name}=={pinned[name]} is outside pyproject.toml's {r}; re-lock"
        )


@pytest.mark.parametrize("lock", sorted(ENVIRONMENTS))
def test_nothing_locked_for_a_requirement_pyproject_dropped(lock: str) -> None:
    asked = {canonicalize_name(r.name) for r in requirements(*ENVIRONMENTS[lock])}
    stale = from_pyproject(lock) - asked
    assert not stale, f"requirements/{lock} still locks {sorted(stale)} for pyproject.toml; re-lock"


def test_locks_agree_where_they_overlap() -> None:
    test = pins("test.txt")
    for lock in ("runtime.txt", "lint.txt"):
        for name, version in pins(lock).items():
            if name in test:
                assert test[name] == version, f"{name}: {lock} has {version}, test.txt {test[name]}"


def test_torch_is_the_cpu_build_everywhere_it_is_locked() -> None:
    for lock in ("test.txt", "llmcompressor.txt"):
        torch = pins(lock)["torch"]
        assert torch.local == "cpu", f"requirements/{lock}: torch=={torch} would be a CUDA build"
    assert "torch" not in pins("runtime.txt") and "torch" not in pins("lint.txt")  # never a runtime dependency


def test_llmcompressor_lock_follows_its_input() -> None:
    pinned = pins("llmcompressor.txt")
    for line in (REQ / "llmcompressor.in").read_text("utf-8").splitlines():
        line = line.split("#")[0].strip()
        if line:
            r = Requirement(line)
            assert r.specifier.contains(pinned[canonicalize_name(r.name)]), r
    assert pinned["transformers"] <= Version("5.17"), "llm-compressor's own pin"


def test_every_lock_says_how_it_was_made() -> None:
    names = sorted(p.name for p in REQ.glob("*.txt"))
    assert names == ["lint.txt", "llmcompressor.txt", "runtime.txt", "test.txt"]
    script = (REQ / "lock.sh").read_text("utf-8")
    for name in names:
        assert "#    bash requirements/lock.sh" in (REQ / name).read_text("utf-8"), name
        assert f"-o requirements/{name}" in script, name


def test_heavy_consumers_are_bounded_above() -> None:
    """A new release of these cannot change a fresh `pip install -e '.[test]'` (issue 20: an unbounded
    litellm backtracked through ~290 releases)."""
    bounded = {"litellm", "lm-eval", "trl", "transformers", "peft", "accelerate", "openai", "anthropic"}
    for r in requirements("test"):
        if canonicalize_name(r.name) in bounded:
            assert any(s.operator in ("<", "<=", "==", "~=") for s in r.specifier), f"{r} has no upper bound"
