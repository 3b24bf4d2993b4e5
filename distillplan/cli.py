"""The command line: click commands only. Each parses options and returns the exit code of
one :mod:`distillplan.commands` module; :func:`distillplan.main.guarded` maps exceptions to
exit codes (user error 1, usage 2, internal bug 3, interrupt 130: pre-commit's ``error_handler``)."""

from __future__ import annotations

from collections.abc import Sequence
from itertools import pairwise
from pathlib import Path
from typing import Any

import click

from distillplan import __version__
from distillplan.progress import silenced
from distillplan.spec.registry import METHODS, PRECISIONS

_FORMATS = click.Choice(["text", "json", "markdown"])


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, "--version", prog_name="distillplan")
@click.option("--verbose", "-v", is_flag=True, help="Show tracebacks of internal errors.")
def cli(verbose: bool) -> None:
    """Plan an LLM distillation project from one distill.toml.

    A SPEC argument is a distill.toml, or a folder holding one (default: ./distill.toml).
    """


@cli.command()
@click.argument("specs", nargs=-1, type=click.Path(path_type=Path))
@click.option("--quiet", "-q", is_flag=True, help="Print only problems.")
def validate(specs: tuple[Path, ...], quiet: bool) -> int:
    """Report every problem of every SPEC as PATH:LINE:COL: key: message."""
    from distillplan.commands import validate as command  # deferred: start-up imports only the command that runs

    return command.run(specs, quiet=quiet)


@cli.command()
def schema() -> int:
    """Print the JSON Schema of distill.toml (for editors and check-jsonschema)."""
    from distillplan.commands import schema as command  # deferred: start-up imports only the command that runs

    return command.run()


@cli.command()
@click.argument("folder", required=False, type=click.Path(path_type=Path, file_okay=False))
@click.option("--force", is_flag=True, help="Overwrite an existing distill.toml.")
def init(folder: Path | None, force: bool) -> int:
    """Write a commented starter distill.toml that validates."""
    from distillplan.commands import init as command  # deferred: start-up imports only the command that runs

    return command.run(folder, force=force)


@cli.group(invoke_without_command=True)
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
@click.pass_context
def catalog(ctx: click.Context, fmt: str) -> int | None:
    """List the bundled student models, GPUs and teacher prices, with sources; `catalog add PATH`
    adds a local Hugging Face snapshot to the repository's own student catalog."""
    if ctx.invoked_subcommand is not None:
        return None
    from distillplan.commands import catalog as command  # deferred: start-up imports only the command that runs

    return command.run(fmt)


@catalog.command("add")
@click.argument("path", type=click.Path(path_type=Path))
@click.option("--name", default=None, help="Name to plan it by (default: the config's hub id, else the folder name).")
@click.option("--replace", is_flag=True, help="Replace an entry of the same name.")
def catalog_add(path: Path, name: str | None, replace: bool) -> int:
    """Add a folder holding a model's config.json to .distillplan/students.toml (repository root)."""
    from distillplan.commands import catalog as command  # deferred: start-up imports only the command that runs

    return command.run_add(path, name, replace=replace)


_SPEC_ARG = click.argument("spec", required=False, default="distill.toml", type=click.Path(path_type=Path))


_STALE_WARNING = click.option(
    "--stale-warning/--no-stale-warning",
    default=True,
    help="Warn on stderr about the prices used: older than [policy] price_staleness_months, a teacher "
    "retired or shutting down, prices from third parties only.",
)


@cli.command()
@_SPEC_ARG
@click.option("--format", "fmt", type=_FORMATS, default="text", show_default=True, help="Report format.")
@click.option("--color/--no-color", default=None, help="Colour the text report (default: on a terminal).")
@_STALE_WARNING
def plan(spec: Path, fmt: str, color: bool | None, stale_warning: bool) -> int:
    """Verdict, cost lines with their formulas, payback and GPU sizing."""
    from distillplan.commands import plan as command  # deferred: start-up imports only the command that runs

    return command.run(spec, fmt=fmt, color=color, stale_warning=stale_warning)  # type: ignore[arg-type]  # click.Choice checked it


def _gpu_choice() -> click.Choice[str]:
    from distillplan.catalogs.gpus import gpu_names  # deferred: start-up reads no data file

    return click.Choice(list(gpu_names()))


