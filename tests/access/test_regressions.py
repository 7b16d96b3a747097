"""One regression test per defect of issue 10, on the access tests' world (world.py); each test's writes are
rolled back with it. The PostgreSQL tests at the end run real threads against a committed world of their own.

The defects: viewflow's own pages answer any logged-in user; a 管理员 is a superuser and the admin shows API
tokens; the events API shows expert scores; an expert opens a city's summary with ?city=; some pages read
memberships without their validity period; an expired or removed expert still scores, closes the review and
sees the application; publish-notice takes any start date; one USCC is applied for many times in one batch;
a race loser is told 403 instead of 409; the web score form rounds 99.95 to 100.0.
"""
import datetime as dt
import re
import threading
from decimal import Decimal

import pytest
from django.contrib.auth import get_user_model
from django.db import connection
from django.test import Client
from rest_framework.authtoken.models import Token

from approvals import errors as E
from approvals import services as svc
from approvals.models import Application, AuditEvent, ExpertAssignment, Status
from workflows.workdays import is_workday

from .matrix import fingerprint, fingerprint_diff, response_text
from .world import uscc_for

pytestmark = pytest.mark.django_db

LOGIN_PATHS = ("/accounts/login/", "/admin/login/")
HOME_PATHS = ("/", "/approvals/")


def client_for(world, subject_key: str) -> Client:
    client = Client()
    user = world.user(subject_key)
    if user is not None:
        client.force_login(user, backend="django.contrib.auth.backends.ModelBackend")
    return client


def refused(response) -> bool:
    """403, 404, 401, or a redirect to a login page or back to the site's home (the dashboard)."""
    if response.status_code in (401, 403, 404):
        return True
    return response.status_code in (301, 302) and (
        response["Location"].startswith(LOGIN_PATHS) or response["Location"] in HOME_PATHS)


def body(response) -> str:
    return response_text(response)


# ------------------------------------------------------------------------ viewflow's own pages


def viewflow_urls(world):
    application = world.apps["A12"].application
    task = application.process.task_set.filter(flow_task_type="HUMAN").order_by("pk").first()
    node = task.flow_task.name
    return [
        "/workflow/flows/application/flows/",
        "/workflow/flows/application/tasks/",
        "/workflow/flows/application/",
        "/workflow/flows/application/chart/",
        f"/workflow/flows/application/{application.process_id}/",
        f"/workflow/flows/application/{application.process_id}/chart/",
        f"/workflow/flows/application/{application.process_id}/{node}/{task.pk}/detail/",
        f"/workflow/flows/application/{application.process_id}/{node}/{task.pk}/",
    ]


@pytest.mark.parametrize("subject", ["clerk@QK", "reviewer@P", "expert@P#3", "admin@P"])
def test_viewflow_pages_are_refused_to_everyone_but_the_superuser(world, subject):
    """A 四川-like county clerk (QK) listed every province's processes with the handlers' names."""
    client = client_for(world, subject)
    handlers = {world.user(k).username for k in ("clerk@K1", "leader@K1", "reviewer@C", "reviewer@P", "expert@P")}
    for url in viewflow_urls(world):
        response = client.get(url)
        assert refused(response), f"{url} as {subject}: {response.status_code}"
        if response.status_code == 200:  # pragma: no cover - reported above already
            assert not handlers & set(re.findall(r"mx_\w+_z", body(response)))


# ----------------------------------------------------------------------- the admin and its superusers


# The demo's superusers: test_regressions_demo.py (it needs an empty database, not this world).


