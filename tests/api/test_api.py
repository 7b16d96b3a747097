"""The REST API: every transition's status codes, scope of the list and of the detail, attachments,
history, both languages, token authentication, the OpenAPI schema and the list's query count."""
import hashlib
import json
from dataclasses import dataclass, field

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone, translation
from drf_spectacular.validation import validate_schema
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from approvals import errors as E
from approvals import services as svc
from approvals.api import MSG_INVALID_REQUEST, MSG_REVISION_NOT_FOUND
from approvals.models import (
    Application,
    ApplicationUserObjectPermission,
    AuditEvent,
    BatchQuota,
    ExpertAssignment,
    Opinion,
    Program,
)
from approvals.stages import ACTIONS, ROUTED_ACTIONS, Action
from orgs.models import Level, Membership, Organization
from tests.approvals import chain
from tests.approvals.chain import act
from tests.approvals.conftest import ORGS, USCC, minimal_pdf
from tests.factories import TEST_PASSWORD, UserFactory

STATION = "society-service-station"
CITY_PROGRAM = "innovation-driven-city"


def client(world=None, username=None, lang=None) -> APIClient:
    api = APIClient()
    if username:
        api.force_authenticate(world.user[username])
    if lang:
        api.credentials(HTTP_ACCEPT_LANGUAGE=lang)
    return api


def post(world, username, application, path, body=None, lang=None):
    return client(world, username, lang).post(f"/api/v1/applications/{application.pk}/{path}/", body or {},
                                              format="json")


def snapshot(application) -> tuple:
    """What a refused action must leave as it was."""
    application = Application.objects.get(pk=application.pk)
    return (application.status, application.revision, application.audit_seq, application.audit_head,
            AuditEvent.objects.filter(application=application).count(),
            Opinion.objects.filter(application=application).count(),
            ExpertAssignment.objects.filter(application=application).count())


def status_of(application) -> str:
    return Application.objects.get(pk=application.pk).status


# ------------------------------------------------------------------------------ moving along the chain


def _experts(world, application):
    svc.application_assign_experts(actor=act(world, "anhui_reviewer"), application_id=application.pk,
                                   expert_ids=[world.user["anhui_expert"].pk, world.user["anhui_expert2"].pk])


def _scores(world, application):
    for expert in ("anhui_expert", "anhui_expert2"):
        svc.application_score(actor=act(world, expert), application_id=application.pk, score=90)


STEPS = (
    ("applicant_signoff", lambda w, a: svc.application_submit(actor=act(w, "langya_clerk"), application_id=a.pk)),
    ("city_review", lambda w, a: svc.application_sign_off(actor=act(w, "langya_leader"), application_id=a.pk)),
    ("province_check", lambda w, a: svc.application_recommend(actor=act(w, "chuzhou_reviewer"), application_id=a.pk)),
    ("expert_review", lambda w, a: svc.application_accept(actor=act(w, "anhui_reviewer"), application_id=a.pk)),
    ("experts_assigned", _experts),
    ("decision", _scores),
    ("public_notice", lambda w, a: svc.application_decide(actor=act(w, "anhui_leader"), application_id=a.pk,
                                                          approve=True, comment="予以认定")),
    ("notice_over", lambda w, a: chain.publish_and_wait(w, a)),
    ("approved", lambda w, a: svc.application_approve(actor=act(w, "anhui_leader"), application_id=a.pk)),
    ("certified", lambda w, a: svc.application_issue_certificate(actor=act(w, "anhui_reviewer"),
                                                                 application_id=a.pk)),
)
STAGES = ("draft",) + tuple(name for name, _step in STEPS)


def build(world, stage: str) -> Application:
    """A 学会服务站 of 琅琊区 (滁州市, 安徽省) moved along the chain to `stage`."""
    application = chain.create(world, STATION)
    for _name, step in STEPS[: STAGES.index(stage)]:
        step(world, application)
    application = Application.objects.get(pk=application.pk)
    assert application.status == {"experts_assigned": "expert_review", "notice_over": "public_notice"}.get(
        stage, stage)
    return application


# ---------------------------------------------------------------------------- every transition, every code


@dataclass(frozen=True)
class Case:
    path: str
    stage: str  # where it is allowed
    actor: str  # who may do it there
    body: dict
    to: str  # status afterwards
    forbidden: str  # sees the application, may not act
    outsider: str  # another province: must not learn it exists
    wrong_stage: str  # where the actor may not do it
    bad_body: object  # refused with 400
    bad_errors: dict = field(default_factory=dict)  # exact field errors of that 400
    bad_code: str = "invalid"


REQUIRED = ["该字段是必填项。"]
NOT_A_STRING = ["应为文本"]  # approvals.api.TextField: text only
OPINION = [str(E.MSG_OPINION_REQUIRED)]

