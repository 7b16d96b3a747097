"""Who may do what: every action of services.ACTIONS against every role in every organization relative to
the organization that owns the stage. Exactly the owner succeeds; those who can see the application are
refused with NotAllowed (403), those who cannot see it with NotFound (404); a refusal changes nothing.
And who sees what: application_list for every role and organization."""
import datetime as dt

import pytest
from django.contrib.auth.models import Permission
from django.db import transaction
from django.utils import timezone

from approvals import errors as E
from approvals import services as svc
from approvals.access import may_see_application
from approvals.models import APPLICANT, Application, ApplicationUserObjectPermission, Attachment
from approvals.selectors import application_get, application_list
from approvals.stages import ACTIONS
from orgs.access import principal_of
from orgs.models import Level, Membership, Organization
from tests.factories import UserFactory

from . import chain
from .chain import act, create
from .conftest import ROLES, minimal_pdf
from .test_rules import snapshot


@pytest.fixture(autouse=True)
def _private_storage(settings, tmp_path):
    settings.PRIVATE_STORAGE_ROOT = tmp_path / "private"

# Organization keys relative to the one that owns a stage, for an application of langya (chuzhou, anhui).
# Each relation: (organization key, whether its users see the application).
RELATIONS = {
    "langya": {  # the applicant county; it has no child
        "own": ("langya", True), "parent": ("chuzhou", True), "grandparent": ("anhui", True),
        "sibling": ("nanqiao", False), "other city's county": ("yaohai", False), "other province": ("pidu", False),
    },
    "chuzhou": {
        "own": ("chuzhou", True), "parent": ("anhui", True), "child (the applicant)": ("langya", True),
        "child (not the applicant)": ("nanqiao", False), "sibling": ("hefei", False),
        "other province": ("chengdu", False),
    },
    "anhui": {
        "own": ("anhui", True), "parent": ("national", True), "child (the applicant's city)": ("chuzhou", True),
        "grandchild (the applicant)": ("langya", True), "child (not the applicant's)": ("hefei", False),
        "other province": ("sichuan", False),
    },
}
# The city program: the city is the applicant; a county under it is a child that does not see it.
CITY_RELATIONS = {
    "own": ("chuzhou", True), "parent": ("anhui", True), "child": ("langya", False), "sibling": ("hefei", False),
    "other province": ("chengdu", False),
}

# Stages in chain order; each step takes an application from the previous stage to this one.
ORDER = ["draft", "applicant_signoff", "city_review", "province_check", "expert_review", "expert_review:assigned",
         "decision", "public_notice", "public_notice:published", "approved", "certified"]


def _advance(world, app, applicant, stage):
    pk = app.pk
    if stage == "applicant_signoff":
        svc.application_submit(actor=act(world, f"{applicant}_clerk"), application_id=pk)
    elif stage == "city_review":
        svc.application_sign_off(actor=act(world, f"{applicant}_leader"), application_id=pk)
    elif stage == "province_check":
        if Application.objects.get(pk=pk).status == "city_review":
            svc.application_recommend(actor=act(world, "chuzhou_reviewer"), application_id=pk)
        else:
            svc.application_sign_off(actor=act(world, f"{applicant}_leader"), application_id=pk)
    elif stage == "expert_review":
        svc.application_accept(actor=act(world, "anhui_reviewer"), application_id=pk)
    elif stage == "expert_review:assigned":
        svc.application_assign_experts(actor=act(world, "anhui_reviewer"), application_id=pk,
                                       expert_ids=[world.user["anhui_expert"].pk, world.user["anhui_expert2"].pk])
    elif stage == "decision":
        svc.application_score(actor=act(world, "anhui_expert"), application_id=pk, score=80)
        svc.application_score(actor=act(world, "anhui_expert2"), application_id=pk, score=90)
    elif stage == "public_notice":
        svc.application_decide(actor=act(world, "anhui_leader"), application_id=pk, approve=True, comment="予以认定")
    elif stage == "public_notice:published":
        chain.publish_ago(act(world, "anhui_reviewer"), pk)
    elif stage == "approved":
        # The certificate is queued on commit; the test transaction never commits, so it stays approved.
        svc.application_approve(actor=act(world, "anhui_leader"), application_id=pk)
    elif stage == "certified":
        svc.application_issue_certificate(actor=svc.SYSTEM_ACTOR, application_id=pk)


