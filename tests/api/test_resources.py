"""The read resources of the API besides applications (approvals.api_resources): who sees which rows, the
filters and ordering, the documents, claiming a task, and a constant number of queries per page."""
import pytest
from django.contrib.auth.models import User
from django.utils import timezone
from rest_framework.test import APIClient

from approvals.models import Application, Batch, Program
from tests.approvals import chain
from workflows.models import Notification

from .test_api import CITY_PROGRAM, STATION, _draft, build, client


def fresh(world, username) -> APIClient:
    api = APIClient()
    api.force_authenticate(User.objects.get(pk=world.user[username].pk))
    return api


def rows(response, status=200) -> list:
    assert response.status_code == status, response.content[:400]
    return response.json()["results"]


def test_programs_carry_their_form_fields_and_attachment_kinds(world):
    listed = rows(client(world, "langya_clerk").get("/api/v1/programs/"))
    assert {p["code"] for p in listed} == set(Program.objects.filter(active=True).values_list("code", flat=True))
    station = next(p for p in listed if p["code"] == STATION)
    program = Program.objects.get(code=STATION)
    assert station["form_fields"] == program.form_fields and station["form_fields"]
    assert station["attachment_kinds"] == program.attachment_kinds
    assert client().get("/api/v1/programs/").status_code == 401


def test_batches_are_those_of_the_callers_province_with_the_quotas_it_may_see(world):
    anhui, sichuan = world.batch(STATION), world.batch(STATION, "sichuan")
    application = build(world, "province_check")  # recommended by 滁州市: one of its quota used
    assert application.city_id == world.org["chuzhou"].pk
    county = rows(client(world, "langya_clerk").get("/api/v1/batches/"))
    assert [b["id"] for b in county] == [anhui.pk]
    assert county[0]["quotas"] == []  # a county does not see its city's quota
    assert county[0]["is_open"] is True and county[0]["program"] == STATION
    city = rows(client(world, "chuzhou_reviewer").get("/api/v1/batches/"))
    assert city[0]["quotas"] == [{"city": world.org["chuzhou"].pk, "city_name": "滁州市科学技术协会", "quota": 3,
                                  "used": 1}]
    province = rows(client(world, "anhui_reviewer").get("/api/v1/batches/"))
    assert {(q["city"], q["used"]) for q in province[0]["quotas"]} == {
        (world.org["chuzhou"].pk, 1), (world.org["hefei"].pk, 0)}
    assert [b["id"] for b in rows(client(world, "sichuan_clerk").get("/api/v1/batches/"))] == [sichuan.pk]
    assert rows(client(world, "anhui_expert").get("/api/v1/batches/")) == []  # experts hold no scope
    assert client(world, "langya_clerk").get(f"/api/v1/batches/{sichuan.pk}/").json()["code"] == "not_found"
    assert client(world, "langya_clerk").get(f"/api/v1/batches/{anhui.pk}/").json()["id"] == anhui.pk


def test_batch_filters_and_ordering(world):
    station, city = world.batch(STATION), world.batch(CITY_PROGRAM)
    api = client(world, "anhui_reviewer")
    assert [b["id"] for b in rows(api.get(f"/api/v1/batches/?program={CITY_PROGRAM}"))] == [city.pk]
    assert [b["id"] for b in rows(api.get("/api/v1/batches/?ordering=-id"))] == [city.pk, station.pk]
    assert [b["id"] for b in rows(api.get("/api/v1/batches/?ordering=id"))] == [station.pk, city.pk]
    assert len(rows(api.get("/api/v1/batches/?open=true"))) == 2
    assert rows(api.get("/api/v1/batches/?open=false")) == []
    assert rows(api.get(f"/api/v1/batches/?year={timezone.localdate().year + 1}")) == []
    for query in ("year=1e30", "province=99999999999999999999", "open=maybe"):
        assert api.get(f"/api/v1/batches/?{query}").status_code == 400, query


def test_organizations_are_the_callers_subtree(world):
    def names(username):
        return [o["name"] for o in rows(client(world, username).get("/api/v1/organizations/"))]

    assert names("langya_clerk") == ["琅琊区科学技术协会"]
    assert sorted(names("chuzhou_reviewer")) == sorted(["滁州市科学技术协会", "琅琊区科学技术协会", "南谯区科学技术协会"])
    anhui = names("anhui_admin")
    assert len(anhui) == 6 and not any("四川" in n or "成都" in n for n in anhui)
    assert names("anhui_expert") == []
    assert names("chuzhou_reviewer")[0] == "滁州市科学技术协会"  # the tree in path order
    api = client(world, "anhui_reviewer")
    assert [o["name"] for o in rows(api.get("/api/v1/organizations/?level=city&ordering=name"))] == sorted(
        ["滁州市科学技术协会", "合肥市科学技术协会"])
    assert api.get("/api/v1/organizations/?parent=1e30").status_code == 400


