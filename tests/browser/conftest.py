"""Browser tests: Playwright's sync API driving Debian's chromium against pytest-django's live server.

The Playwright browser download does not work here, so the browser is /usr/bin/chromium (installed by
`make setup`). Without it the tests are skipped on a developer machine and fail in CI (env CI set).
Screenshots go to test-artifacts/browser/ (git-ignored; TEST_ARTIFACTS_DIR names another folder, as CI does
for the PostgreSQL run beside the SQLite one) and are kept after the run.
"""
import os
import re
from pathlib import Path

import pytest
from playwright.sync_api import expect

from tests.approvals.conftest import World

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--no-first-run",
]
ARTIFACTS = Path(os.environ.get("TEST_ARTIFACTS_DIR") or Path(__file__).resolve().parents[2] / "test-artifacts" / "browser")
# CI runs the SQLite and PostgreSQL suites side by side on two cores: assertions wait as long as actions do.
expect.set_options(timeout=20_000)


def _require_chromium():
    if os.path.exists(CHROMIUM):
        return
    if os.environ.get("CI"):
        pytest.fail(f"{CHROMIUM} is missing; `make setup` installs Debian's chromium for the browser tests")
    pytest.skip(f"{CHROMIUM} is missing (install Debian's chromium with `make setup`); browser tests skipped")


@pytest.fixture
def browser(monkeypatch):
    """Chromium, launched through Playwright's sync API.

    That API keeps an asyncio loop running in this thread while it is open, and Django then (1) refuses
    ORM calls as "async context" and (2) keeps the database connections of those calls apart from the
    thread's own (asgiref's thread-critical Local turns into a context variable when a loop runs). The
    test's ORM calls are plain synchronous ones, so the check is lifted while the browser is open, and
    the connections they opened are closed before the loop stops (they would be unreachable afterwards
    and keep PostgreSQL from dropping the test database)."""
    _require_chromium()
    from django.db import connections
    from playwright.sync_api import sync_playwright

    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()
            connections.close_all()


@pytest.fixture
def world(transactional_db):
    """The approvals test world (committed, so the live server's thread sees it)."""
    return World()


@pytest.fixture(autouse=True)
def private_storage(settings, tmp_path):
    settings.PRIVATE_STORAGE_ROOT = tmp_path / "private"
    return settings.PRIVATE_STORAGE_ROOT


@pytest.fixture(scope="session")
def artifacts():
    """The screenshot folder, emptied of the previous run's pictures."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    for old in ARTIFACTS.glob("*.png"):
        old.unlink()
    return ARTIFACTS


class Screenshots:
    """Full-page screenshots numbered in the order they are taken: NN-<role>-<page>.png."""

    def __init__(self, folder: Path):
        self.folder, self.count, self.taken = folder, 0, []

    def __call__(self, page, role: str, name: str) -> Path:
        self.count += 1
        path = self.folder / f"{self.count:02d}-{role}-{re.sub(r'[^a-z0-9_]+', '-', name)}.png"
        page.screenshot(path=str(path), full_page=True)
        self.taken.append(path)
        return path


@pytest.fixture
def shoot(artifacts):
    return Screenshots(artifacts)
