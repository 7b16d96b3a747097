"""Printing tests: the approvals test world, issued PDFs kept in a temporary private storage, and a
public base URL for the QR codes."""
import pytest

from tests.approvals.conftest import World, world  # noqa: F401  (the `world` fixture)


@pytest.fixture(autouse=True)
def private_storage(settings, tmp_path):
    settings.PRIVATE_STORAGE_ROOT = tmp_path / "private"
    settings.PUBLIC_BASE_URL = "https://kexie.example"
    return settings.PRIVATE_STORAGE_ROOT


@pytest.fixture
def signing_keys(world, private_storage):  # noqa: F811 (the imported fixture)
    """Signing keys for the Anhui province and the Chuzhou city 科协 under a local CA (printing.demo_ca)."""
    from printing.demo_ca import demo_signing_key

    return {name: demo_signing_key(world.org[name]) for name in ("anhui", "chuzhou")}