def build(world, stage, program="society-service-station"):
    app = create(world, program)
    applicant = "chuzhou" if program == "innovation-driven-city" else "langya"
    for step in ORDER[1:ORDER.index(stage) + 1]:
        if program == "innovation-driven-city" and step == "city_review":
            continue
        _advance(world, app, applicant, step)
    app = Application.objects.get(pk=app.pk)
    assert app.status == stage.split(":")[0]
    return app


def _attachment(app):
    return Attachment.objects.filter(application=app, kind="application_form").first().pk


# action name -> (stage the application is in, owner role, owning organization, call, status after success)
CASES = {
    "edit": ("draft", "clerk", "langya",
             lambda a, app: svc.application_edit(actor=a, application_id=app.pk, subject_name="新名称有限公司"), "draft"),
    "edit:attach": ("draft", "clerk", "langya",
                    lambda a, app: svc.attachment_add(actor=a, application_id=app.pk, kind="application_form",
                                                      name="申请表.pdf", content=minimal_pdf("new")), "draft"),
    "edit:detach": ("draft", "clerk", "langya",
                    lambda a, app: svc.attachment_remove(actor=a, attachment_id=_attachment(app)), "draft"),
    "submit": ("draft", "clerk", "langya",
               lambda a, app: svc.application_submit(actor=a, application_id=app.pk), "applicant_signoff"),
    "withdraw:draft": ("draft", "clerk", "langya",
                       lambda a, app: svc.application_withdraw(actor=a, application_id=app.pk), "withdrawn"),
    "withdraw:signoff": ("applicant_signoff", "clerk", "langya",
                         lambda a, app: svc.application_withdraw(actor=a, application_id=app.pk), "withdrawn"),
    "withdraw:city": ("city_review", "clerk", "langya",
                      lambda a, app: svc.application_withdraw(actor=a, application_id=app.pk), "withdrawn"),
    "sign_off": ("applicant_signoff", "leader", "langya",
                 lambda a, app: svc.application_sign_off(actor=a, application_id=app.pk), "city_review"),
    "return:signoff": ("applicant_signoff", "leader", "langya",
                       lambda a, app: svc.application_return(actor=a, application_id=app.pk, comment="退回"), "draft"),
    "return:city": ("city_review", "reviewer", "chuzhou",
                    lambda a, app: svc.application_return(actor=a, application_id=app.pk, comment="退回"), "draft"),
    "return:province": ("province_check", "reviewer", "anhui",
                        lambda a, app: svc.application_return(actor=a, application_id=app.pk, comment="退回"), "draft"),
    "recommend": ("city_review", "reviewer", "chuzhou",
                  lambda a, app: svc.application_recommend(actor=a, application_id=app.pk), "province_check"),
    "decline": ("city_review", "reviewer", "chuzhou",
                lambda a, app: svc.application_decline(actor=a, application_id=app.pk, comment="不推荐"),
                "not_recommended"),
    "accept": ("province_check", "reviewer", "anhui",
               lambda a, app: svc.application_accept(actor=a, application_id=app.pk), "expert_review"),
    "assign_experts": ("expert_review", "reviewer", "anhui",
                       lambda a, app: svc.application_assign_experts(
                           actor=a, application_id=app.pk,
                           expert_ids=list(Membership.objects.filter(organization=app.province, role="expert")
                                           .values_list("user_id", flat=True))),
                       "expert_review"),
    # The owner is the assigned expert (anhui_expert; anhui_expert2 is assigned too but not in the grid).
    "score": ("expert_review:assigned", "expert", "anhui",
              lambda a, app: svc.application_score(actor=a, application_id=app.pk, score=75), "expert_review"),
    "decide": ("decision", "leader", "anhui",
               lambda a, app: svc.application_decide(actor=a, application_id=app.pk, approve=True, comment="认定"),
               "public_notice"),
    "publish_notice": ("public_notice", "reviewer", "anhui",
                       lambda a, app: chain.publish_ago(a, app.pk),
                       "public_notice"),
    "object": ("public_notice:published", "reviewer", "anhui",
               lambda a, app: svc.application_object(actor=a, application_id=app.pk, comment="异议", upheld=True),
               "decision"),
    "approve": ("public_notice:published", "leader", "anhui",
                lambda a, app: svc.application_approve(actor=a, application_id=app.pk), "approved"),
    "issue_certificate": ("approved", "reviewer", "anhui",
                          lambda a, app: svc.application_issue_certificate(actor=a, application_id=app.pk),
                          "certified"),
    "revoke": ("certified", "leader", "anhui",
               lambda a, app: svc.application_revoke(actor=a, application_id=app.pk, comment="撤销"), "revoked"),
}


