"""The one table of stages and actions: who owns each stage, and for each action its sources, owner,
opinion, flow node, notification, labels and buttons. Services, the flow, the API routes, the web buttons,
notifications, the access layer and docs/access.md all read it; adding an action is one entry here plus
its service `application_<action>`.

Names are the same everywhere: the Action value is the audit event's action, the service's suffix, the
API route (with "-" for "_") and the web action URL segment; the FSM method has the same name too, with a
trailing underscore where the name is a Python keyword (`return_`).
"""
import keyword
from dataclasses import dataclass, field
from decimal import Decimal

from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from orgs.models import Level, Role

from .models import APPLICANT, Decision, Status

S = Status


class Action(models.TextChoices):
    CREATE = "create", pgettext_lazy("action", "创建申报")
    EDIT = "edit", pgettext_lazy("action", "修改")
    ATTACH = "attach", pgettext_lazy("action", "上传附件")
    DETACH = "detach", pgettext_lazy("action", "删除附件")
    SUBMIT = "submit", pgettext_lazy("action", "提交")
    WITHDRAW = "withdraw", pgettext_lazy("action", "撤回")
    SIGN_OFF = "sign_off", pgettext_lazy("action", "本级审核通过")
    RETURN = "return", pgettext_lazy("action", "退回修改")
    RECOMMEND = "recommend", pgettext_lazy("action", "推荐")
    DECLINE = "decline", pgettext_lazy("action", "不予推荐")
    ACCEPT = "accept", pgettext_lazy("action", "形式审查通过")
    ASSIGN_EXPERTS = "assign_experts", pgettext_lazy("action", "指派专家")
    SCORE = "score", pgettext_lazy("action", "评分")
    DECIDE = "decide", pgettext_lazy("action", "认定")
    PUBLISH_NOTICE = "publish_notice", pgettext_lazy("action", "发布公示")
    OBJECT = "object", pgettext_lazy("action", "登记公示异议")
    APPROVE = "approve", pgettext_lazy("action", "公示期满认定")
    ISSUE_CERTIFICATE = "issue_certificate", pgettext_lazy("action", "颁发证书")
    REVOKE = "revoke", pgettext_lazy("action", "撤销")
    EXPIRE = "expire", pgettext_lazy("action", "到期")

    @property
    def url(self) -> str:
        """The URL segment and API route: /approvals/applications/<id>/<url>/, /api/…/<id>/<url>/."""
        return self.value.replace("_", "-")

    @property
    def method(self) -> str:
        """The FSM method's name on Application."""
        return self.value + "_" if keyword.iskeyword(self.value) else self.value


class Notify(models.TextChoices):
    """Whom an action's event tells (workflows.notifications reads it)."""

    POOL = "pool", _("新环节的办理人")
    EXPERTS = "experts", _("被指派的专家")
    RETURNED = "returned", _("申报单位（退回）")
    DECIDED = "decided", _("申报单位（审批结果）")
    CERTIFICATE = "certificate", _("申报单位（证书）")
    EXPIRED = "expired", _("申报单位（认定到期）")


@dataclass(frozen=True)
class StageSpec:
    """Who owns a stage (the role, at the applicant itself or its ancestor at a level) and its flow node."""

    status: str
    role: str
    level: str
    node: str | None  # the human task node of ApplicationFlow for this stage, if any
    time_limited: bool = True


STAGES: dict[str, StageSpec] = {s.status: s for s in (
    StageSpec(S.DRAFT, Role.CLERK, APPLICANT, "edit", time_limited=False),
    StageSpec(S.APPLICANT_SIGNOFF, Role.LEADER, APPLICANT, "sign_off"),
    StageSpec(S.CITY_REVIEW, Role.REVIEWER, Level.CITY, "review_in_city"),
    StageSpec(S.PROVINCE_CHECK, Role.REVIEWER, Level.PROVINCE, "check_in_province"),
    # The province assigns the experts (the stage's pool task); the assigned experts score in parallel.
    StageSpec(S.EXPERT_REVIEW, Role.REVIEWER, Level.PROVINCE, "assign_experts"),
    StageSpec(S.DECISION, Role.LEADER, Level.PROVINCE, "decide"),
    StageSpec(S.PUBLIC_NOTICE, Role.REVIEWER, Level.PROVINCE, "publish_notice"),
    StageSpec(S.APPROVED, Role.REVIEWER, Level.PROVINCE, None),
    StageSpec(S.CERTIFIED, Role.LEADER, Level.PROVINCE, None),
)}


