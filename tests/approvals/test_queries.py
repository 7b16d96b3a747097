"""The number of SQL queries of each transition is a constant: the same with 30 other applications in the
database as with none. Each measured call uses a user freshly read from the database (no cached
memberships), as a new request would."""
import pytest
from django.contrib.auth import get_user_model
from django.contrib.contenttypes.models import ContentType
from django.utils import timezone

from approvals import services as svc
from approvals.models import Application
from approvals.selectors import application_list
from orgs.models import Organization
from workflows.workdays import add_workdays

from .chain import create, to_decision

PROGRAM = "society-service-station"

# Queries per transition, measured on SQLite and PostgreSQL (the same on both). Each one: savepoint and
# release, lock the row, the actor's memberships, the open task, update the application, insert the audit
# event (and the opinion), complete the task, insert the next task, its edge and its deadline, insert the
# outbox effect that has a worker tell the event after the commit; plus the action's own checks:
#   submit: ban list, attachment kinds, attachments for the revision, insert the revision (no opinion);
#   recommend: lock the quota row, then count the recommended applications (a statement of its own, so
#   that on PostgreSQL the count sees what the lock's previous holder committed).
EXPECTED = {
    "submit": 15,
    "sign_off": 13,
    "recommend": 15,
    "accept": 13,
    "decide": 13,
}
LIST_QUERIES = 2  # the memberships and delegations (one UNION), the page (grants only for an expert)


@pytest.fixture(autouse=True)
def _private_storage(settings, tmp_path):
    settings.PRIVATE_STORAGE_ROOT = tmp_path / "private"


def actor(world, username):
    return svc.Actor(user=get_user_model().objects.get(pk=world.user[username].pk), ip="127.0.0.1")


def _others(world, n):
    """`n` other applications of the same batch and city, in every county and at several stages."""
    if not n:
        return []
    counties = ["langya", "nanqiao"]
    others = [create(world, PROGRAM, county=counties[i % 2]) for i in range(n)]
    # Spread them over the stages that the measured queries look at (quota, scope, tasks).
    statuses = ["draft", "applicant_signoff", "city_review", "province_check", "expert_review", "decision"]
    for i, app in enumerate(others):
        Application.objects.filter(pk=app.pk).update(status=statuses[i % len(statuses)])
    return others


def _to(world, app, action):
    """Bring `app` to the stage where `action` applies, unmeasured."""
    order = ["submit", "sign_off", "recommend", "accept", "decide"]
    steps = {
        "submit": lambda: svc.application_submit(actor=actor(world, "langya_clerk"), application_id=app.pk),
        "sign_off": lambda: svc.application_sign_off(actor=actor(world, "langya_leader"), application_id=app.pk),
        "recommend": lambda: svc.application_recommend(actor=actor(world, "chuzhou_reviewer"), application_id=app.pk),
        "accept": lambda: to_decision(world, app),
    }
    for step in order[:order.index(action)]:
        steps[step]()


# action -> (who acts, the call)
CALLS = {
    "submit": ("langya_clerk", lambda a, app: svc.application_submit(actor=a, application_id=app.pk)),
    "sign_off": ("langya_leader", lambda a, app: svc.application_sign_off(actor=a, application_id=app.pk,
                                                                          comment="同意")),
    "recommend": ("chuzhou_reviewer", lambda a, app: svc.application_recommend(actor=a, application_id=app.pk,
                                                                               comment="推荐")),
    "accept": ("anhui_reviewer", lambda a, app: svc.application_accept(actor=a, application_id=app.pk,
                                                                       comment="通过")),
    "decide": ("anhui_leader", lambda a, app: svc.application_decide(actor=a, application_id=app.pk, approve=True,
                                                                     comment="认定")),
}
AFTER = {"submit": "applicant_signoff", "sign_off": "city_review", "recommend": "province_check",
         "accept": "expert_review", "decide": "public_notice"}


@pytest.mark.parametrize("others", [0, 30])
@pytest.mark.parametrize("action", list(EXPECTED))
def test_queries_per_transition(world, action, others, django_assert_num_queries):
    world.batch(PROGRAM, quota=100)
    app = create(world, PROGRAM)
    _others(world, others)
    _to(world, app, action)
    # Warm the process-wide caches a running server has warm: content types (task pools) and the
    # working-day calendar (stage deadlines).
    ContentType.objects.get_for_model(Organization)
    add_workdays(timezone.localdate(), 1)
    username, call = CALLS[action]
    who = actor(world, username)  # read fresh, as the request's authentication would
    with django_assert_num_queries(EXPECTED[action]):
        call(who, app)
    assert Application.objects.get(pk=app.pk).status == AFTER[action]


@pytest.mark.parametrize("others", [0, 30])
def test_application_list_queries(world, others, django_assert_num_queries):
    create(world, PROGRAM)
    _others(world, others)
    user = get_user_model().objects.get(pk=world.user["anhui_reviewer"].pk)
    with django_assert_num_queries(LIST_QUERIES):
        rows = list(application_list(user=user))
        # The related rows the list shows come with it.
        assert all(row.program.code and row.batch.year and row.applicant.name and row.city.name for row in rows)
    assert len(rows) == 1 + others
