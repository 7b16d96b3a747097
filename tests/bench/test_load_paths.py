"""Every path the load test's simulated users call exists: a retired or renamed URL would otherwise show up
only as a run in which every transition is a 404 (it happened when the API moved under /api/v1/)."""
import re
from pathlib import Path

import pytest
from django.urls import Resolver404, resolve

SOURCE = (Path(__file__).resolve().parents[2] / "bench" / "load_users.py").read_text()
# The paths requested (send, page, call, call_public): an f-string field naming the action becomes a real
# action, any other field an id-like segment. The static file is served by whitenoise, not by a URL pattern.
REQUESTED = re.findall(r'(?:send|page|call|call_public)\([^)]*?f?"(/[a-z][^"]*)"', SOURCE)
PATHS = sorted({re.sub(r"\{[^}]*\}", "1", re.sub(r"\{action[^}]*\}", "submit", p)).split("?")[0]
                for p in REQUESTED if not p.startswith("/static/")})


def test_the_load_test_calls_some_paths():
    assert any(p.startswith("/api/v1/") for p in PATHS) and len(PATHS) >= 10


@pytest.mark.parametrize("path", PATHS)
def test_every_path_of_the_load_test_resolves(path):
    try:
        resolve(path)
    except Resolver404:
        pytest.fail(f"bench/load_users.py calls {path}, which no URL pattern serves")
