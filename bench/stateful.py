"""The engine's model-based test at length: thousands of random examples (tests/approvals/stateful.py),
in runs of a few hundred so that one violation does not end the count. Each run is the CI test with more
examples and random draws. Prints a table, then `stateful_examples=` and `invariant_violations=` last.

    .venv/bin/python bench/stateful.py                 # 2,000 examples on SQLite
    .venv/bin/python bench/stateful.py --examples 4000 --per-run 500
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/bench .venv/bin/python bench/stateful.py
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--examples", type=int, default=2000)
    parser.add_argument("--per-run", type=int, default=250)
    parser.add_argument("--steps", type=int, default=50)
    args = parser.parse_args()
    total = violations = steps = deliveries = 0
    started = time.monotonic()
    print(f"{'run':>4} {'examples':>9} {'steps':>7} {'effects':>8} {'seconds':>8}  result")
    run = 0
    while total < args.examples:
        run += 1
        with tempfile.TemporaryDirectory() as tmp:
            report = Path(tmp) / "report.json"
            env = {**os.environ, "STATEFUL_EXAMPLES": str(min(args.per_run, args.examples - total)),
                   "STATEFUL_STEPS": str(args.steps), "STATEFUL_RANDOM": "1", "STATEFUL_REPORT": str(report)}
            t0 = time.monotonic()
            subprocess.run([sys.executable, "-m", "pytest", "-q", "-x", "-p", "no:cacheprovider",
                            "tests/approvals/test_stateful.py"], cwd=ROOT, env=env, capture_output=True, text=True)
            result = json.loads(report.read_text()) if report.exists() else {"examples": 0, "steps": 0,
                                                                              "violation": "the run did not report"}
        total += result["examples"]
        steps += result["steps"]
        deliveries += result.get("deliveries", 0)
        violations += result["violation"] is not None
        print(f"{run:>4} {result['examples']:>9} {result['steps']:>7} {result.get('deliveries', 0):>8} "
              f"{time.monotonic() - t0:>8.1f}  "
              f"{result['violation'] or 'ok'}")
        if result["examples"] == 0:
            break
    print(f"total: {total} examples, {steps} steps, {deliveries} effect deliveries in {time.monotonic() - started:.0f} s")
    print(f"stateful_examples={total}")
    print(f"invariant_violations={violations}")
    return 1 if violations else 0


if __name__ == "__main__":
    raise SystemExit(main())