def test_api_tokens_never_show_in_the_admin(world):
    """As a county's 管理员 (a superuser) one read every API token in the admin."""
    token = Token.objects.create(user=world.user("reviewer@P"))
    pages = ["/admin/authtoken/tokenproxy/", f"/admin/authtoken/tokenproxy/{token.pk}/change/",
             "/admin/authtoken/token/", f"/admin/authtoken/token/{token.pk}/change/"]
    for subject in ("admin@K1", "admin@P"):
        client = client_for(world, subject)
        for url in pages:
            response = client.get(url)
            assert refused(response), f"{url} as {subject}: {response.status_code}"
    superuser = client_for(world, "superuser")
    for url in pages + ["/admin/auth/user/", f"/admin/auth/user/{token.user_id}/change/"]:
        response = superuser.get(url)
        assert response.status_code < 500
        assert token.key not in response.content.decode(), f"{url} shows the token"


def test_a_province_admin_cannot_edit_another_provinces_user_nor_make_a_superuser(world):
    """A 管理员 edited other provinces' users (is_superuser too), organizations and batches."""
    client = client_for(world, "admin@P")
    outsider, insider = world.user("clerk@QK"), world.user("clerk@K1")
    before = fingerprint()
    posts = [
        (f"/admin/auth/user/{outsider.pk}/change/", {"username": outsider.username, "first_name": "改名",
                                                      "is_active": "on", "is_superuser": "on", "is_staff": "on"}),
        (f"/admin/orgs/organization/{world.org['Q'].pk}/change/", {"name": "改名", "kind": "kexie",
                                                                    "level": "province", "active": "on"}),
        (f"/admin/approvals/batch/{world.batch['BQ'].pk}/change/", {"name": "改名"}),
    ]
    for url, data in posts:
        response = client.post(url, data)
        assert response.status_code < 500, url
    assert fingerprint_diff(before, fingerprint()) == "", "a change outside the admin's province was saved"
    # Inside the province the admin may edit the user, but never make anybody a superuser or staff.
    client.post(f"/admin/auth/user/{insider.pk}/change/", {
        "username": insider.username, "first_name": insider.first_name, "is_active": "on", "is_superuser": "on",
        "is_staff": "on", "date_joined_0": "2026-01-01", "date_joined_1": "00:00:00"})
    insider.refresh_from_db()
    assert (insider.is_superuser, world.user("admin@P").is_superuser) == (False, False)
    assert not get_user_model().objects.filter(username__startswith="mx_", is_superuser=True).exclude(
        username="mx_superuser_z").exists()


def admin_refused(response) -> bool:
    """The admin answers an object outside the list with a redirect to its index ("does not exist")."""
    return refused(response) or (response.status_code == 302 and response["Location"] == "/admin/")


def test_a_scoped_admin_sees_no_user_without_a_membership(world):
    """Every province's 管理员 listed and opened the accounts that had no membership (never given one, or
    whose last one was deleted): such an account belongs to nobody's subtree."""
    client = client_for(world, "admin@P")
    listing = body(client.get("/admin/auth/user/?q=mx_"))
    for key in ("nobody", "expert@P:removed"):
        user = world.user(key)
        assert user.username not in listing
        assert admin_refused(client.get(f"/admin/auth/user/{user.pk}/change/")), key
    assert world.user("clerk@K1").username in listing
    assert world.user("clerk@QK").username not in listing
    superuser = body(client_for(world, "superuser").get("/admin/auth/user/?q=mx_nobody"))
    assert "mx_nobody_z" in superuser


