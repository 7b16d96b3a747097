"""bench/load.py's arguments and its split of users into roles (the load itself is a benchmark, not a test)."""
import importlib.util
from pathlib import Path

import pytest

SPEC = importlib.util.spec_from_file_location("bench_load", Path(__file__).resolve().parents[2] / "bench" / "load.py")
load = importlib.util.module_from_spec(SPEC)
SPEC.loader.exec_module(load)


@pytest.mark.parametrize("users", [7, 8, 50, 199, 200, 1000])
def test_role_counts_sum_to_the_users_with_every_role(users):
    counts = load.role_counts(users)
    assert sum(counts.values()) == users
    assert set(counts) == set(load.ROLE_MIX)
    assert min(counts.values()) >= 1


def test_role_counts_follow_the_mix():
    counts = load.role_counts(1000)
    assert counts["clerk"] == 300 and counts["public"] == 150 and counts["province_leader"] == 70


def test_defaults_and_think_time():
    args = load.parse_args([])
    assert (args.users, args.web, args.workers, args.think_min, args.think_max) == (200, 4, 2, 1.0, 4.0)
    assert args.drain_timeout == 60.0
    faults = load.parse_args(["--faults", "--think", "0.5-2"])
    assert (faults.drain_timeout, faults.think_min, faults.think_max) == (420.0, 0.5, 2.0)


@pytest.mark.parametrize("argv", [["--think", "x"], ["--think", "3-1"], ["--users", "3"], ["--duration", "0"],
                                  ["--max-requests", "-1"]])
def test_bad_arguments_are_refused(argv, capsys):
    with pytest.raises(SystemExit) as exc:
        load.parse_args(argv)
    assert exc.value.code == 2
    assert "error" in capsys.readouterr().err


def test_nearest_rank():
    values = list(range(1, 101))
    assert (load.nearest_rank(values, 0.5), load.nearest_rank(values, 0.95), load.nearest_rank(values, 0.99)) == (50, 95, 99)