@dataclass(frozen=True)
class Button:
    """One button of an action on the detail page; `params` are passed to the service."""

    name: str
    label: str
    style: str = "primary"
    params: dict = field(default_factory=dict)


@dataclass(frozen=True)
class ActionSpec:
    action: Action
    sources: tuple[str, ...]
    # (role, level) of whoever may act; None: the owner of the source stage (STAGES).
    owner: tuple[str, str] | None = None
    system: bool = False  # the system (a timer or a worker) may run it without a user
    persons: bool = True  # a person may run it (False: the system's own, e.g. expiry on its date)
    opinion_required: bool = False
    # The opinion it records (a function of the service's params where it has two outcomes); None: none.
    decision: object = None
    # The flow node whose task the action completes, when it is not the source stage's node.
    node: str | None = None
    notifies: tuple[str, ...] = ()
    inputs: tuple[str, ...] = ("comment",)  # the service's keyword arguments besides actor and id
    buttons: tuple[Button, ...] = ()
    summary: str = ""  # the API operation's summary

    @property
    def label(self):
        return self.action.label

    def owner_at(self, status: str) -> tuple[str, str] | None:
        if status not in self.sources:
            return None
        if self.owner is not None:
            return self.owner
        stage = STAGES.get(status)
        return (stage.role, stage.level) if stage else None

    def decision_for(self, **params) -> str | None:
        return self.decision(**params) if callable(self.decision) else self.decision


A = Action
CLERK = (Role.CLERK, APPLICANT)
PROVINCE_REVIEWER = (Role.REVIEWER, Level.PROVINCE)
PROVINCE_LEADER = (Role.LEADER, Level.PROVINCE)

