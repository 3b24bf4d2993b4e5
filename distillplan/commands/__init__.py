"""One module per command of the command line (pre-commit's ``commands/``): each ``run``
takes plain arguments, calls the core, prints through :mod:`distillplan.commands._io` and
returns the exit code. No click here; :mod:`distillplan.cli` parses, these run."""