def test_a_scoped_admin_adds_an_account_with_its_first_membership_in_the_subtree(world):
    """The membership rows of the user form listed every organization of every province, and an account
    could be made without one (and then vanished from its maker's list)."""
    client = client_for(world, "admin@C")
    page = body(client.get("/admin/auth/user/add/"))
    for key in ("Q", "QC", "P"):
        assert f">{world.org[key].name}<" not in page, key
    assert f">{world.org['K1'].name}<" in page
    form = {"username": "mx_new_z", "password1": "Matrix-pass-2026", "password2": "Matrix-pass-2026",
            "usable_password": "true", "memberships-TOTAL_FORMS": "1", "memberships-INITIAL_FORMS": "0",
            "memberships-MIN_NUM_FORMS": "0", "memberships-MAX_NUM_FORMS": "1000"}
    User = get_user_model()
    before = fingerprint()
    response = client.post("/admin/auth/user/add/", form)
    assert response.status_code == 200 and not User.objects.filter(username="mx_new_z").exists()
    response = client.post("/admin/auth/user/add/", {
        **form, "memberships-0-organization": world.org["Q"].pk, "memberships-0-role": "clerk"})
    assert response.status_code == 200 and fingerprint_diff(before, fingerprint()) == ""
    response = client.post("/admin/auth/user/add/", {
        **form, "memberships-0-organization": world.org["K1"].pk, "memberships-0-role": "clerk"})
    assert response.status_code == 302, body(response)[:2000]
    user = User.objects.get(username="mx_new_z")
    assert list(user.memberships.values_list("organization_id", flat=True)) == [world.org["K1"].pk]
    assert client.get(f"/admin/auth/user/{user.pk}/change/").status_code == 200


def test_an_administrator_above_manages_the_delegations_of_the_subtree(world):
    """The admin pages showed a city's delegations to its province's 管理员, but the service refused them
    anything: scope and rule now agree (and nobody deletes a delegation, it is cancelled). Delegations
    are the security administrator's since 三员分立."""
    from orgs.models import Delegation

    assert admin_refused(client_for(world, "admin@P").get("/admin/orgs/delegation/"))
    client = client_for(world, "secadmin@P")
    delegation = Delegation.objects.filter(organization=world.org["K1"]).order_by("pk").first()
    assert client.get(f"/admin/orgs/delegation/{delegation.pk}/change/").status_code == 200
    assert client.get(f"/admin/orgs/delegation/{delegation.pk}/delete/").status_code == 403
    response = client.post("/admin/orgs/delegation/", {"action": "cancel", "_selected_action": [delegation.pk]})
    assert response.status_code == 302
    delegation.refresh_from_db()
    assert delegation.cancelled_at is not None
    other = client_for(world, "secadmin@QC")
    assert admin_refused(other.get(f"/admin/orgs/delegation/{delegation.pk}/change/"))


def test_a_cancelled_pool_task_cannot_be_taken(world):
    """A reviewer of the province opened the assign page of a cancelled 复核异议 task of the pool."""
    from viewflow.workflow.models import Task
    from viewflow.workflow.status import STATUS

    task = Task.objects.filter(status=STATUS.CANCELED, owner__isnull=True).exclude(owner_permission="").first()
    assert task is not None, "the world has a cancelled pool task"
    process = task.process
    url = f"/workflow/flows/application/{process.pk}/{task.flow_task.name}/{task.pk}/assign/"
    for key in ("reviewer@P", "leader@P", "clerk@K1", "reviewer@C"):
        response = client_for(world, key).get(url)
        assert refused(response) or response.status_code == 405, (key, response.status_code)


# ------------------------------------------------------------------------------- expert scores


@pytest.mark.parametrize("subject", ["clerk@K1", "leader@K1", "reviewer@C", "leader@C", "expert@P#2",
                                     "admin@P", "auditor@P"])
def test_the_events_api_hides_expert_scores(world, subject):
    """GET /api/v1/applications/{id}/events/ gave each expert's score and comment to the county clerk, the city
    and the other expert before they had scored."""
    app = world.apps["A06"]  # expert@P scored 86.5 with the comment 评审意见MXS-E1-A06; expert@P#2 has not
    response = client_for(world, subject).get(f"/api/v1/applications/{app.pk}/events/")
    assert response.status_code == 200
    text = response.content.decode()
    assert "MXS-E1-A06" not in text and "86.5" not in text


@pytest.mark.parametrize("subject", ["reviewer@P", "leader@P", "expert@P"])
def test_the_events_api_shows_scores_to_the_province_and_to_the_expert_who_gave_them(world, subject):
    app = world.apps["A06"]
    response = client_for(world, subject).get(f"/api/v1/applications/{app.pk}/events/")
    assert response.status_code == 200
    assert "MXS-E1-A06" in response.content.decode()