@cli.command()
@_SPEC_ARG
@click.option("--format", "fmt", type=_FORMATS, default="text", show_default=True, help="Report format.")
@click.option("--student", "students", multiple=True, help="Student (catalog hub id or local folder); repeatable.")
@click.option("--precision", "precisions", multiple=True, type=click.Choice(PRECISIONS), help="Repeatable.")
@click.option("--gpu", "gpus", multiple=True, help="GPU from the catalog; repeatable.")
@click.option("--method", "methods", multiple=True, type=click.Choice(METHODS), help="Repeatable.")
@_STALE_WARNING
def compare(
    spec: Path,
    fmt: str,
    students: tuple[str, ...],
    precisions: tuple[str, ...],
    gpus: tuple[str, ...],
    methods: tuple[str, ...],
    stale_warning: bool,
) -> int:
    """Every student x precision x GPU x method, ranked by payback ([compare] or the flags
    choose the axes; default: the whole catalog)."""
    from distillplan.commands import compare as command  # deferred: start-up imports only the command that runs

    choice = _gpu_choice()
    checked = tuple(choice.convert(g, None, None) for g in gpus)
    return command.run(
        spec,
        fmt=fmt,  # type: ignore[arg-type]  # click.Choice checked it
        students=students,
        precisions=precisions,  # type: ignore[arg-type]  # click.Choice checked it
        gpus=checked,
        methods=methods,  # type: ignore[arg-type]  # click.Choice checked it
        stale_warning=stale_warning,
    )


@cli.command()
@_SPEC_ARG
@click.option("--pretend", is_flag=True, help="List what would change; write nothing.")
@click.option("--diff", "show_diff", is_flag=True, help="Show the unified diff of what would change; write nothing.")
@click.option(
    "--check",
    "check_only",
    is_flag=True,
    help="Write nothing; exit 1 when a generated file is missing, stale or edited.",
)
@click.option("--force", is_flag=True, help="Overwrite generated files a person has edited.")
@_STALE_WARNING
def scaffold(spec: Path, pretend: bool, show_diff: bool, check_only: bool, force: bool, stale_warning: bool) -> int:
    """Write the eval, training and serving configs, the proposal and the contract."""
    from distillplan.commands import scaffold as command  # deferred: start-up imports only the command that runs

    return command.run(
        spec, pretend=pretend, diff=show_diff, check=check_only, force=force, stale_warning=stale_warning
    )


@cli.group("prices")
def prices() -> None:
    """The repository's teacher price file (.distillplan/prices.toml; docs/prices.md)."""


@prices.command("update")
@click.option(
    "--from",
    "source",
    default="litellm",
    show_default=True,
    help="The price map: 'litellm' (the JSON inside the installed litellm), a file, or an http or https URL.",
)
@click.option("--dry-run", is_flag=True, help="Show what would change; write nothing.")
def prices_update(source: str, dry_run: bool) -> int:
    """Write .distillplan/prices.toml from a maintained price map and show what changed."""
    from distillplan.commands import prices as command  # deferred: start-up imports only the command that runs

    return command.run_update(source, dry_run=dry_run)


@cli.group("teacher-data")
def teacher_data() -> None:
    """The teacher's training data through its batch API (P1.1): requests out, TRL JSONL back."""


@teacher_data.command("requests")
@_SPEC_ARG
def teacher_data_requests(spec: Path) -> int:
    """Write the batch request files (OpenAI Batch API or Anthropic Message Batches) from [teacher_data].inputs."""
    from distillplan.commands import teacher_data as command  # deferred: start-up imports only the command that runs

    return command.run_requests(spec)


@teacher_data.command("collect")
@click.argument("results", nargs=-1, required=True, type=click.Path(path_type=Path, dir_okay=False))
@click.option("--spec", "spec", default="distill.toml", show_default=True, type=click.Path(path_type=Path))
def teacher_data_collect(results: tuple[Path, ...], spec: Path) -> int:
    """Turn the vendor's batch RESULTS into the TRL prompt-completion JSONL that training/sft.yaml reads."""
    from distillplan.commands import teacher_data as command  # deferred: start-up imports only the command that runs

    return command.run_collect(spec, results)


@cli.command()
@_SPEC_ARG
@click.option("--reason", help="Why the eval set changed (needed to re-lock: a change of contract).")
@click.option(
    "--teacher-predictions",
    type=click.Path(path_type=Path, dir_okay=False),
    help="Measure the teacher baseline (overall and per stratum) from its predictions on the set.",
)
def lock(spec: Path, reason: str | None, teacher_predictions: Path | None) -> int:
    """Hash the eval set and fix the teacher baseline in distill.lock (P2.3: lock the eval first)."""
    from distillplan.commands import lock as command  # deferred: start-up imports only the command that runs

    return command.run(spec, reason=reason, teacher_predictions=teacher_predictions)


