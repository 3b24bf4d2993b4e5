"""``distillplan schema``: the JSON Schema of ``distill.toml`` (editors, check-jsonschema)."""

from __future__ import annotations

import json

from distillplan.commands._io import EXIT_OK, say
from distillplan.spec.models import json_schema


def run() -> int:
    say(json.dumps(json_schema(), indent=2, sort_keys=True))
    return EXIT_OK