# ------------------------------------------------------------------------- the city's summary


@pytest.mark.parametrize("document", ["summary.pdf", "summary.xlsx", "recommendation.pdf"])
@pytest.mark.parametrize("subject", ["expert@P", "expert@P#3", "reviewer@C2", "clerk@K1", "reviewer@QC"])
def test_a_city_summary_is_refused_to_experts_and_other_cities(world, document, subject):
    """A province expert opened any city's 推荐汇总表 (USCC, contact person, phone) with ?city=<id>."""
    url = f"/print/batches/{world.batch['B'].pk}/{document}?city={world.org['C'].pk}&purpose=核对"
    response = client_for(world, subject).get(url)
    assert refused(response), f"{document} as {subject}: {response.status_code}"


@pytest.mark.parametrize("subject", ["reviewer@C", "leader@C", "reviewer@P", "leader@P"])
def test_a_city_summary_is_given_to_the_city_and_the_province(world, subject):
    url = f"/print/batches/{world.batch['B'].pk}/summary.xlsx?city={world.org['C'].pk}&purpose=核对"
    response = client_for(world, subject).get(url)
    assert response.status_code == 200
    assert "MXA04" in body(response)  # recommended by C


# ---------------------------------------------------------------- memberships outside their period

# Pages that read Membership without .current() (approvals/views.py: the create form's clerk lookup,
# the city batch page's reviewer lookup), with the subject whose membership ended yesterday or starts
# tomorrow, and the one whose membership ends today (still valid).
MEMBERSHIP_PAGES = {
    "create form": ("/approvals/applications/new/?batch={B}&org={K1}", "clerk@K1"),
    "city batch page": ("/approvals/batches/{B}/city/", "reviewer@C"),
}


@pytest.mark.parametrize("page", MEMBERSHIP_PAGES)
@pytest.mark.parametrize("kind", ["expired", "not_yet"])
def test_a_membership_outside_its_period_opens_no_page(world, page, kind):
    pattern, holder = MEMBERSHIP_PAGES[page]
    if f"{holder}:{kind}" not in world.subjects:
        pytest.skip(f"the world has no {kind} {holder}")
    url = pattern.format(B=world.batch["B"].pk, K1=world.org["K1"].pk)
    response = client_for(world, f"{holder}:{kind}").get(url)
    assert refused(response), f"{page} as {holder} ({kind}): {response.status_code}"


@pytest.mark.parametrize("page", MEMBERSHIP_PAGES)
def test_a_membership_on_its_last_day_opens_the_page(world, page):
    pattern, holder = MEMBERSHIP_PAGES[page]
    assert world.subjects[holder].user.memberships.get().valid_until == world.today
    url = pattern.format(B=world.batch["B"].pk, K1=world.org["K1"].pk)
    assert client_for(world, holder).get(url).status_code == 200


# ------------------------------------------------------------------ experts whose membership ended


@pytest.mark.parametrize("expert", ["expert@P:removed", "expert@P:expired"])
def test_an_expert_whose_membership_ended_cannot_score_nor_close_the_review(world, expert):
    """An expert removed or expired after the assignment still scored, and the last such score closed the
    review; they still saw the application."""
    app = world.apps["A06"]
    # Only this expert's score is outstanding: theirs would be the last one and close the review.
    others = {"expert@P#2", "expert@P:removed", "expert@P:expired"} - {expert}
    ExpertAssignment.objects.filter(application=app.application,
                                    expert__in=[world.user(k) for k in others]).delete()
    with pytest.raises((E.NotFound, E.NotAllowed)):
        svc.application_score(actor=world.actor(expert), application_id=app.pk, score="90", comment="")
    response = client_for(world, expert).post(f"/api/v1/applications/{app.pk}/score/", {"score": "90.0"},
                                              content_type="application/json")
    assert response.status_code in (403, 404)
    assert Application.objects.get(pk=app.pk).status == Status.EXPERT_REVIEW
    assignment = ExpertAssignment.objects.get(application=app.application, expert=world.user(expert))
    assert (assignment.score, assignment.scored_at) == (None, None)
    assert not AuditEvent.objects.filter(application=app.application, actor=world.user(expert)).exists()