def test_experts_are_listed_for_the_province_reviewer_only(world):
    application = build(world, "expert_review")
    url = f"/api/v1/applications/{application.pk}/experts/"
    response = client(world, "anhui_reviewer").get(url)
    assert response.status_code == 200
    assert {e["id"] for e in response.json()} == {world.user["anhui_expert"].pk, world.user["anhui_expert2"].pk}
    assert client(world, "chuzhou_reviewer").get(url).json()["code"] == "not_allowed"  # sees it, may not choose
    assert client(world, "sichuan_reviewer").get(url).status_code == 404


def test_tasks_inbox_queue_and_claim(world):
    application = build(world, "city_review")
    api = client(world, "chuzhou_reviewer")
    queue = rows(api.get("/api/v1/tasks/?box=queue"))
    assert [(t["application"], t["claimed"]) for t in queue] == [(application.pk, False)]
    assert rows(api.get("/api/v1/tasks/")) == []  # the inbox: nothing claimed yet
    assert rows(client(world, "hefei_reviewer").get("/api/v1/tasks/?box=queue")) == []
    task = queue[0]["id"]
    assert client(world, "hefei_reviewer").post(f"/api/v1/tasks/{task}/claim/").status_code == 404
    claimed = api.post(f"/api/v1/tasks/{task}/claim/")
    assert claimed.status_code == 200 and claimed.json()["claimed"] is True
    assert [t["id"] for t in rows(api.get("/api/v1/tasks/?box=inbox"))] == [task]
    assert api.post(f"/api/v1/tasks/{task}/claim/").status_code == 404  # not in the queue any more
    assert api.get("/api/v1/tasks/?box=other").status_code == 400


def test_notifications_are_the_callers_and_are_marked_read(world):
    for user, n in (("langya_leader", 3), ("langya_clerk", 1)):
        Notification.objects.bulk_create(Notification(user=world.user[user], kind="task", title=f"待办{i}",
                                                      dedup_key=f"{user}{i}") for i in range(n))
    mine = rows(client(world, "langya_leader").get("/api/v1/notifications/?unread=true"))
    assert mine and all(n["read_at"] is None for n in mine)
    assert Notification.objects.filter(pk__in=[n["id"] for n in mine], user=world.user["langya_leader"]).count() \
        == len(mine)
    other = client(world, "langya_clerk")
    assert other.post(f"/api/v1/notifications/{mine[0]['id']}/read/").status_code == 404
    read = client(world, "langya_leader").post(f"/api/v1/notifications/{mine[0]['id']}/read/")
    assert read.status_code == 200 and read.json()["read_at"]
    left = rows(client(world, "langya_leader").get("/api/v1/notifications/?unread=true"))
    assert len(left) == len(mine) - 1 == 2
    assert [n["id"] for n in rows(client(world, "langya_leader").get("/api/v1/notifications/?unread=false"))] == [
        mine[0]["id"]]
    assert client(world, "langya_leader").get("/api/v1/notifications/?unread=1").status_code == 400


def test_documents_download_through_the_api(world):
    certified = build(world, "certified")
    api = client(world, "anhui_reviewer")
    response = api.get(f"/api/v1/applications/{certified.pk}/certificate-pdf/")
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    assert b"".join(response.streaming_content if response.streaming else [response.content]).startswith(b"%PDF")
    draft = chain.create(world, STATION)
    assert api.get(f"/api/v1/applications/{draft.pk}/certificate-pdf/").json()["code"] == "not_found"
    assert client(world, "sichuan_reviewer").get(
        f"/api/v1/applications/{certified.pk}/certificate-pdf/").status_code == 404
    form = api.get(f"/api/v1/applications/{certified.pk}/form-pdf/")
    assert form.status_code == 200 and form.content.startswith(b"%PDF")
    assert api.get(f"/api/v1/applications/{certified.pk}/form-pdf/?revision=0").status_code == 400
    batch = Batch.objects.get(pk=certified.batch_id)
    assert api.get(f"/api/v1/batches/{batch.pk}/notice-pdf/").content.startswith(b"%PDF")
    city = world.org["chuzhou"].pk
    for document in ("recommendation-pdf", "summary-pdf", "summary-xlsx"):
        url = f"/api/v1/batches/{batch.pk}/{document}/?city={city}&purpose=核对"
        assert client(world, "chuzhou_reviewer").get(url).status_code == 200, document
        assert client(world, "langya_clerk").get(url).status_code == 404, document  # a county: never
    assert api.get(f"/api/v1/batches/{batch.pk}/summary-pdf/?city=1e30").status_code == 400


