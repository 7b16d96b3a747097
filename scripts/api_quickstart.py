#!/usr/bin/env python3
"""Run the curl quick start of docs/api.md: every ```sh block of its "Quick start" section, in order, as one
bash script (set -euo pipefail) in a scratch directory. HOST, USERNAME and PASSWORD come from the
environment. Exit status: the script's. Used by CI (scripts/api_check.sh) and tests/api/test_quickstart.py."""
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

DOC = Path(__file__).resolve().parent.parent / "docs" / "api.md"


def quickstart_blocks(text: str) -> list[str]:
    """The shell blocks of the section headed "## Quick start", in the order written."""
    section = re.search(r"^## Quick start.*?$(.*?)(?=^## )", text, flags=re.M | re.S)
    if section is None:
        raise SystemExit(f"{DOC}: no '## Quick start' section")
    blocks = re.findall(r"^```sh\n(.*?)^```$", section.group(1), flags=re.M | re.S)
    if not blocks:
        raise SystemExit(f"{DOC}: the quick start has no ```sh blocks")
    return blocks


def script() -> str:
    return "set -euo pipefail\n" + "\n".join(quickstart_blocks(DOC.read_text(encoding="utf-8")))


def run(env: dict | None = None, timeout: int = 300) -> subprocess.CompletedProcess:
    with tempfile.TemporaryDirectory() as scratch:
        return subprocess.run(["bash", "-c", script()], cwd=scratch, env={**os.environ, **(env or {})},
                              capture_output=True, text=True, timeout=timeout)


if __name__ == "__main__":
    done = run()
    sys.stdout.write(done.stdout)
    sys.stderr.write(done.stderr)
    sys.exit(done.returncode)