CASES = [
    Case("submit", "draft", "langya_clerk", {}, "applicant_signoff", "langya_leader", "sichuan_clerk",
         "applicant_signoff", {"comment": {"x": 1}}, {"comment": NOT_A_STRING}),
    Case("withdraw", "draft", "langya_clerk", {"comment": "不再申报"}, "withdrawn", "langya_leader",
         "pidu_clerk", "province_check", {"comment": ["a"]}, {"comment": NOT_A_STRING}),
    Case("sign-off", "applicant_signoff", "langya_leader", {"comment": "同意上报"}, "city_review", "langya_clerk",
         "sichuan_leader", "draft", {"comment": "长" * 5001}, {"comment": ["意见不能超过 5000 字"]}),
    Case("return", "city_review", "chuzhou_reviewer", {"comment": "请补充技术需求"}, "draft", "chuzhou_clerk",
         "chengdu_reviewer", "expert_review", {"comment": "  "}, {"comment": OPINION}),
    Case("recommend", "city_review", "chuzhou_reviewer", {"comment": "同意推荐"}, "province_check",
         "chuzhou_clerk", "chengdu_reviewer", "province_check", {"comment": {}},
         {"comment": NOT_A_STRING}),
    Case("decline", "city_review", "chuzhou_reviewer", {"comment": "条件不足"}, "not_recommended",
         "chuzhou_leader", "chengdu_reviewer", "province_check", {}, {"comment": OPINION}),
    Case("accept", "province_check", "anhui_reviewer", {"comment": "材料齐全"}, "expert_review",
         "chuzhou_reviewer", "sichuan_reviewer", "expert_review", {"comment": []}, {"comment": NOT_A_STRING}),
    Case("assign-experts", "expert_review", "anhui_reviewer", {"expert_ids": "EXPERTS"}, "expert_review",
         "anhui_leader", "sichuan_reviewer", "decision", {}, {"expert_ids": REQUIRED}),
    Case("score", "experts_assigned", "anhui_expert", {"score": "88.5", "comment": "基础较好"}, "expert_review",
         "anhui_reviewer", "sichuan_expert", "decision", {"score": 150},
         {"score": [str(E.MSG_SCORE_RANGE)]}),
    Case("decide", "decision", "anhui_leader", {"approve": True, "comment": "予以认定"}, "public_notice",
         "anhui_reviewer", "sichuan_leader", "public_notice", {"approve": True}, {"comment": OPINION}),
    Case("publish-notice", "public_notice", "anhui_reviewer", {}, "public_notice", "anhui_leader",
         "sichuan_reviewer", "decision", {"starts_on": "2026-02-30"},
         {"starts_on": ["日期格式错误。请从这些格式中选择：YYYY-MM-DD。"]}),
    Case("object", "notice_over", "anhui_reviewer", {"comment": "异议经核查不成立", "upheld": False},
         "public_notice", "anhui_leader", "sichuan_reviewer", "decision", {"upheld": True}, {"comment": OPINION}),
    Case("approve", "notice_over", "anhui_leader", {}, "approved", "anhui_reviewer", "sichuan_leader",
         "decision", {"comment": {}}, {"comment": NOT_A_STRING}),
    Case("issue-certificate", "approved", "anhui_reviewer", {}, "certified", "anhui_leader", "sichuan_reviewer",
         "certified", "MALFORMED", {}, "parse_error"),
    Case("revoke", "certified", "anhui_leader", {"comment": "材料造假"}, "revoked", "anhui_reviewer",
         "sichuan_leader", "approved", {}, {"comment": OPINION}),
]
IDS = [case.path for case in CASES]


def _body(world, body):
    if body == {"expert_ids": "EXPERTS"}:
        return {"expert_ids": [world.user["anhui_expert"].pk, world.user["anhui_expert2"].pk]}
    return body