def test_cases_cover_every_action():
    covered = {name.split(":")[0] for name in CASES}
    assert covered == set(ACTIONS) - {"expire", "create", "attach", "detach"}
    assert [name for name, spec in ACTIONS.items() if spec.system and not spec.buttons] == ["expire"]
    for name, (stage, role, org, _call, _after) in CASES.items():
        spec = ACTIONS[name.split(":")[0]]
        level = {"langya": APPLICANT, "chuzhou": Level.CITY, "anhui": Level.PROVINCE}[org]
        assert spec.owner_at(stage.split(":")[0]) == (role, level), name


# Who may do an action at another of its stages (written out, not read from the stage table): tried at
# this stage, they are told 409 (the state changed under them), not 403.
OWNS_AT_ANOTHER_STAGE = {
    "return": {("leader", "applicant"), ("reviewer", "city"), ("reviewer", "province")},
    "withdraw": {("clerk", "applicant")},
}
ORG_LEVEL = {"langya": "applicant", "nanqiao": "county", "chuzhou": "city", "anhui": "province"}


@pytest.fixture
def national(world):
    """Users of every role at the national root, the parent of the provinces."""
    root = Organization.objects.get(level=Level.NATIONAL, parent=None)
    world.org["national"] = root
    for role in ROLES:
        user = UserFactory(username=f"national_{role}")
        Membership.objects.create(user=user, organization=root, role=role)
        world.user[f"national_{role}"] = user
    return world


def _outcome(call, actor, app) -> str:
    try:
        call(actor, app)
    except E.NotFound as exc:
        assert exc.http_status == 404
        return "404"
    except E.NotAllowed as exc:
        assert exc.http_status == 403
        return "403"
    except E.WrongState as exc:
        assert exc.http_status == 409
        return "409"
    except E.ApprovalError as exc:  # anything else is a failure of the matrix
        return f"{type(exc).__name__}: {exc.message}"
    return "ok"


class _Undo(Exception):
    pass


def _succeed_and_undo(call, actor, app) -> str:
    """Run the owner's action in a savepoint, note the status it led to, and roll it back."""
    try:
        with transaction.atomic():
            call(actor, app)
            raise _Undo(Application.objects.values_list("status", flat=True).get(pk=app.pk))
    except _Undo as undo:
        return undo.args[0]


# In each stage of the walk, the action that moves the application on; the stage's other actions are
# undone after they succeed.
FORWARD = {
    "draft": "submit", "applicant_signoff": "sign_off", "city_review": "recommend", "province_check": "accept",
    "expert_review": "assign_experts", "expert_review:assigned": "score", "decision": "decide",
    "public_notice": "publish_notice", "public_notice:published": "approve", "approved": "issue_certificate",
    "certified": "revoke",
}


