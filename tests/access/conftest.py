"""The access tests' world, built once per test module inside a transaction that is rolled back at the end
(each test rolls back its own writes in a savepoint, see matrix.py)."""
import pytest
from django.db import transaction
from django.test import override_settings

from workflows.workdays import clear_cache

from .world import World


@pytest.fixture(scope="module")
def world(django_db_setup, django_db_blocker, tmp_path_factory):
    storage = tmp_path_factory.mktemp("private")
    with override_settings(PRIVATE_STORAGE_ROOT=storage, PUBLIC_BASE_URL="https://kexie.example"), \
            django_db_blocker.unblock():
        with transaction.atomic():
            yield World(storage)
            transaction.set_rollback(True)
        clear_cache()  # the world entered a calendar year
