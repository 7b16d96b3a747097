"""The API tests' shared fixtures: the engine tests' world (tests/approvals/conftest.py) with its own private
storage, and the schema as the server serves it."""
import pytest
from rest_framework.test import APIClient

from tests.approvals.conftest import World


@pytest.fixture
def world(db, settings, tmp_path):
    settings.PRIVATE_STORAGE_ROOT = tmp_path / "private"
    return World()


@pytest.fixture
def schema(db):
    response = APIClient().get("/api/v1/schema/?format=json")
    assert response.status_code == 200
    return response.json()