def _walk(world, app, cases, relations_of, owner_org_of, applicant="langya"):
    """Walk `app` through its stages; at each, try every action of the stage as every role × relation.
    Returns the observed and expected outcome tables, keyed (action, relation, role)."""
    observed, expected = {}, {}

    def applicant_level(org):
        return "applicant" if org == applicant else ORG_LEVEL.get(org, org)

    stages = list(dict.fromkeys(stage for stage, *_rest in cases.values()))
    for stage in stages:
        assert Application.objects.get(pk=app.pk).status == stage.split(":")[0]
        actions = [name for name, case in cases.items() if case[0] == stage]
        actions.sort(key=lambda name: name == FORWARD[stage])  # the forward move last
        for action in actions:
            _stage, owner_role, owner_org, call, after = cases[action]
            owner_org = owner_org_of(owner_org)
            before = snapshot()
            for relation, (org, visible) in relations_of(owner_org).items():
                for role in ROLES:
                    if relation == "own" and role == owner_role:
                        continue
                    observed[action, relation, role] = _outcome(call, act(world, f"{org}_{role}"), app)
                    # Experts see only what they were granted (assigned), whatever their organization.
                    sees = visible if role != "expert" else ApplicationUserObjectPermission.objects.filter(
                        user=world.user[f"{org}_{role}"], content_object_id=app.pk).exists()
                    elsewhere = (role, applicant_level(org)) in OWNS_AT_ANOTHER_STAGE.get(action.split(":")[0], ())
                    expected[action, relation, role] = ("409" if elsewhere else "403") if sees else "404"
            # Nothing any of the refused attempts did is left behind.
            assert snapshot() == before, action
            owner = act(world, f"{owner_org}_{owner_role}")
            if action == FORWARD[stage]:
                call(owner, app)
                observed[action, "own", owner_role] = Application.objects.get(pk=app.pk).status
            else:
                observed[action, "own", owner_role] = _succeed_and_undo(call, owner, app)
                # (An attachment's file, written before the rolled-back row, stays behind as an orphan.)
                assert {**snapshot(), "files": None} == {**before, "files": None}, action
            expected[action, "own", owner_role] = after
        if stage == "expert_review:assigned":  # the second expert's score closes the review
            svc.application_score(actor=act(world, "anhui_expert2"), application_id=app.pk, score=90)
    return observed, expected


def test_permission_matrix(national):
    """Every action of the station's chain, in its stage, as every role in every relation to the stage's
    owner: the owner succeeds, who sees it gets 403, who does not gets 404."""
    world = national
    app = build(world, "draft")
    observed, expected = _walk(world, app, CASES, RELATIONS.__getitem__, lambda org: org)
    assert len(expected) == len(CASES) * 36
    assert observed == expected
    assert Application.objects.get(pk=app.pk).status == "revoked"


CITY_CASES = {name: CASES[name] for name in
              ("edit", "edit:attach", "edit:detach", "withdraw:draft", "submit", "withdraw:signoff", "return:signoff")}
CITY_CASES["sign_off"] = CASES["sign_off"][:4] + ("province_check",)


def test_permission_matrix_city_program(national):
    """The city applies itself: the applicant-level stages belong to the city, and its counties see nothing."""
    world = national
    app = build(world, "draft", program="innovation-driven-city")
    observed, expected = _walk(world, app, CITY_CASES, lambda _org: CITY_RELATIONS, lambda _org: "chuzhou",
                               applicant="chuzhou")
    assert len(expected) == len(CITY_CASES) * 30
    assert observed == expected
    assert Application.objects.get(pk=app.pk).status == "province_check"