def test_the_cases_cover_every_transition():
    assert sorted(case.path for case in CASES) == sorted(Action(a).url for a in ROUTED_ACTIONS)
    assert len(ROUTED_ACTIONS) == 15


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_transition_succeeds_with_200(world, case):
    application = build(world, case.stage)
    response = post(world, case.actor, application, case.path, _body(world, case.body))
    assert response.status_code == 200, response.json()
    assert response.json()["id"] == application.pk
    assert response.json()["status"] == case.to
    assert status_of(application) == case.to
    event = AuditEvent.objects.filter(application=application).order_by("-seq").first()
    assert event.actor == world.user[case.actor]
    assert event.client_ip == "127.0.0.1"


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_transition_refuses_a_bad_request_with_400(world, case):
    application = build(world, case.stage)
    before = snapshot(application)
    if case.bad_body == "MALFORMED":
        response = client(world, case.actor).post(f"/api/v1/applications/{application.pk}/{case.path}/",
                                                  data="{not json", content_type="application/json")
    else:
        response = post(world, case.actor, application, case.path, case.bad_body)
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == case.bad_code
    assert body["errors"] == case.bad_errors
    if case.bad_code == "invalid" and "comment" in case.bad_errors and case.bad_errors["comment"] == OPINION:
        assert body["detail"] == "请填写意见"
    assert snapshot(application) == before


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_transition_refuses_who_can_see_but_may_not_act_with_403(world, case):
    application = build(world, case.stage)
    assert client(world, case.forbidden).get(f"/api/v1/applications/{application.pk}/").status_code == 200
    before = snapshot(application)
    response = post(world, case.forbidden, application, case.path, _body(world, case.body))
    assert response.status_code == 403
    assert response.json()["code"] == "not_allowed"
    assert response.json()["detail"].startswith("您没有在当前环节执行“")
    assert snapshot(application) == before


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_transition_outside_scope_is_404(world, case):
    application = build(world, case.stage)
    before = snapshot(application)
    response = post(world, case.outsider, application, case.path, _body(world, case.body))
    assert response.status_code == 404
    assert response.json() == {"code": "not_found", "message": "申报不存在或不在您的权限范围内", "detail": "申报不存在或不在您的权限范围内", "errors": {}}
    assert snapshot(application) == before


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_transition_in_a_wrong_state_is_409(world, case):
    application = build(world, case.wrong_stage)
    before = snapshot(application)
    actor = case.actor if case.path != "score" else "anhui_expert"
    response = post(world, actor, application, case.path, _body(world, case.body))
    assert response.status_code == 409, response.json()
    assert response.json()["code"] == "conflict"
    assert snapshot(application) == before


def test_recommend_twice_is_409_with_the_state_in_the_message(world):
    application = build(world, "city_review")
    assert post(world, "chuzhou_reviewer", application, "recommend").status_code == 200
    before = snapshot(application)
    response = post(world, "chuzhou_reviewer", application, "recommend")
    assert response.status_code == 409
    assert response.json() == {
        "code": "conflict",
        "message": "申报当前状态为“省级形式审查中”，不能执行“推荐”，可能已被他人处理，请刷新后重试",
        "detail": "申报当前状态为“省级形式审查中”，不能执行“推荐”，可能已被他人处理，请刷新后重试",
        "errors": {},
    }
    assert snapshot(application) == before


def test_score_twice_is_409_and_the_last_score_closes_the_review(world):
    application = build(world, "experts_assigned")
    assert post(world, "anhui_expert", application, "score", {"score": 80}).json()["status"] == "expert_review"
    response = post(world, "anhui_expert", application, "score", {"score": 81})
    assert response.status_code == 409
    assert response.json()["detail"] == str(E.MSG_ALREADY_SCORED)
    assert post(world, "anhui_expert2", application, "score", {"score": 95}).json()["status"] == "decision"
    assert sorted(ExpertAssignment.objects.filter(application=application).values_list("score", flat=True)) == [
        80, 95]


def test_recommend_beyond_the_quota_is_409(world):
    BatchQuota.objects.filter(batch=world.batch(STATION)).update(quota=1)
    first, second = build(world, "city_review"), build(world, "city_review")
    assert post(world, "chuzhou_reviewer", first, "recommend").status_code == 200
    before = snapshot(second)
    response = post(world, "chuzhou_reviewer", second, "recommend")
    assert response.status_code == 409
    assert response.json() == {"code": "quota", "message": "本批次推荐名额已用完（1/1）", "detail": "本批次推荐名额已用完（1/1）", "errors": {}}
    assert snapshot(second) == before


def test_submit_without_the_required_attachments_is_400(world):
    application = svc.application_create(
        actor=act(world, "langya_clerk"), batch=world.batch(STATION), applicant=world.org["langya"],
        subject_name="滁州某某智能装备有限公司", uscc=USCC, division_code="341102",
        form_data=chain.FORMS[STATION](),
    )
    before = snapshot(application)
    response = post(world, "langya_clerk", application, "submit")
    assert response.status_code == 400
    labels = "、".join(kind["label"] for kind in Program.objects.get(code=STATION).attachment_kinds)
    assert response.json() == {"code": "rule", "message": f"缺少必备附件：{labels}", "detail": f"缺少必备附件：{labels}", "errors": {}}
    assert snapshot(application) == before


