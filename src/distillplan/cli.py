"""The command line: click commands only. Each parses options, calls one core function,
prints, and returns an exit code. :func:`main` maps exceptions to exit codes:
user error 1, usage 2, internal bug 3, interrupt 130 (pre-commit's ``error_handler``)."""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import click

from distillplan import __version__
from distillplan.entry import EXIT_OK, EXIT_USER, run_check, run_validate

_FORMATS = click.Choice(["text", "json", "markdown"])


def _echo(text: str, *, err: bool = False) -> None:
    click.echo(text, err=err)


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
    return run_validate(specs, quiet=quiet)


@cli.command()
def schema() -> int:
    """Print the JSON Schema of distill.toml (for editors and check-jsonschema)."""
    from distillplan.spec import json_schema

    _echo(json.dumps(json_schema(), indent=2, sort_keys=True))
    return EXIT_OK


@cli.command()
@click.argument("folder", required=False, type=click.Path(path_type=Path, file_okay=False))
@click.option("--force", is_flag=True, help="Overwrite an existing distill.toml.")
def init(folder: Path | None, force: bool) -> int:
    """Write a commented starter distill.toml that validates."""
    from distillplan.starter import write_starter

    path = write_starter(folder or Path("."), force=force)
    _echo(f"wrote {path}: fill in [project], [workload], [teacher] and [eval], then run `distillplan plan`")
    return EXIT_OK


@cli.command()
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
def catalog(fmt: str) -> int:
    """List the bundled student models, GPUs and teacher prices, with sources."""
    from distillplan.catalog import render_catalog

    _echo(render_catalog(fmt))
    return EXIT_OK


_SPEC_ARG = click.argument("spec", required=False, default="distill.toml", type=click.Path(path_type=Path))


@cli.command()
@_SPEC_ARG
@click.option("--format", "fmt", type=_FORMATS, default="text", show_default=True, help="Report format.")
@click.option("--color/--no-color", default=None, help="Colour the text report (default: on a terminal).")
def plan(spec: Path, fmt: str, color: bool | None) -> int:
    """Verdict, cost lines with their formulas, payback and A100 sizing."""
    from distillplan.loader import load_spec
    from distillplan.plan import plan_for_file
    from distillplan.report import render

    result = plan_for_file(load_spec(spec))
    use_color = sys.stdout.isatty() if color is None else color
    click.echo(render(result, fmt, color=use_color and fmt == "text"), nl=False)  # type: ignore[arg-type]  # click.Choice checked it
    return EXIT_OK


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
def scaffold(spec: Path, pretend: bool, show_diff: bool, check_only: bool, force: bool) -> int:
    """Write the eval, training and serving configs, the proposal and the contract."""
    from distillplan.scaffold import run_scaffold_cli

    code, text = run_scaffold_cli(spec, pretend=pretend, diff=show_diff, check=check_only, force=force)
    if text:
        _echo(text.rstrip("\n"))
    return code


@cli.command()
@_SPEC_ARG
@click.option("--reason", help="Why the eval set changed (needed to re-lock: a change of contract).")
def lock(spec: Path, reason: str | None) -> int:
    """Hash the eval set into distill.lock (P2.3: lock the eval first)."""
    from distillplan.actions import lock as lock_action
    from distillplan.loader import load_spec

    _echo(lock_action(load_spec(spec), reason=reason))
    return EXIT_OK


@cli.command()
@click.argument("specs", nargs=-1, type=click.Path(path_type=Path))
def check(specs: tuple[Path, ...]) -> int:
    """Validate, verify the eval lock and the generated files (the pre-commit hook)."""
    return run_check(specs)


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
    help="Measure the teacher on the same set instead of using eval.teacher_score.",
)
@click.option("--format", "fmt", type=_FORMATS, default="text", show_default=True)
def accept(spec: Path, predictions: Path, teacher_predictions: Path | None, fmt: str) -> int:
    """The contract's acceptance test (P9.2): PASS exits 0, FAIL exits 1."""
    from distillplan.actions import accept as accept_action
    from distillplan.loader import load_spec

    outcome = accept_action(load_spec(spec), predictions=predictions, teacher_predictions=teacher_predictions, fmt=fmt)
    _echo(outcome.text)
    return EXIT_OK if outcome.passed else EXIT_USER


@cli.command()
@click.argument("rev")
@_SPEC_ARG
@click.option("--format", "fmt", type=_FORMATS, default="text", show_default=True)
def diff(rev: str, spec: Path, fmt: str) -> int:
    """The plan at git revision REV against the working tree (like `infracost diff`)."""
    from distillplan.diff import run_diff

    click.echo(run_diff(spec, rev, fmt), nl=False)
    return EXIT_OK


def run_click(args: Sequence[str]) -> int:
    """Parse ``args`` with click and run the command; click's own exceptions become exit codes
    here, everything else is left to :func:`distillplan.entry.guarded`."""
    try:
        rv: Any = cli.main(args=list(args), prog_name="distillplan", standalone_mode=False)
    except click.exceptions.Exit as e:
        return int(e.exit_code)
    except click.exceptions.Abort:
        raise KeyboardInterrupt from None
    except click.ClickException as e:
        e.show()
        return int(e.exit_code)
    return rv if isinstance(rv, int) else EXIT_OK


def main(argv: Sequence[str] | None = None) -> int:
    """The console script's entry point (kept here for ``python -m distillplan`` and tests)."""
    from distillplan.entry import main as entry_main

    return entry_main(argv)