def test_other_assigned_expert_and_unassigned_expert(world):
    app = build(world, "expert_review:assigned")
    # The second assigned expert scores too; an expert of the province who is not assigned does not even
    # see it.
    svc.application_score(actor=act(world, "anhui_expert2"), application_id=app.pk, score=60)
    outsider = UserFactory(username="anhui_expert3")
    Membership.objects.create(user=outsider, organization=world.org["anhui"], role="expert")
    before = snapshot()
    with pytest.raises(E.NotFound):
        svc.application_score(actor=svc.Actor(user=outsider), application_id=app.pk, score=60)
    assert snapshot() == before
    # Experts of another province cannot be assigned.
    other = build(world, "expert_review")
    before = snapshot()
    with pytest.raises(E.InvalidInput) as exc:
        svc.application_assign_experts(actor=act(world, "anhui_reviewer"), application_id=other.pk,
                                       expert_ids=[world.user["anhui_expert"].pk, world.user["sichuan_expert"].pk])
    assert exc.value.message == E.MSG_NOT_EXPERT % {"user": world.user["sichuan_expert"].pk}
    assert snapshot() == before


def test_certified_application_is_not_handed_to_outsiders(world):
    """Asking to issue the certificate again returns it to the system (a retried task), but a person outside
    the application's scope is told it does not exist."""
    app = build(world, "certified")
    assert svc.application_issue_certificate(actor=svc.SYSTEM_ACTOR, application_id=app.pk).application_id == app.pk
    before = snapshot()
    with pytest.raises(E.NotFound):
        svc.application_issue_certificate(actor=act(world, "sichuan_reviewer"), application_id=app.pk)
    assert snapshot() == before


@pytest.mark.parametrize("action", ["submit", "recommend", "decide", "approve"])
def test_system_may_only_run_system_actions(world, action):
    stage, _role, _org, call, _after = CASES[action]
    app = build(world, stage)
    before = snapshot()
    if ACTIONS[action].system:
        call(svc.SYSTEM_ACTOR, app)
        assert Application.objects.get(pk=app.pk).status == "approved"
    else:
        with pytest.raises(E.NotAllowed):
            call(svc.SYSTEM_ACTOR, app)
        assert snapshot() == before


def test_wrong_state_is_409_for_the_owner_and_404_for_outsiders(world):
    app = build(world, "draft")
    before = snapshot()
    with pytest.raises(E.WrongState) as exc:
        svc.application_recommend(actor=act(world, "chuzhou_reviewer"), application_id=app.pk)
    assert (exc.value.http_status, exc.value.message) == (409, E.MSG_WRONG_STATE % {"status": "草稿", "action": "推荐"})
    with pytest.raises(E.NotFound):
        svc.application_recommend(actor=act(world, "hefei_reviewer"), application_id=app.pk)
    with pytest.raises(E.NotFound):
        svc.application_submit(actor=act(world, "langya_clerk"), application_id=app.pk + 10_000)
    assert snapshot() == before


def test_expired_membership_no_longer_acts(world):
    app = build(world, "applicant_signoff")
    Membership.objects.filter(user=world.user["langya_leader"]).update(
        valid_until=timezone.localdate() - dt.timedelta(days=1))
    leader = type(world.user["langya_leader"]).objects.get(pk=world.user["langya_leader"].pk)
    before = snapshot()
    with pytest.raises(E.NotFound):
        svc.application_sign_off(actor=svc.Actor(user=leader), application_id=app.pk)
    assert snapshot() == before


# ------------------------------------------------------------------------------------------------ reads

# Which applications each organization's users see (keys of the applications built below).
VISIBLE = {
    "national": {"langya", "nanqiao", "yaohai", "chuzhou", "pidu"},
    "anhui": {"langya", "nanqiao", "yaohai", "chuzhou"},
    "chuzhou": {"langya", "nanqiao", "chuzhou"},
    "langya": {"langya"},
    "nanqiao": {"nanqiao"},
    "hefei": {"yaohai"},
    "yaohai": {"yaohai"},
    "sichuan": {"pidu"},
    "chengdu": {"pidu"},
    "pidu": {"pidu"},
}