ACTIONS: dict[str, ActionSpec] = {spec.action: spec for spec in (
    ActionSpec(A.EDIT, (S.DRAFT,), CLERK, inputs=()),
    ActionSpec(A.ATTACH, (S.DRAFT,), CLERK, inputs=()),
    ActionSpec(A.DETACH, (S.DRAFT,), CLERK, inputs=()),
    ActionSpec(A.SUBMIT, (S.DRAFT,), CLERK, notifies=(Notify.POOL,),
               buttons=(Button("submit", _("提交")),), summary=_("提交（草稿 → 下一环节）")),
    ActionSpec(A.SIGN_OFF, (S.APPLICANT_SIGNOFF,), decision=Decision.AGREE, notifies=(Notify.POOL,),
               buttons=(Button("sign_off", _("审核通过并上报")),), summary=_("本级审核通过")),
    ActionSpec(A.RECOMMEND, (S.CITY_REVIEW,), decision=Decision.RECOMMEND, notifies=(Notify.POOL,),
               buttons=(Button("recommend", _("推荐")),), summary=_("市级推荐（占用名额）")),
    ActionSpec(A.ACCEPT, (S.PROVINCE_CHECK,), decision=Decision.ACCEPT, notifies=(Notify.POOL,),
               buttons=(Button("accept", _("形式审查通过")),), summary=_("省级形式审查通过")),
    ActionSpec(A.ASSIGN_EXPERTS, (S.EXPERT_REVIEW,), PROVINCE_REVIEWER, notifies=(Notify.EXPERTS,),
               inputs=("expert_ids",), buttons=(Button("assign_experts", _("指派专家")),),
               summary=_("指派评审专家（至少 2 名）")),
    ActionSpec(A.SCORE, (S.EXPERT_REVIEW,), (Role.EXPERT, Level.PROVINCE), node="score", notifies=(Notify.POOL,),
               inputs=("score", "comment"), buttons=(Button("score", _("提交评分")),), summary=_("专家评分（0–100）")),
    ActionSpec(A.DECIDE, (S.DECISION,), opinion_required=True,
               decision=lambda approve, **_: Decision.APPROVE if approve else Decision.REJECT,
               notifies=(Notify.POOL, Notify.DECIDED), inputs=("approve", "comment"),
               buttons=(Button("decide_approve", _("予以认定"), params={"approve": True}),
                        Button("decide_reject", _("不予认定"), "danger", params={"approve": False})),
               summary=_("认定或不予认定（须填写意见）")),
    ActionSpec(A.PUBLISH_NOTICE, (S.PUBLIC_NOTICE,), inputs=("starts_on",),
               buttons=(Button("publish_notice", _("发布公示")),), summary=_("发布公示")),
    ActionSpec(A.OBJECT, (S.PUBLIC_NOTICE,), opinion_required=True,
               decision=lambda upheld, **_: Decision.OBJECTION_UPHELD if upheld else Decision.OBJECTION_DISMISSED,
               node="uphold_objection", notifies=(Notify.POOL,), inputs=("upheld", "comment"),
               buttons=(Button("object", _("登记异议"), "secondary"),), summary=_("登记公示异议（须填写意见）")),
    ActionSpec(A.APPROVE, (S.PUBLIC_NOTICE,), PROVINCE_LEADER, system=True, node="wait_notice",
               buttons=(Button("approve", _("公示期满，认定")),), summary=_("公示期满认定")),
    ActionSpec(A.ISSUE_CERTIFICATE, (S.APPROVED,), system=True, node="issue_certificate",
               notifies=(Notify.CERTIFICATE,), inputs=(),
               buttons=(Button("issue_certificate", _("颁发证书")),), summary=_("颁发证书")),
    ActionSpec(A.RETURN, (S.APPLICANT_SIGNOFF, S.CITY_REVIEW, S.PROVINCE_CHECK), opinion_required=True,
               decision=Decision.RETURN, notifies=(Notify.RETURNED,),
               buttons=(Button("return", _("退回修改"), "secondary"),), summary=_("退回修改（须填写意见）")),
    ActionSpec(A.DECLINE, (S.CITY_REVIEW,), opinion_required=True, decision=Decision.DECLINE,
               notifies=(Notify.DECIDED,), buttons=(Button("decline", _("不予推荐"), "danger"),),
               summary=_("不予推荐（须填写意见）")),
    ActionSpec(A.WITHDRAW, (S.DRAFT, S.APPLICANT_SIGNOFF, S.CITY_REVIEW), CLERK,
               buttons=(Button("withdraw", _("撤回"), "danger"),), summary=_("撤回")),
    ActionSpec(A.REVOKE, (S.CERTIFIED,), opinion_required=True, decision=Decision.REVOKE,
               notifies=(Notify.DECIDED,), buttons=(Button("revoke", _("撤销认定"), "danger"),),
               summary=_("撤销认定（须填写意见）")),
    ActionSpec(A.EXPIRE, (S.CERTIFIED,), system=True, persons=False, notifies=(Notify.EXPIRED,), inputs=()),
)}

# The transitions a person starts from a button or an API route (the others are part of an edit or the
# system's own).
ROUTED_ACTIONS = tuple(a for a, spec in ACTIONS.items() if spec.buttons)
BUTTONS: dict[str, tuple[ActionSpec, Button]] = {
    button.name: (spec, button) for spec in ACTIONS.values() for button in spec.buttons
}


def actions_notifying(*kinds: str) -> frozenset[str]:
    """Actions whose events tell any of `kinds` (all notified actions when none is given)."""
    return frozenset(a for a, spec in ACTIONS.items() if spec.notifies and (not kinds or set(kinds) & set(spec.notifies)))


# --- input rules shared by every entry point (the web form and the API ask the same ones) ---

