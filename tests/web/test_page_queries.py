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
from django.contrib.sessions.models import Session
from django.core.paginator import Paginator
from django.utils import timezone
from viewflow.workflow.models import Task
from viewflow.workflow.status import STATUS

from approvals import services as svc
from approvals.models import Application
from approvals.selectors import IdsFirst, application_list
from config.site import PIN_LOCATION
from orgs.models import Organization
from tests.approvals.chain import act, create, to_province_check
from tests.approvals.conftest import World
from workflows.selectors import task_archive, task_counts, task_inbox, task_queue
from workflows.workdays import add_workdays

PROGRAM = "society-service-station"
VIEWER = "chuzhou_reviewer"

# Queries per page, the same on SQLite and PostgreSQL. Every page starts with the session and the
# user of the request (2).
EXPECTED = {
    # the person's memberships and delegations (one UNION, read once per request by orgs.access; no grants
    # for someone who is not an expert), the counts per status, the memberships with their organizations,
    # the twenty tasks waiting (inbox and queue, with process, application, applicant, deadline), the inbox,
    # queue and archive counts (one statement: workflows.selectors.task_counts), the batches of the city's
    # and the clerk's sections (one query; with program), the ten latest applications (with program, batch,
    # applicant, city, division)
    "dashboard": 9,
    # memberships and delegations, the paginator's count, the page of 50 applications (with program, batch,
    # applicant, city, division; without the form data)
    "list": 5,
    # memberships and delegations, the application (with its related rows); its revision numbers;
    # attachments; opinions (with person, organization); events (with actor, organization); the printing
    # links: revision numbers again (expert scores are not read for a city reviewer, who never sees them)
    "detail": 9,
    # the filter form's task types (DISTINCT flow_task; no process drop-down); the paginator's count; the page
    # of tasks (with process, application, applicant, deadline); the menu badges (TasksApp.get_context_data):
    # the pools (memberships and delegations, read once) and the inbox and queue counts in one statement.
    # The list's path is in the session already (the warm-up wrote it): viewflow's StoreRequestPathMixin
    # would write it again on each request (savepoint, update, release), config.site only when it changed
    "inbox": 7,
    # the inbox's 7: the list's pools are the ones already read for the badges
    "queue": 7,
    # the same as the inbox (the archive's filter has no process drop-down either)
    "archive": 7,
    # memberships and delegations, the applications counted by (program, status, city) from the index, the
    # names of those programs, of those cities, the stays of the stages (one grouped query over the audit events)
    "reports": 7,
}
# An expert's pages: the applications granted to the expert are read once per request (approvals.access
# keeps them on the Principal), however many lists the page shows: one query more than a reviewer's.
EXPERT = {"dashboard": 9, "list": 6, "inbox": 8}


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


def test_the_task_counts_are_the_lists_sizes(world):
    """workflows.selectors.task_counts (one statement) counts what task_inbox, task_queue and task_archive list."""
    _build(world, 6)
    for name in (VIEWER, "langya_clerk", "anhui_reviewer", "chuzhou_leader", "anhui_expert"):
        user = get_user_model().objects.get(pk=world.user[name].pk)
        expected = {"inbox": task_inbox(user=user).count(), "queue": task_queue(user=user).count(),
                    "archive": task_archive(user=user).count()}
        assert task_counts(user=user) == expected, name
        del expected["archive"]
        assert task_counts(user=user, archive=False) == expected, name
    reviewer = get_user_model().objects.get(pk=world.user[VIEWER].pk)
    assert task_counts(user=reviewer) == {"inbox": 2, "queue": 2, "archive": 2}


def test_an_experts_pages_read_the_grants_once(world, client, django_assert_num_queries, subtests):
    world.batch(PROGRAM, quota=100)
    experts = [world.user["anhui_expert"].pk, world.user["anhui_expert2"].pk]
    for county in ("langya", "nanqiao", "langya"):
        app = to_province_check(world, create(world, PROGRAM, county=county), county)
        svc.application_accept(actor=act(world, "anhui_reviewer"), application_id=app.pk, comment="材料齐全")
        svc.application_assign_experts(actor=act(world, "anhui_reviewer"), application_id=app.pk, expert_ids=experts)
    ContentType.objects.get_for_model(Organization)
    add_workdays(timezone.localdate(), 1)
    client.force_login(get_user_model().objects.get(pk=world.user["anhui_expert"].pk))
    for page, count in EXPERT.items():
        with subtests.test(page=page):
            url = _pages(0)[page]
            assert client.get(url).status_code == 200  # warm-up
            with django_assert_num_queries(count):
                response = client.get(url)
            assert response.status_code == 200


def test_the_list_pages_pick_their_ids_first_and_keep_the_order(world, client):
    """approvals.selectors.IdsFirst: every page holds the rows of the plain slice, in the list's order."""
    _build(world, 7)
    for name in (VIEWER, "anhui_reviewer", "langya_clerk"):
        apps = application_list(user=get_user_model().objects.get(pk=world.user[name].pk))
        everything = list(apps)
        assert everything, name
        for start, stop in ((0, 2), (2, 4), (4, 6), (6, 8), (0, 50), (3, 4)):
            assert list(IdsFirst(apps)[start:stop]) == everything[start:stop], (name, start, stop)
        paged = [a for n in Paginator(IdsFirst(apps), 3).page_range for a in Paginator(IdsFirst(apps), 3).page(n)]
        assert paged == everything
    client.force_login(get_user_model().objects.get(pk=world.user[VIEWER].pk))
    listing = client.get("/approvals/applications/").content.decode()
    assert all(f"/approvals/applications/{a.pk}/" in listing for a in everything)


def test_a_task_list_writes_its_path_into_the_session_only_when_it_changed(world, client, django_assert_num_queries):
    """The page a task's form returns to (viewflow's "vf-pin-location") is still the last list read; reading
    the same list again leaves the session row alone (config.site.PoolTaskColumns.dispatch)."""
    _build(world, 3)
    client.force_login(get_user_model().objects.get(pk=world.user[VIEWER].pk))
    for url in ("/workflow/queue/", "/workflow/inbox/?page=1", "/workflow/archive/"):
        assert client.get(url).status_code == 200
        assert client.session[PIN_LOCATION] == url
        before = Session.objects.get(pk=client.session.session_key).session_data
        with django_assert_num_queries(EXPECTED[url.split("/")[2].split("?")[0]]):
            assert client.get(url).status_code == 200
        assert Session.objects.get(pk=client.session.session_key).session_data == before