@pytest.mark.parametrize("count", [2, 12])
def test_lists_cost_a_constant_number_of_queries(world, django_assert_num_queries, count):
    for n in range(count):
        _draft(world, STATION, "langya", "anhui", n)
    for n in range(count):
        Batch.objects.create(program=Program.objects.get(code=STATION), province=world.org["anhui"],
                             year=2000 + n, name=f"往年批次{n}", opens_on="2000-01-01", closes_on="2000-02-01")
    Notification.objects.bulk_create(Notification(user=world.user["anhui_reviewer"], kind="task", title=f"通知{n}",
                                                  dedup_key=f"q{n}") for n in range(count))
    # Each request as a new user object (the caller's seats are read once per request, then kept on it).
    reviewer = [fresh(world, "anhui_reviewer") for _ in range(4)]
    clerk = fresh(world, "langya_clerk")
    with django_assert_num_queries(5):  # seats; count; page; quotas with their cities; used (one grouped query)
        assert len(rows(reviewer[0].get("/api/v1/batches/"))) == count + 1
    with django_assert_num_queries(3):  # seats, count, page
        assert len(rows(reviewer[1].get("/api/v1/organizations/"))) == 6
    with django_assert_num_queries(2):  # count, page (the caller's own: no seats needed)
        assert len(rows(reviewer[2].get("/api/v1/notifications/"))) == count
    with django_assert_num_queries(2):  # count, page
        assert rows(reviewer[3].get("/api/v1/programs/"))
    with django_assert_num_queries(3):  # seats, count, page (process and application joined)
        assert len(rows(clerk.get("/api/v1/tasks/?box=queue"))) == count
    assert Application.objects.count() == count


# Every queue a task is claimed from besides the city's (test_tasks_inbox_queue_and_claim): the stage, who
# claims it (the stage's pool), who may not (someone who sees the application but is of another pool, and
# a pool of the same role elsewhere), then the stage's action through the API with the body it needs.
QUEUES = [
    ("applicant_signoff", "langya_leader", ("langya_clerk", "nanqiao_leader"), "sign-off", {}, "city_review"),
    ("province_check", "anhui_reviewer", ("anhui_leader", "sichuan_reviewer"), "accept", {}, "expert_review"),
    ("expert_review", "anhui_reviewer", ("anhui_leader", "sichuan_reviewer"), "assign-experts", "experts",
     "expert_review"),
    ("decision", "anhui_leader", ("anhui_reviewer", "sichuan_leader"), "decide",
     {"approve": True, "comment": "予以认定"}, "public_notice"),
    ("public_notice", "anhui_reviewer", ("anhui_leader", "sichuan_reviewer"), "publish-notice", {},
     "public_notice"),
]


@pytest.mark.parametrize(("stage", "claimer", "others", "path", "body", "to"), QUEUES, ids=[q[0] for q in QUEUES])
def test_tasks_of_every_queue_are_claimed_by_their_pool_and_done_through_the_api(world, stage, claimer, others,
                                                                                   path, body, to):
    application = build(world, stage)
    api = client(world, claimer)
    queue = rows(api.get("/api/v1/tasks/?box=queue"))
    assert [(t["application"], t["application_status"], t["claimed"]) for t in queue] == [
        (application.pk, stage, False)]
    task = queue[0]["id"]
    for other in others:
        assert rows(client(world, other).get("/api/v1/tasks/?box=queue")) == [], other
        refused = client(world, other).post(f"/api/v1/tasks/{task}/claim/")
        assert (refused.status_code, refused.json()["code"]) == (404, "not_found"), other
    claimed = api.post(f"/api/v1/tasks/{task}/claim/")
    assert claimed.status_code == 200, claimed.content[:400]
    assert (claimed.json()["id"], claimed.json()["application"], claimed.json()["claimed"]) == (
        task, application.pk, True)
    assert [t["id"] for t in rows(api.get("/api/v1/tasks/?box=inbox"))] == [task]
    assert rows(api.get("/api/v1/tasks/?box=queue")) == []
    assert api.post(f"/api/v1/tasks/{task}/claim/").status_code == 404  # claimed: not in the queue any more
    if body == "experts":
        body = {"expert_ids": [world.user["anhui_expert"].pk, world.user["anhui_expert2"].pk]}
    done = api.post(f"/api/v1/applications/{application.pk}/{path}/", body, format="json")
    assert done.status_code == 200, done.content[:400]
    assert done.json()["status"] == to
    assert task not in [t["id"] for t in rows(api.get("/api/v1/tasks/?box=inbox"))]  # the task is done


def test_an_experts_scoring_task_is_theirs_already_nothing_to_claim(world):
    application = build(world, "experts_assigned")
    for expert in ("anhui_expert", "anhui_expert2"):
        api = client(world, expert)
        assert rows(api.get("/api/v1/tasks/?box=queue")) == []
        inbox = rows(api.get("/api/v1/tasks/?box=inbox"))
        assert [(t["application"], t["node"], t["claimed"]) for t in inbox] == [(application.pk, "score", True)]
        assert api.post(f"/api/v1/tasks/{inbox[0]['id']}/claim/").status_code == 404  # nobody else's to take
    other = rows(client(world, "anhui_expert").get("/api/v1/tasks/?box=inbox"))[0]["id"]
    assert client(world, "anhui_expert2").post(f"/api/v1/tasks/{other}/claim/").status_code == 404