@pytest.mark.parametrize("expert", ["expert@P:removed", "expert@P:expired"])
def test_an_expert_whose_membership_ended_no_longer_sees_the_application(world, expert):
    app = world.apps["A06"]
    client = client_for(world, expert)
    for url in (f"/approvals/applications/{app.pk}/", f"/api/v1/applications/{app.pk}/",
                f"/print/applications/{app.pk}/form.pdf"):
        assert refused(client.get(url)), url
    for url in ("/approvals/applications/", "/api/v1/applications/", "/approvals/", "/workflow/inbox/"):
        response = client.get(url)
        assert response.status_code == 200 and "MXA06" not in body(response), url


# ------------------------------------------------------------------------- the notice's start date


def first_working_day(day):
    while not is_workday(day):
        day += dt.timedelta(days=1)
    return day


@pytest.mark.parametrize("starts_on", ["2000-01-03", "2020-01-01", "yesterday", "2100-01-01", "a year ahead"])
def test_publish_notice_refuses_a_start_outside_the_allowed_days(world, starts_on):
    """publish-notice took 2000-01-03 or 2020-01-01 (the notice 'ended' before it was published, and the
    leader could approve at once) and 2100-01-01."""
    today = world.today
    value = {"yesterday": today - dt.timedelta(days=1), "a year ahead": today + dt.timedelta(days=365)}.get(
        starts_on, starts_on)
    app = world.apps["A08"]
    before = fingerprint()
    response = client_for(world, "reviewer@P").post(f"/api/v1/applications/{app.pk}/publish-notice/",
                                                    {"starts_on": str(value)}, content_type="application/json")
    assert response.status_code == 400, response.content
    detail = response.json()["detail"]
    allowed = first_working_day(today)
    assert allowed.isoformat() in detail or f"{allowed.year}年{allowed.month}月{allowed.day}日" in detail, detail
    assert fingerprint_diff(before, fingerprint()) == ""


def test_publish_notice_refuses_a_day_that_is_not_a_working_day(world):
    day = world.today + dt.timedelta(days=1)
    while is_workday(day):
        day += dt.timedelta(days=1)
    app = world.apps["A08"]
    response = client_for(world, "reviewer@P").post(f"/api/v1/applications/{app.pk}/publish-notice/",
                                                    {"starts_on": day.isoformat()}, content_type="application/json")
    assert response.status_code == 400, (day, response.content)
    assert Application.objects.get(pk=app.pk).notice_starts_on is None


def test_publish_notice_takes_the_first_working_day_from_today(world):
    app = world.apps["A08"]
    start = first_working_day(world.today)
    response = client_for(world, "reviewer@P").post(f"/api/v1/applications/{app.pk}/publish-notice/",
                                                    {"starts_on": start.isoformat()}, content_type="application/json")
    assert response.status_code == 200, response.content
    application = Application.objects.get(pk=app.pk)
    assert application.notice_starts_on == start and application.notice_ends_on > start


# ----------------------------------------------------------------------- one USCC, one batch


def create_via_api(client, world, org, uscc, name):
    return client.post("/api/v1/applications/", {
        "batch": world.batch["B"].pk, "applicant": world.org[org].pk, "subject_name": name, "uscc": uscc,
        "division_code": world.division[org].code, "form_data": {},
    }, content_type="application/json")


