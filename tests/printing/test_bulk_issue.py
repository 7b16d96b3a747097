"""Bulk issue: a provincial officer queues one issue task per approved application of a batch and follows
the progress (issued/total) on a page that polls a JSON endpoint."""
import pytest

from approvals import services as svc
from approvals.models import Application, AuditEvent, Effect, Status
from printing.models import Certificate, IssueRun
from tests.approvals.chain import act, create, to_province_check

from .helpers import to_public_notice

COUNTIES = (("langya", "chuzhou"), ("nanqiao", "chuzhou"), ("yaohai", "hefei"))


@pytest.fixture
def approved(world):
    """Three applications of one batch, approved after the notice, with no certificate effect (as if approved
    before the outbox existed: the officer's bulk issue is what issues them)."""
    applications = []
    for county, city in COUNTIES:
        application = create(world, "society-service-station", county=county, city=city)
        application = to_public_notice(world, to_province_check(world, application, county, city=city))
        svc.application_approve(actor=act(world, "anhui_leader"), application_id=application.pk)  # not committed
        applications.append(Application.objects.get(pk=application.pk))
    assert {a.status for a in applications} == {Status.APPROVED}
    Effect.objects.filter(kind="certificate_issue").delete()
    return applications


def test_officer_issues_the_whole_batch(client, world, approved, django_capture_on_commit_callbacks):
    batch = approved[0].batch
    client.force_login(world.user["anhui_reviewer"])
    page = client.get(f"/print/batches/{batch.pk}/issue-all")
    assert page.status_code == 200 and 'id="approved">3<' in page.content.decode()

    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = client.post(f"/print/batches/{batch.pk}/issue-all")
    run = IssueRun.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/print/batches/{batch.pk}/issue-runs/{run.pk}/"
    assert sorted(run.application_ids) == sorted(a.pk for a in approved)
    progress_url = f"/print/batches/{batch.pk}/issue-runs/{run.pk}/progress.json"
    before = client.get(progress_url).json()
    assert (before["issued"], before["total"], before["done"]) == (0, 3, False)
    page = client.get(response["Location"]).content.decode()
    assert progress_url in page and 'id="issued">0<' in page

    with django_capture_on_commit_callbacks(execute=True):
        for callback in callbacks:  # the commit happens: the effects are published and run (eagerly in tests)
            callback()
    after = client.get(progress_url).json()
    assert (after["numbered"], after["issued"], after["total"], after["done"]) == (3, 3, 3, True)
    assert "no-store" in client.get(progress_url)["Cache-Control"]
    certificates = Certificate.objects.filter(application__in=approved).order_by("seq")
    assert [c.seq for c in certificates] == [1, 2, 3] and all(c.pdf_sha256 for c in certificates)
    assert set(Application.objects.filter(pk__in=run.application_ids).values_list("status", flat=True)) == {
        Status.CERTIFIED}
    # The officer, not the system, is recorded as having issued them.
    events = AuditEvent.objects.filter(application__in=approved, action="issue_certificate")
    assert {e.actor_id for e in events} == {world.user["anhui_reviewer"].pk}

    # Asking again issues nothing twice.
    with django_capture_on_commit_callbacks(execute=True):
        client.post(f"/print/batches/{batch.pk}/issue-all")
    assert Certificate.objects.count() == 3
    assert client.get(f"/print/batches/{batch.pk}/issue-runs/{IssueRun.objects.first().pk}/progress.json").json()[
        "done"]


def test_same_application_queued_twice_is_issued_once(client, world, approved, django_capture_on_commit_callbacks):
    batch = approved[0].batch
    client.force_login(world.user["anhui_reviewer"])
    with django_capture_on_commit_callbacks(execute=False) as first:
        client.post(f"/print/batches/{batch.pk}/issue-all")
    with django_capture_on_commit_callbacks(execute=False) as second:
        client.post(f"/print/batches/{batch.pk}/issue-all")  # a double click before the workers started
    for callback in [*first, *second]:
        callback()
    assert Certificate.objects.count() == 3
    assert sorted(Certificate.objects.values_list("seq", flat=True)) == [1, 2, 3]


@pytest.mark.parametrize(("username", "status"), [
    ("anhui_clerk", 403), ("anhui_leader", 403), ("chuzhou_reviewer", 403), ("sichuan_reviewer", 404),
])
def test_only_the_provincial_officer_may_issue(client, world, approved, username, status):
    batch = approved[0].batch
    client.force_login(world.user[username])
    assert client.get(f"/print/batches/{batch.pk}/issue-all").status_code == status
    assert client.post(f"/print/batches/{batch.pk}/issue-all").status_code == status
    assert not IssueRun.objects.exists() and not Certificate.objects.exists()


def test_progress_of_another_province_is_404(client, world, approved, django_capture_on_commit_callbacks):
    batch = approved[0].batch
    client.force_login(world.user["anhui_reviewer"])
    with django_capture_on_commit_callbacks(execute=True):
        client.post(f"/print/batches/{batch.pk}/issue-all")
    run = IssueRun.objects.get()
    client.force_login(world.user["sichuan_reviewer"])
    assert client.get(f"/print/batches/{batch.pk}/issue-runs/{run.pk}/progress.json").status_code == 404
    assert client.get(f"/print/batches/{batch.pk}/issue-runs/{run.pk}/").status_code == 404