def test_assign_experts_refuses_too_few_and_non_experts(world):
    application = build(world, "expert_review")
    before = snapshot(application)
    response = post(world, "anhui_reviewer", application, "assign-experts",
                    {"expert_ids": [world.user["anhui_expert"].pk]})
    assert (response.status_code, response.json()["detail"]) == (400, "请至少指派 2 名评审专家")
    clerk = world.user["anhui_clerk"].pk
    response = post(world, "anhui_reviewer", application, "assign-experts",
                    {"expert_ids": [world.user["anhui_expert"].pk, clerk]})
    assert (response.status_code, response.json()["detail"]) == (400, f"{clerk} 不是本省的评审专家")
    assert snapshot(application) == before


def test_approve_before_the_notice_is_over_is_400(world):
    application = build(world, "public_notice")
    post(world, "anhui_reviewer", application, "publish-notice", {"starts_on": timezone.localdate().isoformat()})
    before = snapshot(application)
    response = post(world, "anhui_leader", application, "approve")
    assert response.status_code == 400
    ends = Application.objects.get(pk=application.pk).notice_ends_on
    assert response.json() == {"code": "rule", "message": f"公示期至 {ends} 结束，结束前不能认定", "detail": f"公示期至 {ends} 结束，结束前不能认定", "errors": {}}
    assert snapshot(application) == before


def test_decide_reject_and_an_upheld_objection(world):
    application = build(world, "decision")
    response = post(world, "anhui_leader", application, "decide", {"approve": False, "comment": "不符合条件"})
    assert response.json()["status"] == "rejected"
    other = build(world, "notice_over")
    response = post(world, "anhui_reviewer", other, "object", {"comment": "异议成立", "upheld": True})
    assert response.json()["status"] == "decision"


def test_publish_notice_sets_the_period_and_issue_certificate_returns_it(world):
    application = build(world, "public_notice")
    past = post(world, "anhui_reviewer", application, "publish-notice", {"starts_on": "2026-03-02"})
    first, last = svc.notice_start_choices()[0], svc.notice_start_choices()[-1]
    assert past.status_code == 400
    assert past.json()["errors"] == {"starts_on": [str(E.MSG_NOTICE_START % {"first": first, "last": last})]}
    response = post(world, "anhui_reviewer", application, "publish-notice", {"starts_on": last.isoformat()})
    assert response.json()["notice_starts_on"] == last.isoformat()
    assert response.json()["notice_ends_on"] is not None
    certified = build(world, "approved")
    body = post(world, "anhui_reviewer", certified, "issue-certificate").json()
    assert body["status"] == "certified"
    assert body["certificate"]["number"] == Application.objects.get(pk=certified.pk).certificate.number
    assert body["certificate"]["status"] == "valid"


# ---------------------------------------------------------------------------------- create and edit


def _create_body(world, **overrides):
    body = {"batch": world.batch(STATION).pk, "applicant": world.org["langya"].pk,
            "subject_name": "滁州某某智能装备有限公司", "uscc": USCC, "division_code": "341102",
            "form_data": {"address": "琅琊区丰乐大道 1 号"}}
    body.update(overrides)
    return body


def test_create_is_201_with_the_draft(world):
    response = client(world, "langya_clerk").post("/api/v1/applications/", _create_body(world), format="json")
    assert response.status_code == 201, response.json()
    body = response.json()
    assert response["Location"] == f"/api/v1/applications/{body['id']}/"
    assert (body["status"], body["revision"], body["program"], body["applicant"]) == (
        "draft", 1, STATION, world.org["langya"].pk)
    assert body["form_data"] == {"address": "琅琊区丰乐大道 1 号"}
    assert Application.objects.get(pk=body["id"]).created_by == world.user["langya_clerk"]


def test_create_refuses_bad_fields_with_400_and_other_roles_with_403(world):
    api = client(world, "langya_clerk")
    response = api.post("/api/v1/applications/", {"subject_name": "x"}, format="json")
    assert response.status_code == 400
    assert response.json()["errors"] == {"batch": REQUIRED, "applicant": REQUIRED, "division_code": REQUIRED}
    assert response.json()["detail"] == str(MSG_INVALID_REQUEST) == "请求内容有误"
    response = api.post("/api/v1/applications/", _create_body(world, uscc="91341100MA2N0XKX1A"), format="json")
    assert response.status_code == 400
    assert response.json() == {"code": "invalid", "message": "申报内容有误", "detail": "申报内容有误",
                               "errors": {"uscc": ["统一社会信用代码“91341100MA2N0XKX1A”无效"]}}
    response = client(world, "langya_leader").post("/api/v1/applications/", _create_body(world), format="json")
    assert response.status_code == 403
    assert response.json()["detail"] == "您没有在当前环节执行“创建申报”的权限"
    assert not Application.objects.exists()


