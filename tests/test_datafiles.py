"""The bundled data files are validated on load (issue 23): a copy of each, damaged one way at a
time, is refused with one located line naming the file, the entry and the key, exit 1 through
the command line's error handler (not exit 3 "internal error", not a wrong figure)."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from distillplan.catalogs.datafile import DataFileError
from distillplan.catalogs.gpus import load_gpus, parse_gpus
from distillplan.catalogs.prices import parse_teacher_prices, teacher_prices
from distillplan.catalogs.sources import student_facts, student_sources
from distillplan.catalogs.students import STUDENT_FILES
from distillplan.files import data_path
from distillplan.main import guarded


def _copy(tmp_path: Path, *parts: str, old: str, new: str) -> Path:
    src = data_path(*parts)
    text = src.read_text(encoding="utf-8")
    assert old in text, old
    dst = tmp_path / parts[-1]
    shutil.copyfile(src, dst)
    dst.write_text(text.replace(old, new, 1), encoding="utf-8")
    return dst


def _line_of(path: Path, needle: str) -> int:
    return next(i for i, ln in enumerate(path.read_text().splitlines(), 1) if needle in ln)


def _refused(load: Callable[[Path], object], path: Path, capsys: pytest.CaptureFixture[str]) -> str:
    """The one line the command line prints for ``load(path)``, checked to exit 1."""
    with pytest.raises(DataFileError):
        load(path)
    code = guarded(lambda: (load(path), 0)[1], [])  # type: ignore[func-returns-value]
    err = capsys.readouterr().err
    assert code == 1 and err.count("\n") == 1, err
    assert err.startswith(f"{path}:") and "internal error" not in err
    return err.strip()


def test_the_bundled_files_load_through_their_models() -> None:
    assert parse_gpus() == load_gpus() and parse_teacher_prices() == teacher_prices()
    assert list(student_sources()) == list(STUDENT_FILES)
    facts = student_facts()
    assert list(facts) == list(STUDENT_FILES)
    from distillplan.catalogs.licenses import LICENSES

    assert {f.license for f in facts.values()} <= set(LICENSES)
    for name, f in facts.items():  # a successor is newer and of the bundle
        assert not f.superseded_by or facts[f.superseded_by].release_date > f.release_date, name


def test_a_damaged_student_facts_file_is_one_located_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = _copy(
        tmp_path,
        "students.toml",
        old='superseded_by = "Qwen/Qwen3-8B"',
        new='superseded_by = "Qwen/Qwen3-8B-Instruct"',
    )
    err = _refused(student_facts, path, capsys)
    assert f":{_line_of(path, 'Qwen3-8B-Instruct')}:" in err
    assert '"Qwen/Qwen2.5-7B".superseded_by: must be a bundled hub id' in err


@pytest.mark.parametrize(
    ("old", "new", "needle", "expected"),
    [
        (
            "memory_gib = 40.0",
            "memory_gb = 40.0",
            "memory_gb = 40.0",
            "a100-40gb.memory_gb: unknown key (did you mean 'memory_gib'?)",
        ),
        ("bf16_tflops = 312.0", 'bf16_tflops = "312"', 'bf16_tflops = "312"', "a100-40gb.bf16_tflops: input should be"),
        ("bandwidth_gb_per_s = 1555.0", "bandwidth_gb_per_s = -1555.0", "-1555.0", "greater than 0 (got -1555.0)"),
        ('provider = "Lambda", usd_per_gpu_hour = 1.99', 'provider = "Lambda", usd_per_gpu_hour = -1.99', "-1.99", ""),
        (
            'read = "2026-09-25", kind = "on-demand", source = "1x A100',
            'read = "2026-9-25", kind = "on-demand", source = "1x A100',
            "2026-9-25",
            "",
        ),
        (
            'kind = "spot", source = "A100 SXM 40GB',
            'kind = "preemptible", source = "A100 SXM 40GB',
            '"preemptible"',
            "kind: input should be 'on-demand', 'spot' or 'reserved'",
        ),
    ],
)
def test_a_damaged_gpu_catalog_is_one_located_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], old: str, new: str, needle: str, expected: str
) -> None:
    path = _copy(tmp_path, "gpus.toml", old=old, new=new)
    err = _refused(parse_gpus, path, capsys)
    line = _line_of(path, needle)
    assert err.startswith(f"{path}:{line}:"), err
    assert "a100-40gb." in err and expected in err
    if "quotes" in new or "read" in old:
        assert "a100-40gb.quotes.1." in err  # the entry, the quote's index and its key


TEACHER = "[claude-sonnet-5-5]"


@pytest.mark.parametrize(
    ("old", "new", "key", "expected"),
    [
        ("batch_discount = 0.5", "batch_discount = 50", "batch_discount", "less than 1 (got 50)"),
        ("batch_discount = 0.5", "batch_discount = 1.0", "batch_discount", "less than 1 (got 1.0)"),
        ('status = "current"', 'status = "retierd"', "status", "'current', 'legacy' or 'retired' (got 'retierd')"),
        ("usd_per_mtok_input = 2.00", "usd_per_mtok_input = -2.00", "usd_per_mtok_input", "greater than or equal to 0"),
        ("usd_per_mtok_cached_input = 0.10", "usd_per_mtok_cached_input = 3.0", "", "a cache hit never costs more"),
        ("as_of = 2026-11-28", 'as_of = "2026-11-28"', "as_of", "valid date"),
        ('vendor = "Anthropic"', 'vendr = "Anthropic"', "vendr", "unknown key (did you mean 'vendor'?)"),
    ],
)
def test_a_damaged_price_book_is_one_located_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], old: str, new: str, key: str, expected: str
) -> None:
    text = data_path("teachers.toml").read_text()
    start = text.index(TEACHER)
    damaged = text[:start] + text[start:].replace(old, new, 1)
    path = tmp_path / "teachers.toml"
    path.write_text(damaged)
    err = _refused(parse_teacher_prices, path, capsys)
    entry = "claude-sonnet-5-5" + (f".{key}" if key else "")
    assert f": {entry}: " in err and expected in err, err
    lines = damaged.splitlines()
    at = int(err[len(str(path)) + 1 :].split(":")[0])
    assert lines[at - 1].startswith(key or TEACHER), (at, lines[at - 1])


def test_a_damaged_sources_file_is_one_located_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = _copy(
        tmp_path,
        "architectures",
        "SOURCES.toml",
        old='published_params_kind = "gguf_parameter_count"',
        new='published_params_kind = "gguf"',
    )
    err = _refused(student_sources, path, capsys)
    line = _line_of(path, 'published_params_kind = "gguf"')
    assert f":{line}:" in err
    assert '"meta-llama/Llama-2-7b-hf".published_params_kind: input should be' in err


def test_a_data_file_that_is_not_toml_is_one_located_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = _copy(tmp_path, "gpus.toml", old="memory_gib = 40.0", new="memory_gib = = 40.0")
    err = _refused(parse_gpus, path, capsys)
    assert err.startswith(f"{path}:{_line_of(path, '= = 40.0')}:") and "not valid TOML" in err