def test_one_live_application_per_batch_and_uscc(world):
    """The same USCC was applied for five times in one batch; one copy was in 公示 while a duplicate was
    recommended and sent to experts."""
    uscc = uscc_for(900)
    client = client_for(world, "clerk@K1")
    first = create_via_api(client, world, "K1", uscc, "矩阵MXDUP1公司")
    assert first.status_code == 201, first.content
    first_id = first.json()["id"]
    for n in range(2, 6):
        before = fingerprint()
        response = create_via_api(client, world, "K1", uscc, f"矩阵MXDUP{n}公司")
        assert response.status_code in (400, 409), response.content
        detail = response.json()["detail"]
        assert "矩阵MXDUP1公司" in detail or str(first_id) in detail, detail
        assert fingerprint_diff(before, fingerprint()) == ""
    # Another county of the same batch is refused too; another batch is not.
    other = create_via_api(client_for(world, "clerk@K2"), world, "K2", uscc, "矩阵MXDUP6公司")
    assert other.status_code in (400, 409), other.content
    assert Application.objects.filter(batch=world.batch["B"], uscc=uscc).count() == 1


def test_a_withdrawn_application_frees_its_uscc_in_the_batch(world):
    uscc = uscc_for(901)
    client = client_for(world, "clerk@K1")
    first = create_via_api(client, world, "K1", uscc, "矩阵MXDUP7公司")
    assert first.status_code == 201, first.content
    svc.application_withdraw(actor=world.actor("clerk@K1"), application_id=first.json()["id"])
    again = create_via_api(client, world, "K1", uscc, "矩阵MXDUP8公司")
    assert again.status_code == 201, again.content


@pytest.mark.parametrize("score", ["99.95", "0.05", "100.01", "-0.1"])
def test_the_web_score_form_refuses_what_the_api_refuses(world, score):
    """The web score form rounded 99.95 to 100.0 and 0.05 to 0.1, where the API refused both."""
    app = world.apps["A06"]
    client = client_for(world, "expert@P#2")
    api = client.post(f"/api/v1/applications/{app.pk}/score/", {"score": score, "comment": ""},
                      content_type="application/json")
    assert api.status_code == 400
    before = fingerprint()
    response = client.post(f"/approvals/applications/{app.pk}/score/", {"score": score, "comment": ""})
    assert response.status_code in (200, 302, 400)
    assert fingerprint_diff(before, fingerprint()) == "", f"the web form saved {score}"
    assignment = ExpertAssignment.objects.get(application=app.application, expert=world.user("expert@P#2"))
    assert assignment.score is None


@pytest.mark.parametrize("score", ["99.9", "100", "0", "88.5"])
def test_the_web_score_form_keeps_a_valid_score_exactly(world, score):
    app = world.apps["A06"]
    client_for(world, "expert@P#2").post(f"/approvals/applications/{app.pk}/score/", {"score": score, "comment": ""})
    assignment = ExpertAssignment.objects.get(application=app.application, expert=world.user("expert@P#2"))
    assert assignment.score == Decimal(score)


# ======================================================================== PostgreSQL: real threads

ROUNDS = 20


def run_together(calls) -> list:
    """Each call in its own thread (its own connection), all released at once; each outcome returned."""
    barrier = threading.Barrier(len(calls))
    outcomes = [None] * len(calls)

    def worker(index, call):
        try:
            connection.ensure_connection()
            barrier.wait(timeout=30)
            outcomes[index] = call()
        except BaseException as exc:  # noqa: BLE001 - every outcome is inspected by the test
            outcomes[index] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=worker, args=(i, call)) for i, call in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not any(thread.is_alive() for thread in threads), "a thread hung"
    return outcomes


@pytest.fixture
def committed_world(tmp_path, settings):
    """The approvals tests' small world, committed (the threads must see it)."""
    from tests.approvals.conftest import World as ApprovalsWorld

    settings.PRIVATE_STORAGE_ROOT = tmp_path / "private"
    return ApprovalsWorld()