def test_patch_edits_a_draft_and_refuses_after_submission(world):
    application = build(world, "draft")
    api = client(world, "langya_clerk")
    etag = api.get(f"/api/v1/applications/{application.pk}/")["ETag"]
    response = api.patch(f"/api/v1/applications/{application.pk}/", {"subject_name": "滁州新名称有限公司"},
                         format="json", HTTP_IF_MATCH=etag)
    assert (response.status_code, response.json()["subject_name"]) == (200, "滁州新名称有限公司")
    post(world, "langya_clerk", application, "submit")
    response = api.patch(f"/api/v1/applications/{application.pk}/", {"subject_name": "又改"}, format="json",
                         HTTP_IF_MATCH=response["ETag"])
    assert (response.status_code, response.json()["code"]) == (409, "conflict")
    assert Application.objects.get(pk=application.pk).subject_name == "滁州新名称有限公司"


# ------------------------------------------------------------------------------------ reads and scope


def test_detail_is_404_outside_the_scope(world):
    application = build(world, "city_review")
    for username in ("langya_clerk", "chuzhou_reviewer", "anhui_leader", "anhui_auditor"):
        assert client(world, username).get(f"/api/v1/applications/{application.pk}/").status_code == 200
    for username in ("nanqiao_clerk", "hefei_reviewer", "yaohai_leader", "sichuan_leader", "pidu_clerk"):
        response = client(world, username).get(f"/api/v1/applications/{application.pk}/")
        assert response.status_code == 404
        assert response.json()["detail"] == "申报不存在或不在您的权限范围内"
    assert client(world, "anhui_leader").get("/api/v1/applications/999999/").status_code == 404


def _descendants(key: str) -> set[str]:
    """Organization keys at or under `key`, read from the fixture's table (not from the paths)."""
    found, changed = {key}, True
    while changed:
        changed = False
        for child, (_name, _code, _level, parent) in ORGS.items():
            if parent in found and child not in found:
                found.add(child)
                changed = True
    return found


def _draft(world, program_code: str, applicant: str, province: str, n: int) -> Application:
    """A new draft; a subject without a credit code (the county or city itself) has one live application
    per batch, so an earlier live one of the same subject is withdrawn first."""
    batch, division = world.batch(program_code, province), world.division[applicant]
    requires_uscc = Program.objects.get(code=program_code).requires_uscc
    if not requires_uscc:
        for earlier in Application.objects.filter(batch=batch, division=division, status="draft"):
            svc.application_withdraw(actor=act(world, f"{applicant}_clerk"), application_id=earlier.pk)
    return svc.application_create(
        actor=act(world, f"{applicant}_clerk"), batch=batch,
        applicant=world.org[applicant], subject_name=f"{ORGS[applicant][0]}第{n}号申报主体",
        uscc=chain.fresh_uscc() if requires_uscc else "", division_code=division.code,
    )


COUNTY_PROGRAMS = (STATION, "collaborative-innovation-base", "innovation-driven-county")
COUNTIES = (("langya", "anhui"), ("nanqiao", "anhui"), ("yaohai", "anhui"), ("pidu", "sichuan"))
CITIES = (("chuzhou", "anhui"), ("hefei", "anhui"), ("chengdu", "sichuan"))


def _thirty(world) -> dict[int, str]:
    """30 applications: 2 per county and county-level program, 2 per city of the city-level program."""
    owner, n = {}, 0
    for applicant, province in COUNTIES:
        for program_code in COUNTY_PROGRAMS:
            for _ in range(2):
                n += 1
                owner[_draft(world, program_code, applicant, province, n).pk] = applicant
    for applicant, province in CITIES:
        for _ in range(2):
            n += 1
            owner[_draft(world, CITY_PROGRAM, applicant, province, n).pk] = applicant
    return owner


def _listed(api, query="") -> list[int]:
    response = api.get(f"/api/v1/applications/{query}")
    assert response.status_code == 200
    body = response.json()
    assert body["next"] is None
    ids = [row["id"] for row in body["results"]]
    assert body["count"] == len(ids) == len(set(ids))
    return ids