@pytest.fixture
def spread(national):
    world = national
    apps = {
        "langya": create(world, "society-service-station"),
        "nanqiao": create(world, "innovation-driven-county", county="nanqiao"),
        "yaohai": create(world, "collaborative-innovation-base", county="yaohai", city="hefei"),
        "chuzhou": create(world, "innovation-driven-city"),
        "pidu": create(world, "society-service-station", county="pidu", city="chengdu", province="sichuan"),
    }
    return world, {key: app.pk for key, app in apps.items()}


def _fresh_user(world, key):
    return type(world.user[key]).objects.get(pk=world.user[key].pk)


def test_application_list_by_role_and_organization(spread):
    world, apps = spread
    names = {pk: key for key, pk in apps.items()}
    rows = {key: Application.objects.get(pk=pk) for key, pk in apps.items()}
    observed, expected = {}, {}
    for org, visible in VISIBLE.items():
        for role in ROLES:
            user = _fresh_user(world, f"{org}_{role}")
            observed[org, role] = sorted(names[pk] for pk in application_list(user=user).values_list("pk", flat=True))
            # Nothing is assigned here, so experts see nothing; every other role sees its subtree.
            mine = set() if role == "expert" else visible
            expected[org, role] = sorted(mine)
            # The list and the services' own check agree, application by application.
            seen = {key for key, app in rows.items() if may_see_application(principal_of(user), app)}
            assert seen == mine, (org, role)
    assert observed == expected
    assert application_get(user=_fresh_user(world, "nanqiao_clerk"), pk=apps["langya"]) is None
    assert application_get(user=_fresh_user(world, "chuzhou_reviewer"), pk=apps["langya"]).pk == apps["langya"]


def test_expert_sees_only_what_was_granted(spread):
    world, apps = spread
    langya = Application.objects.get(pk=apps["langya"])
    for stage in ORDER[1:ORDER.index("expert_review:assigned") + 1]:
        _advance(world, langya, "langya", stage)
    permission = Permission.objects.get(content_type__app_label="approvals", codename="score_application")
    assert sorted(ApplicationUserObjectPermission.objects.filter(content_object=langya).values_list(
        "user_id", "permission_id")) == sorted([(world.user["anhui_expert"].pk, permission.pk),
                                                (world.user["anhui_expert2"].pk, permission.pk)])
    # The assigned expert sees that application and nothing else of the province.
    assert set(application_list(user=_fresh_user(world, "anhui_expert")).values_list("pk", flat=True)) == {
        apps["langya"]}
    # A grant counts only with a current expert membership in the application's province: an expert of
    # the other province granted this application (by hand) still sees nothing and cannot score.
    guest = _fresh_user(world, "sichuan_expert")
    assert set(application_list(user=guest).values_list("pk", flat=True)) == set()
    ApplicationUserObjectPermission.objects.create(content_object=langya, user=guest, permission=permission)
    guest = _fresh_user(world, "sichuan_expert")
    assert set(application_list(user=guest).values_list("pk", flat=True)) == set()
    assert not may_see_application(principal_of(guest), langya)
    before = snapshot()
    with pytest.raises(E.NotFound):
        svc.application_score(actor=svc.Actor(user=guest), application_id=langya.pk, score=50)
    assert snapshot() == before
    # The assigned expert whose membership ended sees it no more.
    Membership.objects.filter(user=world.user["anhui_expert"], role="expert").update(
        valid_until=timezone.localdate() - dt.timedelta(days=1))
    assert set(application_list(user=_fresh_user(world, "anhui_expert")).values_list("pk", flat=True)) == set()
    # A user with no current membership and no grant sees nothing.
    nobody = UserFactory(username="nobody")
    assert list(application_list(user=nobody)) == []
    Membership.objects.create(user=nobody, organization=world.org["anhui"], role="auditor",
                              valid_until=timezone.localdate() - dt.timedelta(days=1))
    assert list(application_list(user=_fresh_user_obj(nobody))) == []


def _fresh_user_obj(user):
    return type(user).objects.get(pk=user.pk)
