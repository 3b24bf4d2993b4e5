"""Parse every golden proposal chart with Mermaid's own parser, and record the version and date.

    python tests/check_mermaid.py [VERSION]      # default: the latest mermaid on the npm registry

Mermaid runs in node with a DOM (about 150 MB of npm packages): too heavy for CI here, where
test_templates checks the chart's grammar by pattern. This script installs mermaid and jsdom into a
temporary folder, runs `mermaid.parse` on each chart of tests/golden/*/distill/docs/proposal.md (and on a
broken chart, which must fail), and writes the outcome to tests/mermaid_parsed.txt. Review, then commit.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
PARSE_MJS = """\
import { JSDOM } from "jsdom";
import { readFileSync } from "node:fs";
const dom = new JSDOM("<!doctype html><html><body></body></html>");
globalThis.window = dom.window;
globalThis.document = dom.window.document;
const { default: mermaid } = await import("mermaid");
const out = {};
for (const file of process.argv.slice(2)) {
  try { out[file] = (await mermaid.parse(readFileSync(file, "utf8"))).diagramType; }
  catch (e) { out[file] = "ERROR " + e.message.split("\\n").join(" "); }
}
console.log(JSON.stringify(out));
"""
BROKEN = 'xychart-beta\n    x-axis "Months" [0, 1\n    line [1, 2]\n'


def main(version: str) -> int:
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        (work / "package.json").write_text('{"name": "chart-check", "private": true, "type": "module"}\n')
        npm = ["npm", "install", "--silent", "--no-audit", "--no-fund", f"mermaid@{version}", "jsdom"]
        subprocess.run(npm, cwd=work, check=True)
        installed = json.loads((work / "node_modules/mermaid/package.json").read_text())["version"]
        (work / "parse.mjs").write_text(PARSE_MJS)
        charts: dict[str, str] = {}
        for proposal in sorted(HERE.glob("golden/*/distill/docs/proposal.md")):
            block = re.search(r"```mermaid\n(.*?)```", proposal.read_text(), re.S)
            assert block, proposal
            name = proposal.relative_to(HERE).as_posix()
            (work / f"{len(charts)}.mmd").write_text(block.group(1))
            charts[f"{len(charts)}.mmd"] = name
        (work / "broken.mmd").write_text(BROKEN)
        run = subprocess.run(["node", "parse.mjs", *charts, "broken.mmd"], cwd=work, capture_output=True, text=True)
        result = json.loads(run.stdout)
    if not result["broken.mmd"].startswith("ERROR"):
        raise SystemExit("the broken chart parsed: the check cannot fail, not recording")
    bad = {charts[f]: r for f, r in result.items() if f in charts and r != "xychart"}
    if bad:
        raise SystemExit("\n".join(f"{name}: {r}" for name, r in bad.items()))
    lines = [
        f"# mermaid {installed} (npm, with jsdom) parsed these charts as xychart on {dt.date.today().isoformat()}",
        "# (tests/check_mermaid.py; a deliberately broken chart was refused in the same run).",
        *sorted(charts.values()),
    ]
    (HERE / "mermaid_parsed.txt").write_text("\n".join(lines) + "\n")
    print(f"mermaid {installed}: {len(charts)} charts parse")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else "latest"))