MIN_EXPERTS = 2
SCORE_MIN, SCORE_MAX, SCORE_PLACES = Decimal(0), Decimal(100), 1
COMMENT_MAX_LENGTH = 5000
# The notice may start on a working day from today to this many calendar days ahead.
NOTICE_START_MAX_DAYS_AHEAD = 30


# ------------------------------------------------------------------- after designation: annual reports
#
# A designation's annual report (年度工作报告, designations.models.AnnualReport) has its own small chain:
# the applicant's clerk fills and submits it, the applicant's leader signs it off (or returns it), the
# city reviews it (accepts or returns it with reasons; skipped for a city's own designation), and the
# province grades it. The same owners-by-level as the application's stages; the access layer
# (approvals.access.report_action_check) and the notifications read this table.


class ReportStatus(models.TextChoices):
    DRAFT = "draft", _("填报中")
    SIGNOFF = "signoff", _("待负责人签发")
    CITY_REVIEW = "city_review", _("市级审核中")
    PROVINCE_REVIEW = "province_review", _("省级评定中")
    GRADED = "graded", _("已评定")


class Grade(models.TextChoices):
    EXCELLENT = "excellent", _("优秀")
    GOOD = "good", _("良好")
    PASS = "pass", _("合格")
    FAIL = "fail", _("不合格")


class RectificationStatus(models.TextChoices):
    OPEN = "open", _("整改中")
    SUBMITTED = "submitted", _("整改报告市级审核中")
    CITY_PASSED = "city_passed", _("整改报告省级复核中")
    PASSED = "passed", _("整改通过")
    FAILED = "failed", _("整改未通过")


class RevocationStatus(models.TextChoices):
    PROPOSED = "proposed", _("待决定")
    REVOKED = "revoked", _("已摘牌")
    REJECTED = "rejected", _("不予摘牌")


class RenewalStatus(models.TextChoices):
    DRAFT = "draft", _("填报中")
    SIGNOFF = "signoff", _("待负责人签发")
    CITY_REVIEW = "city_review", _("市级审核中")
    PROVINCE_REVIEW = "province_review", _("省级审批中")
    APPROVED = "approved", _("已批准续期")
    REJECTED = "rejected", _("不予续期")


class ReportAction(models.TextChoices):
    SUBMIT = "report_submit", pgettext_lazy("action", "提交年度报告")
    SIGN_OFF = "report_sign_off", pgettext_lazy("action", "签发年度报告")
    LEADER_RETURN = "report_leader_return", pgettext_lazy("action", "退回年度报告（本级）")
    CITY_ACCEPT = "report_city_accept", pgettext_lazy("action", "审核通过年度报告")
    CITY_RETURN = "report_city_return", pgettext_lazy("action", "退回年度报告（市级）")
    GRADE = "report_grade", pgettext_lazy("action", "评定年度报告")
    REMIND = "report_remind", pgettext_lazy("action", "催报年度报告")
    ESCALATE = "report_escalate", pgettext_lazy("action", "督办逾期年度报告")
    MISSING = "report_missing", pgettext_lazy("action", "年度报告逾期未报")
    RECTIFY_OPEN = "rectify_open", pgettext_lazy("action", "责令整改")
    RECTIFY_SUBMIT = "rectify_submit", pgettext_lazy("action", "提交整改报告")
    RECTIFY_CITY_ACCEPT = "rectify_city_accept", pgettext_lazy("action", "审核通过整改报告")
    RECTIFY_CITY_RETURN = "rectify_city_return", pgettext_lazy("action", "退回整改报告")
    RECTIFY_DECIDE = "rectify_decide", pgettext_lazy("action", "复核整改结果")
    PROPOSE_REVOCATION = "revocation_propose", pgettext_lazy("action", "提出摘牌建议")
    DECIDE_REVOCATION = "revocation_decide", pgettext_lazy("action", "决定摘牌")
    RENEW_REMIND = "renewal_remind", pgettext_lazy("action", "提醒申请续期")
    RENEW_SUBMIT = "renewal_submit", pgettext_lazy("action", "提交续期申请")
    RENEW_SIGN_OFF = "renewal_sign_off", pgettext_lazy("action", "签发续期申请")
    RENEW_LEADER_RETURN = "renewal_leader_return", pgettext_lazy("action", "退回续期申请（本级）")
    RENEW_CITY_ACCEPT = "renewal_city_accept", pgettext_lazy("action", "审核通过续期申请")
    RENEW_CITY_RETURN = "renewal_city_return", pgettext_lazy("action", "退回续期申请（市级）")
    RENEW_DECIDE = "renewal_decide", pgettext_lazy("action", "审批续期申请")


