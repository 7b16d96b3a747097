"""The engine's model-based test (tests/approvals/stateful.py), bounded for CI; bench/stateful.py runs
thousands of examples."""
import json
import os
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings
from hypothesis.stateful import run_state_machine_as_test

from . import stateful
from .conftest import World

EXAMPLES = int(os.environ.get("STATEFUL_EXAMPLES", "15"))
STEPS = int(os.environ.get("STATEFUL_STEPS", "50"))


@pytest.fixture(autouse=True)
def _private_storage(settings, tmp_path):
    settings.PRIVATE_STORAGE_ROOT = tmp_path / "private"


@pytest.mark.django_db
def test_random_sequences_keep_every_invariant():
    stateful.WORLD = World()
    stateful.EngineMachine.examples_run = stateful.EngineMachine.steps_run = stateful.EngineMachine.deliveries = 0
    failure = None
    try:
        run_state_machine_as_test(stateful.EngineMachine, settings=settings(
            max_examples=EXAMPLES, stateful_step_count=STEPS, deadline=None,
            # CI runs the same examples every time; the bench draws new ones (STATEFUL_SEED unset there).
            derandomize=not os.environ.get("STATEFUL_RANDOM"),
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much],
        ))
    except Exception as exc:  # reported below, then raised
        failure = exc
    report = os.environ.get("STATEFUL_REPORT")
    if report:
        Path(report).write_text(json.dumps({
            "examples": stateful.EngineMachine.examples_run, "steps": stateful.EngineMachine.steps_run,
            "deliveries": stateful.EngineMachine.deliveries,
            "violation": None if failure is None else f"{type(failure).__name__}: {failure}"[:4000],
        }))
    if failure is not None:
        raise failure