def test_every_user_lists_exactly_their_subtree_plus_grants(world):
    owner = _thirty(world)
    assert len(owner) == 30
    some = sorted(owner)
    # Grants the way expert assignment makes them: an outsider, and a Sichuan county clerk on Anhui ones.
    outsider = UserFactory(username="outside_expert")
    national = UserFactory(username="national_auditor")
    Membership.objects.create(user=national, organization=Organization.objects.get(level=Level.NATIONAL),
                              role="auditor")
    world.user.update({"outside_expert": outsider, "national_auditor": national})
    # A grant counts only with a current expert membership in the application's province: the Anhui expert
    # sees the Anhui one granted, not the Sichuan one; the clerk's stray grant counts for nothing.
    Membership.objects.create(user=outsider, organization=world.org["anhui"], role="expert")
    anhui_ids = set(Application.objects.filter(province=world.org["anhui"]).values_list("pk", flat=True))
    stray = {"outside_expert": {some[0], some[-1]}, "pidu_clerk": {some[1]}}
    assert some[0] in anhui_ids and some[-1] not in anhui_ids
    for username, ids in stray.items():
        for pk in ids:
            ApplicationUserObjectPermission.objects.create(
                user=world.user[username], content_object_id=pk,
                permission=svc.Permission.objects.get(codename="score_application"),
            )
    granted = {"outside_expert": {some[0]}}
    checked = 0
    for username in world.user:
        org_key = username.split("_")[0]
        subtree = _descendants(org_key) if org_key in ORGS else set()
        if org_key == "national":
            subtree = set(ORGS)
        if "_expert" in username:  # experts see only what was granted to them
            subtree = set()
        expected = {pk for pk, applicant in owner.items() if applicant in subtree} | granted.get(username, set())
        listed = _listed(client(world, username))
        assert set(listed) == expected, username
        assert all(owner[pk] in subtree or pk in granted.get(username, set()) for pk in listed), username
        checked += 1
    assert checked == len(ORGS) * 6 + 2 + 2
    assert len(_listed(client(world, "national_auditor"))) == 30
    assert len(_listed(client(world, "anhui_clerk"))) == 22
    assert len(_listed(client(world, "chuzhou_leader"))) == 14
    assert len(_listed(client(world, "langya_clerk"))) == 6
    assert set(_listed(client(world, "outside_expert"))) == {some[0]}


def test_list_filters_and_search(world):
    owner = _thirty(world)
    api = client(world, "anhui_reviewer")
    anhui = {pk for pk, key in owner.items() if key in _descendants("anhui")}
    stations = set(Application.objects.filter(pk__in=anhui, program__code=STATION).values_list("pk", flat=True))
    assert set(_listed(api, f"?program={STATION}")) == stations and len(stations) == 6
    batch = world.batch(CITY_PROGRAM)
    assert set(_listed(api, f"?batch={batch.pk}")) == set(
        Application.objects.filter(batch=batch).values_list("pk", flat=True))
    hefei = {pk for pk, key in owner.items() if key in ("hefei", "yaohai")}
    assert set(_listed(api, f"?city={world.org['hefei'].pk}")) == hefei and len(hefei) == 8
    year = timezone.localdate().year
    assert set(_listed(api, f"?year={year}")) == anhui
    assert _listed(api, f"?year={year - 1}") == []
    target = next(pk for pk, key in owner.items() if key == "yaohai")
    Application.objects.filter(pk=target).update(status="city_review")
    assert _listed(api, "?status=city_review") == [target]
    assert set(_listed(api, "?status=city_review&status=draft")) == set(
        Application.objects.filter(pk__in=anhui, status__in=["draft", "city_review"]).values_list("pk", flat=True))
    name = Application.objects.get(pk=target).subject_name
    assert _listed(api, f"?search={name}") == [target]
    assert set(_listed(api, f"?search={USCC[:10]}")) == {
        pk for pk in anhui if Application.objects.get(pk=pk).uscc}
    # Filters never widen the scope: Sichuan's applications stay out whatever is asked.
    assert _listed(api, f"?city={world.org['chengdu'].pk}") == []
    response = api.get("/api/v1/applications/?status=nonsense")
    assert response.status_code == 400
    assert list(response.json()["errors"]) == ["status"]


@pytest.mark.parametrize("count", [5, 25])
def test_the_list_costs_a_constant_number_of_queries(world, django_assert_num_queries, count):
    for n in range(count):
        _draft(world, COUNTY_PROGRAMS[n % 3], ("langya", "nanqiao", "yaohai")[n % 3], "anhui", n)
    api = client(world, "anhui_reviewer")
    # memberships and delegations of the caller (no grants: not an expert), the page's count, the page
    # itself (program, batch, applicant, city joined)
    with django_assert_num_queries(3):
        response = api.get(f"/api/v1/applications/?year={timezone.localdate().year}")
    assert response.json()["count"] == count
    assert response.json()["results"][0]["applicant_name"].endswith("科学技术协会")


# ----------------------------------------------------------------------------- history and attachments


