"""Two clerks save the same draft at the same instant, 20 rounds, on PostgreSQL (threads, one connection
each, real row locks): each round one save lands and the other gets 409 with the current version, and
after the loser saves again on that version both changes are there and no other key was touched."""
import threading

import pytest
from django.db import connection
from rest_framework.test import APIClient

from approvals.models import Application
from orgs.models import Membership
from orgs.services import member_display_name
from tests.factories import UserFactory

from .chain import create
from .conftest import station_form

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.skipif(connection.vendor != "postgresql", reason="row-lock concurrency needs PostgreSQL"),
    pytest.mark.django_db(transaction=True),
]

ROUNDS = 20


def api(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def patch_together(calls) -> list:
    barrier = threading.Barrier(len(calls))
    outcomes = [None] * len(calls)

    def worker(index, call):
        try:
            connection.ensure_connection()
            barrier.wait(timeout=30)
            outcomes[index] = call()
        except BaseException as exc:  # noqa: BLE001 - inspected below
            outcomes[index] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=worker, args=(i, call)) for i, call in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return outcomes


def test_two_simultaneous_saves_one_lands_one_409_nothing_lost(world):
    draft = create(world, "society-service-station")
    second = UserFactory(username="langya_clerk2", first_name=member_display_name(world.org["langya"], "clerk", 2))
    Membership.objects.create(user=second, organization=world.org["langya"], role="clerk")
    clients = {"phone": api(world.user["langya_clerk"]), "contact_person": api(second)}
    path = f"/api/v1/applications/{draft.pk}/"
    untouched = {k: v for k, v in station_form().items() if k not in clients}
    statuses = []
    for round_ in range(ROUNDS):
        etag = clients["phone"].get(path)["ETag"]
        values = {"phone": f"0550-{round_:07d}", "contact_person": f"联系人{round_}"}
        responses = patch_together([
            lambda key=key, value=values[key], etag=etag: clients[key].patch(
                path, {"form_data": {key: value}}, format="json", HTTP_IF_MATCH=etag)
            for key in clients
        ])
        codes = sorted(r.status_code for r in responses)
        statuses.append(codes)
        assert codes == [200, 409], responses
        winner, loser = sorted(zip(clients, responses, strict=True), key=lambda pair: pair[1].status_code)
        data = Application.objects.get(pk=draft.pk).form_data
        assert data[winner[0]] == values[winner[0]] and data[loser[0]] != values[loser[0]]
        assert loser[1].json()["code"] == "stale" and "修改了" in loser[1].json()["detail"]
        # The loser saves again on the version the 409 gave it.
        again = clients[loser[0]].patch(path, {"form_data": {loser[0]: values[loser[0]]}}, format="json",
                                        HTTP_IF_MATCH=loser[1]["ETag"])
        assert again.status_code == 200
        data = Application.objects.get(pk=draft.pk).form_data
        assert {key: data[key] for key in clients} == values
        assert {k: v for k, v in data.items() if k not in clients} == untouched
    assert statuses == [[200, 409]] * ROUNDS