@cli.command()
@click.argument("specs", nargs=-1, type=click.Path(path_type=Path))
def check(specs: tuple[Path, ...]) -> int:
    """Validate, verify the eval lock and the generated files (the pre-commit hook)."""
    from distillplan.commands import check as command  # deferred: start-up imports only the command that runs

    return command.run(specs)


@cli.command()
@_SPEC_ARG
@click.option(
    "--predictions",
    required=True,
    type=click.Path(path_type=Path, dir_okay=False),
    help="The student's predictions: JSONL with id and prediction.",
)
@click.option(
    "--teacher-predictions",
    type=click.Path(path_type=Path, dir_okay=False),
    help="Add a paired CI of the gap to the teacher now (information only: never moves a threshold).",
)
@click.option("--format", "fmt", type=_FORMATS, default="text", show_default=True)
def accept(spec: Path, predictions: Path, teacher_predictions: Path | None, fmt: str) -> int:
    """The contract's acceptance test (P9.2): PASS exits 0, FAIL exits 4, cannot score exits 1."""
    from distillplan.commands import accept as command  # deferred: start-up imports only the command that runs

    return command.run(spec, predictions=predictions, teacher_predictions=teacher_predictions, fmt=fmt)


@cli.command()
@_SPEC_ARG
@click.option(
    "--samples",
    "samples",
    required=True,
    multiple=True,
    type=click.Path(path_type=Path),
    help="Sampled production rows (JSONL: id, timestamp, segment, student, teacher, optional reference), "
    "or a folder of *.jsonl files read in name order; repeatable.",
)
@click.option("--format", "fmt", type=_FORMATS, default="text", show_default=True)
def monitor(spec: Path, samples: tuple[Path, ...], fmt: str) -> int:
    """Weekly teacher-on-sample drift check (P8.2): 0 within, 5 undecided, 4 breach, 1 unusable input."""
    from distillplan.commands import monitor as command  # deferred: start-up imports only the command that runs

    return command.run(spec, samples=list(samples), fmt=fmt)


@cli.command()
@click.argument("revs", nargs=-1, required=True, metavar="BASE [HEAD] [SPEC]")
@click.option("--spec", "spec_opt", type=click.Path(path_type=Path), help="The spec (instead of a SPEC argument).")
@click.option(
    "--format", "fmt", type=click.Choice(["text", "json", "markdown", "github"]), default="text", show_default=True
)
@click.option(
    "--fail-on",
    "fail_on",
    multiple=True,
    metavar="COND",
    help="Exit 6 when COND holds (repeatable): verdict-change, payback-months>N, run-rate-increase>N% or >$N, "
    "budget-increase>N% or >$N, contract-change, lock-change-without-reason. [policy.guardrails] adds more.",
)
def diff(revs: tuple[str, ...], spec_opt: Path | None, fmt: str, fail_on: tuple[str, ...]) -> int:
    """The plan at revision BASE against HEAD (default: the working tree), like `infracost diff`.

    In a pull request BASE is the merge base: `distillplan diff "$(git merge-base origin/main HEAD)"`.
    Exit 0, or 6 when a guardrail is breached.
    """
    from distillplan.commands import diff as command  # deferred: start-up imports only the command that runs

    return command.run(revs, fmt, spec_opt=spec_opt, fail_on=fail_on)


def _json_output(args: Sequence[str]) -> bool:
    """``--format json`` (or ``--format=json``) among ``args``."""
    return "--format=json" in args or any(a == "--format" and b == "json" for a, b in pairwise(args))


def run_click(args: Sequence[str]) -> int:
    """Parse ``args`` with click and run the command; click's own exceptions become exit codes
    here, everything else is left to :func:`distillplan.main.guarded`."""
    try:
        with silenced(_json_output(args)):  # output for a program: no progress line, even on a terminal
            rv: Any = cli.main(args=list(args), prog_name="distillplan", standalone_mode=False)
    except click.exceptions.Exit as e:
        return int(e.exit_code)
    except click.exceptions.Abort:
        raise KeyboardInterrupt from None
    except click.ClickException as e:
        e.show()
        return int(e.exit_code)
    return rv if isinstance(rv, int) else 0