def test_revisions_diff_opinions_and_events(world):
    application = build(world, "city_review")
    post(world, "chuzhou_reviewer", application, "return", {"comment": "请修改名称"})
    api = client(world, "langya_clerk")
    etag = api.get(f"/api/v1/applications/{application.pk}/")["ETag"]
    api.patch(f"/api/v1/applications/{application.pk}/", {"subject_name": "滁州改名有限公司"}, format="json",
              HTTP_IF_MATCH=etag)
    assert post(world, "langya_clerk", application, "submit").json()["revision"] == 2
    base = f"/api/v1/applications/{application.pk}"
    assert [r["number"] for r in api.get(f"{base}/revisions/").json()] == [1, 2]
    diff = api.get(f"{base}/revisions/diff/?old=1&new=2").json()
    assert diff == [{"field": "subject_name", "label": "申报主体名称", "old": "滁州某某智能装备有限公司",
                     "new": "滁州改名有限公司"}]
    response = api.get(f"{base}/revisions/diff/?old=1")
    assert (response.status_code, response.json()["errors"]) == (400, {"new": REQUIRED})
    response = api.get(f"{base}/revisions/diff/?old=1&new=3")
    assert (response.status_code, response.json()["detail"]) == (404, str(MSG_REVISION_NOT_FOUND))
    opinions = api.get(f"{base}/opinions/").json()
    assert [(o["stage"], o["decision"], o["text"]) for o in opinions] == [
        ("applicant_signoff", "agree", ""), ("city_review", "return", "请修改名称")]
    assert opinions[0]["revision"] == 1
    assert opinions[1]["person"]["name"] == world.user["chuzhou_reviewer"].get_full_name()
    events = api.get(f"{base}/events/").json()
    assert [e["action"] for e in events][-4:] == ["sign_off", "return", "edit", "submit"]
    assert [e["seq"] for e in events] == list(range(1, len(events) + 1))
    assert events[1]["prev_hash"] == events[0]["hash"]
    for path in ("revisions/", "revisions/diff/?old=1&new=2", "opinions/", "events/"):
        assert client(world, "sichuan_reviewer").get(f"{base}/{path}").status_code == 404


def test_attachments_upload_list_download_remove(world):
    application = svc.application_create(
        actor=act(world, "langya_clerk"), batch=world.batch(STATION), applicant=world.org["langya"],
        subject_name="滁州某某智能装备有限公司", uscc=USCC, division_code="341102",
    )
    base = f"/api/v1/applications/{application.pk}/attachments/"
    content = minimal_pdf("申请表")
    upload = SimpleUploadedFile("申请表.pdf", content, content_type="application/pdf")
    response = client(world, "langya_clerk").post(base, {"kind": "application_form", "file": upload},
                                                  format="multipart")
    assert response.status_code == 201, response.json()
    created = response.json()
    assert (created["kind"], created["original_name"], created["size"], created["sha256"]) == (
        "application_form", "申请表.pdf", len(content), hashlib.sha256(content).hexdigest())
    assert [a["id"] for a in client(world, "chuzhou_reviewer").get(base).json()] == [created["id"]]

    download = f"{base}{created['id']}/download/"
    response = client(world, "chuzhou_reviewer").get(download, HTTP_ACCEPT="application/pdf")
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == content
    assert response["Content-Type"] == "application/pdf"
    assert response["X-Content-SHA256"] == created["sha256"]
    assert "attachment" in response["Content-Disposition"]
    for outsider in ("nanqiao_clerk", "sichuan_reviewer"):
        response = client(world, outsider).get(download)
        assert (response.status_code, response["Content-Type"]) == (404, "application/json")
    assert client(world, "chuzhou_reviewer").get(f"{base}999999/download/").status_code == 404

    text = SimpleUploadedFile("说明.txt", b"plain text", content_type="text/plain")
    response = client(world, "langya_clerk").post(base, {"kind": "agreement", "file": text}, format="multipart")
    assert response.status_code == 400
    assert response.json()["detail"] == "附件“说明.txt”的内容不是允许的格式（PDF、JPEG、PNG、DOCX、XLSX）"
    again = SimpleUploadedFile("a.pdf", content, content_type="application/pdf")
    response = client(world, "langya_leader").post(base, {"kind": "agreement", "file": again}, format="multipart")
    assert response.status_code == 403
    response = client(world, "langya_clerk").post(base, {"kind": "agreement"}, format="multipart")
    assert (response.status_code, list(response.json()["errors"])) == (400, ["file"])

    assert client(world, "langya_leader").delete(f"{base}{created['id']}/").status_code == 403
    assert client(world, "langya_clerk").delete(f"{base}{created['id']}/").status_code == 204
    listed = client(world, "langya_clerk").get(base).json()
    assert [(a["id"], a["removed_in"]) for a in listed] == [(created["id"], 1)]


# ------------------------------------------------------------------------------------------ languages