def _in_city_review(world, batch, county="langya", uscc=None, sign_off=True):
    from tests.approvals.chain import SUBJECTS, act
    from tests.approvals.conftest import USCC, base_form, minimal_pdf

    clerk = act(world, f"{county}_clerk")
    application = svc.application_create(
        actor=clerk, batch=batch, applicant=world.org[county], subject_name=SUBJECTS["collaborative-innovation-base"],
        uscc=uscc or USCC, division_code=world.division[county].code, form_data=base_form(),
    )
    for kind in batch.program.attachment_kinds:
        svc.attachment_add(actor=clerk, application_id=application.pk, kind=kind["code"],
                           name=f"{kind['label']}.pdf", content=minimal_pdf(kind["code"]))
    svc.application_submit(actor=clerk, application_id=application.pk)
    if sign_off:
        svc.application_sign_off(actor=act(world, f"{county}_leader"), application_id=application.pk)
    return Application.objects.get(pk=application.pk)


@pytest.mark.postgres
@pytest.mark.skipif(connection.vendor != "postgresql", reason="row-lock concurrency needs PostgreSQL")
@pytest.mark.django_db(transaction=True)
def test_one_uscc_per_batch_holds_under_concurrent_requests(committed_world):
    world = committed_world
    batch = world.batch("collaborative-innovation-base", quota=20)
    uscc = uscc_for(902)
    from tests.approvals.chain import act
    from tests.approvals.conftest import base_form

    for round_no in range(5):
        code = uscc_for(902 + round_no) if round_no else uscc

        def create(county, code=code):
            return svc.application_create(
                actor=act(world, f"{county}_clerk"), batch=batch, applicant=world.org[county],
                subject_name=f"并发{county}", uscc=code, division_code=world.division[county].code,
                form_data=base_form())

        outcomes = run_together([lambda c=c: create(c) for c in ("langya", "nanqiao", "langya", "nanqiao", "langya")])
        created = [o for o in outcomes if isinstance(o, Application)]
        assert len(created) == 1, f"round {round_no}: {outcomes}"
        assert all(isinstance(o, E.ApprovalError) for o in outcomes if not isinstance(o, Application)), outcomes
        assert Application.objects.filter(batch=batch, uscc=code).count() == 1


@pytest.mark.postgres
@pytest.mark.skipif(connection.vendor != "postgresql", reason="row-lock concurrency needs PostgreSQL")
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("race", ["return vs recommend", "return vs sign-off"])
def test_a_race_loser_is_told_409_not_403(committed_world, race):
    """A return racing a recommend or a sign-off: the loser was told 403 "not allowed" in 7 of 20 rounds."""
    from tests.approvals.chain import act

    world = committed_world
    batch = world.batch("collaborative-innovation-base", quota=ROUNDS + 1)
    for round_no in range(ROUNDS):
        if race == "return vs recommend":
            application = _in_city_review(world, batch, uscc=uscc_for(1000 + round_no))
            calls = [
                lambda pk=application.pk: svc.application_return(actor=act(world, "chuzhou_reviewer"),
                                                                 application_id=pk, comment="退回"),
                lambda pk=application.pk: svc.application_recommend(actor=act(world, "chuzhou_reviewer"),
                                                                    application_id=pk, comment="推荐"),
            ]
        else:
            application = _in_city_review(world, batch, uscc=uscc_for(1100 + round_no), sign_off=False)
            calls = [
                lambda pk=application.pk: svc.application_return(actor=act(world, "langya_leader"),
                                                                 application_id=pk, comment="退回"),
                lambda pk=application.pk: svc.application_sign_off(actor=act(world, "langya_leader"),
                                                                   application_id=pk, comment="同意"),
            ]
        outcomes = run_together(calls)
        winners = [o for o in outcomes if isinstance(o, Application)]
        losers = [o for o in outcomes if not isinstance(o, Application)]
        assert len(winners) == 1, f"round {round_no}: {outcomes}"
        assert all(isinstance(o, E.ApprovalError) and o.http_status == 409 for o in losers), (
            f"round {round_no}: the loser was told {[(type(o).__name__, getattr(o, 'http_status', None)) for o in losers]}")
