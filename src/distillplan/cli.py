"""The command line: click commands only. Each parses options, calls one core function,
prints, and returns an exit code. :func:`main` maps exceptions to exit codes:
user error 1, usage 2, internal bug 3, interrupt 130 (pre-commit's ``error_handler``)."""

from __future__ import annotations

import json
import sys
import traceback
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import click

from distillplan import __version__
from distillplan.errors import DistillError, SpecError

EXIT_OK, EXIT_USER, EXIT_USAGE, EXIT_BUG, EXIT_INTERRUPT = 0, 1, 2, 3, 130
_SPEC_HELP = "A distill.toml, or a folder holding one (default: ./distill.toml)."
_FORMATS = click.Choice(["text", "json", "markdown"])


def _echo(text: str, *, err: bool = False) -> None:
    click.echo(text, err=err)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, "--version", prog_name="distillplan")
@click.option("--verbose", "-v", is_flag=True, help="Show tracebacks of internal errors.")
def cli(verbose: bool) -> None:
    """Plan an LLM distillation project from one distill.toml."""


@cli.command()
@click.argument("specs", nargs=-1, type=click.Path(path_type=Path))
@click.option("--quiet", "-q", is_flag=True, help="Print only problems.")
def validate(specs: tuple[Path, ...], quiet: bool) -> int:
    """Report every problem of every SPEC as PATH:LINE:COL: key: message."""
    from distillplan.loader import load_spec

    failed = False
    for arg in specs or (Path("distill.toml"),):
        try:
            sf = load_spec(arg)
        except SpecError as e:
            failed = True
            _echo(str(e), err=True)
        else:
            if not quiet:
                _echo(f"{sf.display}: ok")
    return EXIT_USER if failed else EXIT_OK


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


def _verbose(argv: Sequence[str]) -> bool:
    for a in argv:
        if a == "--":
            return False
        if a in ("--verbose", "-v"):
            return True
    return False


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``distillplan`` console script and ``python -m distillplan``."""
    args = list(sys.argv[1:] if argv is None else argv)
    try:
        rv: Any = cli.main(args=args, prog_name="distillplan", standalone_mode=False)
    except click.exceptions.Exit as e:
        return int(e.exit_code)
    except (click.exceptions.Abort, KeyboardInterrupt):
        _echo("distillplan: interrupted", err=True)
        return EXIT_INTERRUPT
    except click.ClickException as e:
        e.show()
        return int(e.exit_code)
    except DistillError as e:
        _echo(str(e), err=True)
        return e.exit_code
    except BrokenPipeError:
        return EXIT_USER
    except Exception as e:  # the top-level handler: anything else is a bug
        if _verbose(args):
            traceback.print_exc()
        _echo(
            f"distillplan: internal error: {type(e).__name__}: {e}. This is a bug; please report it "
            "with the command you ran (add --verbose for the traceback).",
            err=True,
        )
        return EXIT_BUG
    return rv if isinstance(rv, int) else EXIT_OK
