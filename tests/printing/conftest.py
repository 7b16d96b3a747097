"""Printing tests: the approvals test world, issued PDFs kept in a temporary private storage, a public base
URL for the QR codes, and a fixed clock for the documents whose pictures are compared."""
import pytest
import time_machine

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


@pytest.fixture
def frozen():
    """A fixed clock for the whole test (tests.printing.layout_data.FIXED_NOW); request it before
    ``world``, or use ``frozen_world``."""
    from .layout_data import FIXED_NOW

    with time_machine.travel(FIXED_NOW, tick=False):
        yield


@pytest.fixture
def frozen_world(frozen, world):  # noqa: F811 (the imported fixture)
    """The world, built at the fixed time."""
    return world
