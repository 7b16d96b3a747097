"""Every page costs a constant number of SQL queries: the same with 3 applications as with 30.

The pages are requested as a logged-in city reviewer with the test client (one world per size, every
page a subtest), each after one warm-up request of the same page (a running server has its process-wide caches warm: content types, the working-day
calendar). The counts include the session and the user of the request.

The world: `n` applications of the reviewer's city, all brought to the city review by the services;
a third of them then recommended by the reviewer (the archive, and a history of events and opinions
on the detail page), a third assigned to the reviewer (the inbox), the rest waiting in the reviewer
pool (the queue).
"""
import pytest
from django.contrib.auth import get_user_model
from django.contrib.contenttypes.models import ContentType
from django.utils import timezone
from viewflow.workflow.models import Task
from viewflow.workflow.status import STATUS

from approvals import services as svc
from approvals.models import Application
from orgs.models import Organization
from tests.approvals.chain import act, create
from tests.approvals.conftest import World
from workflows.workdays import add_workdays

PROGRAM = "society-service-station"
VIEWER = "chuzhou_reviewer"

# Queries per page, the same on SQLite and PostgreSQL. Every page starts with the session and the
# user of the request (2).
EXPECTED = {
    # the person's memberships and delegations (one UNION, read once per request by orgs.access; no grants
    # for someone who is not an expert), the counts per status, the memberships with their organizations,
    # the twenty tasks waiting (inbox and queue, with process, application, applicant, deadline), the inbox
    # count, the queue count, the archive count, the city's batches (with program), the ten latest
    # applications (with program, batch, applicant, city, division)
    "dashboard": 11,
    # memberships and delegations, the paginator's count, the page of 50 applications (with program, batch,
    # applicant, city, division; without the form data)
    "list": 5,
    # memberships and delegations, the application (with its related rows); its revision numbers;
    # attachments; opinions (with person, organization); events (with actor, organization); the printing
    # links: revision numbers again (expert scores are not read for a city reviewer, who never sees them)
    "detail": 9,
    # the filter form's task types (DISTINCT flow_task; no process drop-down); the paginator's count; the page
    # of tasks (with process, application, applicant, deadline); the menu badges (TasksApp.get_context_data):
    # inbox count, the pools (memberships and delegations, read once) and the queue count; viewflow's
    # StoreRequestPathMixin writing the path into the session (savepoint, update, release)
    "inbox": 11,
    # the inbox's 11: the list's pools are the ones already read for the badges
    "queue": 11,
    # the same as the inbox (the archive's filter has no process drop-down either)
    "archive": 11,
    # memberships and delegations, the applications counted by (program, status, city), the stays of the
    # stages (one windowed query over the audit events)
    "reports": 5,
}


@pytest.fixture
def world(db):
    return World()


@pytest.fixture(autouse=True)
def _private_storage(settings, tmp_path):
    settings.PRIVATE_STORAGE_ROOT = tmp_path / "private"


def _build(world, n):
    """`n` applications of Chuzhou at the city review; returns one that the reviewer recommended."""
    world.batch(PROGRAM, quota=100)
    reviewer = world.user[VIEWER]
    counties = ["langya", "nanqiao"]
    recommended = []
    for i in range(n):
        county = counties[i % 2]
        app = create(world, PROGRAM, county=county)
        svc.application_submit(actor=act(world, f"{county}_clerk"), application_id=app.pk)
        svc.application_sign_off(actor=act(world, f"{county}_leader"), application_id=app.pk, comment="同意上报")
        if i % 3 == 1:
            svc.application_recommend(actor=act(world, VIEWER), application_id=app.pk, comment="同意推荐")
            recommended.append(app)
        elif i % 3 == 2:
            Task.objects.filter(process_id=app.process_id, status=STATUS.NEW, flow_task_type="HUMAN").update(
                owner=reviewer, status=STATUS.ASSIGNED, assigned=timezone.now()
            )
    return Application.objects.get(pk=recommended[0].pk)


def _pages(detail_pk):
    return {
        "dashboard": "/approvals/",
        "list": "/approvals/applications/",
        "detail": f"/approvals/applications/{detail_pk}/",
        "inbox": "/workflow/inbox/",
        "queue": "/workflow/queue/",
        "archive": "/workflow/archive/",
        "reports": "/approvals/reports/",
    }


@pytest.mark.parametrize("n", [3, 30])
def test_queries_per_page(world, client, n, django_assert_num_queries, subtests):
    detail = _build(world, n)
    ContentType.objects.get_for_model(Organization)
    add_workdays(timezone.localdate(), 1)
    client.force_login(get_user_model().objects.get(pk=world.user[VIEWER].pk))
    for page, url in _pages(detail.pk).items():
        with subtests.test(page=page):
            assert client.get(url).status_code == 200  # warm-up
            with django_assert_num_queries(EXPECTED[page]):
                response = client.get(url)
            assert response.status_code == 200
