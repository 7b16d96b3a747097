"""Designation tests: the approvals test world, and issued PDFs kept in a temporary private storage."""
import pytest

from tests.approvals.conftest import World, world  # noqa: F401  (the `world` fixture)


@pytest.fixture(autouse=True)
def private_storage(settings, tmp_path):
    settings.PRIVATE_STORAGE_ROOT = tmp_path / "private"
    settings.PUBLIC_BASE_URL = "https://kexie.example"
    return settings.PRIVATE_STORAGE_ROOT
