"""`distillplan catalog`: every bundled fact listed, with its source and date."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from distillplan.catalogs.gpus import load_gpus
from distillplan.catalogs.prices import teacher_prices
from distillplan.catalogs.students import STUDENT_FILES
from distillplan.files import data_path
from tests.conftest import run_cli


def test_catalog_text_lists_everything(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run_cli("catalog", capsys=capsys)
    assert code == 0
    for name in STUDENT_FILES:
        assert name in out
    for gpu in load_gpus():
        assert gpu in out
    for teacher in teacher_prices():
        assert teacher in out


def test_catalog_json_has_sources_and_dates(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run_cli("catalog", "--format", "json", capsys=capsys)
    assert code == 0
    data = json.loads(out)
    assert [s["name"] for s in data["students"]] == list(STUDENT_FILES)
    assert all(s["published_params"] > 1e9 and s["as_of"] for s in data["students"])
    assert all(g["source"] and g["as_of"] for g in data["gpus"])
    assert all(
        t["source"] and t["as_of"] and t["usd_per_mtok_output"] >= t["usd_per_mtok_input"] for t in data["teachers"]
    )


def test_every_student_has_its_config_file() -> None:
    for stem in STUDENT_FILES.values():
        assert data_path("architectures", f"{stem}.json").is_file()


def test_each_gpu_price_is_the_median_of_its_dated_on_demand_quotes() -> None:
    """The GPU rate is recomputable: one on-demand quote per provider (spot and reserved quotes
    are labelled and listed apart), each with the day it was read (2026) and where; the row's
    price is the on-demand median, to the cent, and as old as its oldest on-demand quote."""
    import statistics

    for key, gpu in load_gpus().items():
        on_demand = [q for q in gpu.quotes if q.kind == "on-demand"]
        assert len(on_demand) >= 3, key
        providers = [q.provider for q in on_demand]
        assert len(set(providers)) == len(providers), f"{key}: one on-demand quote per provider"
        assert all(q.read.startswith("2026") and q.source and q.usd_per_gpu_hour > 0 for q in gpu.quotes)
        assert all(q.kind in ("on-demand", "spot", "reserved") for q in gpu.quotes)
        median = statistics.median(q.usd_per_gpu_hour for q in on_demand)
        assert abs(gpu.usd_per_gpu_hour - median) <= 0.005 + 1e-9, f"{key}: {gpu.usd_per_gpu_hour} vs median {median}"
        assert gpu.as_of == min(q.read for q in on_demand if len(q.read) == 10)[:7]  # the oldest dated quote
        assert all((q.day is None) == (len(q.read) == 4) for q in gpu.quotes)
    # RunPod's community cloud is its spot tier: listed, never in the median
    assert {q.kind for q in load_gpus()["h100-80gb"].quotes if q.provider == "RunPod"} == {"on-demand", "spot"}


def test_a_spot_or_reserved_quote_does_not_move_the_on_demand_rate(tmp_path: Path) -> None:
    """Issue 25: the rate is the on-demand median; a cheap spot quote (or a reserved one) added to
    a row leaves it where it was, and one mislabelled on-demand is refused, located, because
    the row's rate is then not its on-demand median."""
    from distillplan.catalogs.datafile import DataFileError
    from distillplan.catalogs.gpus import parse_gpus
    from distillplan.files import data_path

    text = data_path("gpus.toml").read_text(encoding="utf-8")
    anchor = '  { provider = "AWS", usd_per_gpu_hour = 6.88,'
    assert anchor in text
    for kind, usd in (("spot", 0.10), ("reserved", 20.0), ("spot", 20.0)):
        quote = f'provider = "Other", usd_per_gpu_hour = {usd}, read = "2026-11-30", kind = "{kind}", source = "t"'
        extra = f"  {{ {quote} }},\n"
        (tmp_path / f"{kind}.toml").write_text(text.replace(anchor, extra + anchor), encoding="utf-8")
        gpus = parse_gpus(tmp_path / f"{kind}.toml")
        assert gpus["h100-80gb"].usd_per_gpu_hour == load_gpus()["h100-80gb"].usd_per_gpu_hour == 3.99
        assert len(gpus["h100-80gb"].quotes) == len(load_gpus()["h100-80gb"].quotes) + 1
    extra = (
        '  { provider = "Other", usd_per_gpu_hour = 20.0, read = "2026-11-30", kind = "on-demand", source = "t" },\n'
    )
    (tmp_path / "mislabelled.toml").write_text(text.replace(anchor, extra + anchor), encoding="utf-8")
    with pytest.raises(DataFileError, match=r"h100-80gb: usd_per_gpu_hour \(3.99\) is not the median of the on-demand"):
        parse_gpus(tmp_path / "mislabelled.toml")


def test_catalog_json_lists_the_gpu_quotes(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run_cli("catalog", "--format", "json", capsys=capsys)
    assert code == 0
    gpus = {g["name"]: g for g in json.loads(out)["gpus"]}
    assert set(gpus) == set(load_gpus())
    h200 = gpus["h200-141gb"]
    assert [q["provider"] for q in h200["quotes"]] == [q.provider for q in load_gpus()["h200-141gb"].quotes]
    code, text, _ = run_cli("catalog", capsys=capsys)
    assert "median of 6 on-demand quotes $3.99-$10.44" in text and "read 2026-09-25" in text


def test_the_starter_spec_names_every_catalog_gpu_and_a_current_teacher() -> None:
    from distillplan.files import data_text
    from distillplan.spec.load import parse_spec

    text = data_text("starter.toml")
    gpu_line = next(ln for ln in text.splitlines() if ln.startswith("gpu = "))
    assert all(key in gpu_line for key in load_gpus())
    spec = parse_spec(text.replace("{name}", "x").replace("{title}", "X"), display="starter.toml", base_dir=data_path())
    assert spec.teacher.model is not None and teacher_prices()[spec.teacher.model].status == "current"


def test_rate_median_is_statistics_median() -> None:
    """The GPU rate's median, written out so the hook path need not import statistics, is
    statistics.median's, on odd and even counts and unsorted input."""
    import random
    import statistics

    from distillplan.catalogs.gpus import rate_median

    rng = random.Random(3)
    for n in range(1, 12):
        xs = [round(rng.uniform(0.5, 12), 4) for _ in range(n)]
        assert rate_median(xs) == statistics.median(xs)
    with pytest.raises(ValueError):
        rate_median([])
