"""Designation tests: the approvals test world, and issued PDFs kept in a temporary private storage."""
import pytest

from tests.approvals.conftest import World, world  # noqa: F401  (the `world` fixture)


@pytest.fixture(autouse=True)
def private_storage(settings, tmp_path):
    settings.PRIVATE_STORAGE_ROOT = tmp_path / "private"
    settings.PUBLIC_BASE_URL = "https://kexie.example"
    return settings.PRIVATE_STORAGE_ROOT


@pytest.fixture
def follow_up(world):  # noqa: F811 (the imported fixture)
    """The programs' annual report forms (designations/fixtures/follow_up.json), as load_programs loads them."""
    from django.core.management import call_command

    call_command("loaddata", "follow_up", verbosity=0)