def test_messages_are_chinese_by_default_and_english_on_request(world):
    application = build(world, "city_review")
    zh = {
        404: post(world, "sichuan_reviewer", application, "recommend").json()["detail"],
        403: post(world, "chuzhou_clerk", application, "recommend").json()["detail"],
        400: post(world, "chuzhou_reviewer", application, "decline").json(),
    }
    en = {
        404: post(world, "sichuan_reviewer", application, "recommend", lang="en").json()["detail"],
        403: post(world, "chuzhou_clerk", application, "recommend", lang="en").json()["detail"],
        400: post(world, "chuzhou_reviewer", application, "decline", lang="en").json(),
    }
    assert zh[404] == "申报不存在或不在您的权限范围内"
    assert en[404] == "The application does not exist or is outside your scope."
    assert zh[403] == "您没有在当前环节执行“推荐”的权限"
    assert en[403] == "You may not perform “Recommend” at the current stage."
    assert zh[400] == {"code": "invalid", "message": "请填写意见", "detail": "请填写意见", "errors": {"comment": ["请填写意见"]}}
    assert en[400] == {"code": "invalid", "message": "Please enter your opinion.", "detail": "Please enter your opinion.",
                       "errors": {"comment": ["Please enter your opinion."]}}
    post(world, "chuzhou_reviewer", application, "recommend")
    response = post(world, "chuzhou_reviewer", application, "recommend", lang="en")
    assert response.json()["detail"] == (
        "The application's status is “Provincial formal check”, so “Recommend” is not possible; someone may "
        "have handled it already. Please refresh and try again."
    )
    detail = client(world, "chuzhou_reviewer", lang="en").get(f"/api/v1/applications/{application.pk}/").json()
    assert detail["status_label"] == "Provincial formal check"
    response = client(world, "langya_clerk", lang="en").post("/api/v1/applications/", {}, format="json")
    assert response.json()["detail"] == "The request is not valid."
    assert response.json()["errors"]["batch"] == ["This field is required."]


def test_every_action_label_is_in_the_catalogue():
    with translation.override("zh-hans"):
        chinese = [str(label) for label in Action.labels]
    with translation.override("en"):
        english = [str(label) for label in Action.labels]
    assert {str(spec.label) for spec in ACTIONS.values()} | {"创建申报"} <= set(chinese)
    assert [zh for zh, en in zip(chinese, english, strict=True) if zh == en] == []
    assert dict(zip(chinese, english, strict=True))["不予推荐"] == "Decline"


# ------------------------------------------------------------------------- authentication and schema


def test_token_authentication(world):
    anonymous = APIClient()
    response = anonymous.get("/api/v1/applications/")
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == "Token"
    assert response.json()["code"] == "not_authenticated"

    response = anonymous.post("/api/v1/auth/token/", {"username": "chuzhou_reviewer", "password": TEST_PASSWORD},
                              format="json")
    assert response.status_code == 200
    key = response.json()["token"]
    assert key == Token.objects.get(user=world.user["chuzhou_reviewer"]).key
    application = build(world, "city_review")
    with_token = APIClient()
    with_token.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    assert _listed(with_token) == [application.pk]
    response = with_token.post(f"/api/v1/applications/{application.pk}/recommend/", {"comment": "同意"},
                               format="json")
    assert response.status_code == 200
    assert AuditEvent.objects.filter(application=application).last().actor == world.user["chuzhou_reviewer"]

    response = anonymous.post("/api/v1/auth/token/", {"username": "chuzhou_reviewer", "password": "wrong"},
                              format="json")
    assert response.status_code == 400
    assert list(response.json()["errors"]) == ["non_field_errors"]
    bad = APIClient()
    bad.credentials(HTTP_AUTHORIZATION="Token 0123456789abcdef")
    assert bad.get("/api/v1/applications/").status_code == 401


def test_session_authentication_works_too(world):
    application = build(world, "city_review")
    api = APIClient()
    api.force_login(world.user["chuzhou_reviewer"])
    assert _listed(api) == [application.pk]


def test_schema_is_valid_openapi_with_every_transition(world):
    response = APIClient().get("/api/v1/schema/?format=json")
    assert response.status_code == 200
    schema = json.loads(response.content)
    validate_schema(schema)
    assert schema["openapi"].startswith("3.")
    paths = schema["paths"]
    for name in ROUTED_ACTIONS:
        operation = paths[f"/api/v1/applications/{{id}}/{Action(name).url}/"]["post"]
        # its own answers, and those of every JSON POST (approvals.api.schema_common_answers)
        assert set(operation["responses"]) == {"200", "400", "401", "403", "404", "409", "413", "415"}
    for path in ("/api/v1/applications/", "/api/v1/applications/{id}/", "/api/v1/applications/{id}/revisions/diff/",
                 "/api/v1/applications/{id}/attachments/", "/api/v1/applications/{id}/events/",
                 "/api/v1/applications/{id}/opinions/", "/api/v1/auth/token/"):
        assert path in paths
    names = {p["name"] for p in paths["/api/v1/applications/"]["get"]["parameters"]}
    assert {"program", "batch", "status", "city", "year", "search", "page"} <= names
    assert APIClient().get("/api/v1/docs/").status_code == 200