@dataclass(frozen=True)
class ReportActionSpec:
    action: str
    sources: tuple
    owner: tuple | None  # (role, level) as in ActionSpec (APPLICANT: the designation's); None: the system
    reason_required: bool = False
    # Who is told afterwards: the pool (role, level) that acts next, or CLERK for the applicant's clerks.
    notifies: tuple | None = None
    # The web buttons (designations.views) and the service's keyword arguments they fill from the form.
    buttons: tuple = ()
    inputs: tuple = ()

    @property
    def label(self):
        return ReportAction(self.action).label


RS = ReportStatus
RFS = RectificationStatus
RVS = RevocationStatus
RNS = RenewalStatus
RA = ReportAction
CITY_REVIEWER = (Role.REVIEWER, Level.CITY)
APPLICANT_LEADER = (Role.LEADER, APPLICANT)
REPORT_ACTIONS = {spec.action: spec for spec in (
    ReportActionSpec(RA.SUBMIT, (RS.DRAFT,), CLERK, notifies=APPLICANT_LEADER),
    ReportActionSpec(RA.SIGN_OFF, (RS.SIGNOFF,), APPLICANT_LEADER, notifies=CITY_REVIEWER),
    ReportActionSpec(RA.LEADER_RETURN, (RS.SIGNOFF,), APPLICANT_LEADER, reason_required=True, notifies=CLERK),
    ReportActionSpec(RA.CITY_ACCEPT, (RS.CITY_REVIEW,), CITY_REVIEWER, notifies=PROVINCE_REVIEWER),
    ReportActionSpec(RA.CITY_RETURN, (RS.CITY_REVIEW,), CITY_REVIEWER, reason_required=True, notifies=CLERK),
    ReportActionSpec(RA.GRADE, (RS.PROVINCE_REVIEW,), PROVINCE_REVIEWER, notifies=CLERK),
    # Consequences (designations.consequences, rules per program in ProgramFollowUp.rules).
    ReportActionSpec(RA.REMIND, (RS.DRAFT, RS.SIGNOFF), None, notifies=CLERK),
    ReportActionSpec(RA.ESCALATE, (RS.DRAFT, RS.SIGNOFF), None, notifies=CITY_REVIEWER),
    ReportActionSpec(RA.MISSING, (RS.DRAFT, RS.SIGNOFF), None, notifies=CLERK),
    ReportActionSpec(RA.RECTIFY_OPEN, (RS.GRADED,), None, notifies=CLERK),
    ReportActionSpec(RA.RECTIFY_SUBMIT, (RFS.OPEN,), CLERK, notifies=CITY_REVIEWER, inputs=("text",),
                     buttons=(Button("rectify_submit", _("提交整改报告")),)),
    ReportActionSpec(RA.RECTIFY_CITY_ACCEPT, (RFS.SUBMITTED,), CITY_REVIEWER, notifies=PROVINCE_REVIEWER,
                     buttons=(Button("rectify_city_accept", _("审核通过")),)),
    ReportActionSpec(RA.RECTIFY_CITY_RETURN, (RFS.SUBMITTED,), CITY_REVIEWER, reason_required=True, notifies=CLERK,
                     inputs=("reason",), buttons=(Button("rectify_city_return", _("退回修改"), "secondary"),)),
    ReportActionSpec(RA.RECTIFY_DECIDE, (RFS.CITY_PASSED,), PROVINCE_REVIEWER, notifies=CLERK, inputs=("comment",),
                     buttons=(Button("rectify_pass", _("整改通过"), params={"passed": True}),
                              Button("rectify_fail", _("整改未通过"), "danger", params={"passed": False}))),
    ReportActionSpec(RA.PROPOSE_REVOCATION, (), None, notifies=PROVINCE_LEADER),
    ReportActionSpec(RA.DECIDE_REVOCATION, (RVS.PROPOSED,), PROVINCE_LEADER, reason_required=True, notifies=CLERK,
                     inputs=("comment",),
                     buttons=(Button("revocation_revoke", _("决定摘牌"), "danger", params={"revoke": True}),
                              Button("revocation_keep", _("不予摘牌"), "secondary", params={"revoke": False}))),
    # Renewal (复核/续期, designations.renewals): opened by the reminder before expiry, then the report's
    # chain (the city's review skipped for a city's own designation); the province's leader decides.
    ReportActionSpec(RA.RENEW_REMIND, (), None, notifies=CLERK),
    ReportActionSpec(RA.RENEW_SUBMIT, (RNS.DRAFT,), CLERK, notifies=APPLICANT_LEADER, inputs=("data",),
                     buttons=(Button("renewal_submit", _("提交续期申请")),)),
    ReportActionSpec(RA.RENEW_SIGN_OFF, (RNS.SIGNOFF,), APPLICANT_LEADER, notifies=CITY_REVIEWER,
                     buttons=(Button("renewal_sign_off", _("签发并上报")),)),
    ReportActionSpec(RA.RENEW_LEADER_RETURN, (RNS.SIGNOFF,), APPLICANT_LEADER, reason_required=True, notifies=CLERK,
                     inputs=("reason",), buttons=(Button("renewal_leader_return", _("退回修改"), "secondary"),)),
    ReportActionSpec(RA.RENEW_CITY_ACCEPT, (RNS.CITY_REVIEW,), CITY_REVIEWER, notifies=PROVINCE_LEADER,
                     inputs=("comment",), buttons=(Button("renewal_city_accept", _("审核通过")),)),
    ReportActionSpec(RA.RENEW_CITY_RETURN, (RNS.CITY_REVIEW,), CITY_REVIEWER, reason_required=True, notifies=CLERK,
                     inputs=("reason",), buttons=(Button("renewal_city_return", _("退回修改"), "secondary"),)),
    ReportActionSpec(RA.RENEW_DECIDE, (RNS.PROVINCE_REVIEW,), PROVINCE_LEADER, notifies=CLERK, inputs=("comment",),
                     buttons=(Button("renewal_approve", _("批准续期"), params={"approve": True}),
                              Button("renewal_reject", _("不予续期"), "danger", params={"approve": False}))),
)}
# The web buttons of rectifications, revocation proposals and renewals: name → (spec, button).
CASE_BUTTONS: dict = {button.name: (spec, button) for spec in REPORT_ACTIONS.values() for button in spec.buttons}
# A sign-off of a city's own designation skips the city's review: it tells whom the city's acceptance would.
SIGNOFF_WITHOUT_CITY = {RA.SIGN_OFF: RA.CITY_ACCEPT, RA.RENEW_SIGN_OFF: RA.RENEW_CITY_ACCEPT}
# What the applicant's clerks are told as a return or as a result (the others are tasks).
REPORT_RETURN_ACTIONS = frozenset({RA.LEADER_RETURN, RA.CITY_RETURN, RA.RENEW_LEADER_RETURN, RA.RENEW_CITY_RETURN})
REPORT_RESULT_ACTIONS = frozenset({RA.GRADE, RA.RENEW_DECIDE})
# The pool told after a sign-off of a city's own designation (no city review): the province's reviewers.
REPORT_SIGNOFF_WITHOUT_CITY_NOTIFIES = PROVINCE_REVIEWER
