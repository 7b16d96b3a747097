"""The viewflow process of an application. Nodes call approvals services; none sets a status itself.

Which stages a program passes through is data (Program.chain): the service moves the status, and each
stage node routes on the status it finds, so one flow serves every program.
"""
import datetime as dt

from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from viewflow import this
from viewflow.workflow import flow, lock
from viewflow.workflow.token import Token

from approvals import access
from approvals.models import ExpertAssignment, Status
from approvals.stages import ACTIONS, STAGES, Action
from orgs.access import principal_of

from .nodes import Finish, NoticeSplit, ScheduledTimer, StageView
from .views import StageTaskView

S = Status


def _pool(status: str) -> tuple[str, str]:
    """The role pool of a stage's human task: its owner in the stage table."""
    return STAGES[status].role, STAGES[status].level


class ExpertFanOut(StageView):
    """Province assigns experts; then one scoring task per assigned expert runs in parallel."""

    def next_nodes(self, activation, application):
        if application.status != S.EXPERT_REVIEW:
            yield from super().next_nodes(activation, application)
            return
        experts = getattr(application, "_assigned_expert_ids", None)
        if experts is None:
            experts = ExpertAssignment.objects.filter(
                application=application, revision=application.revision, scored_at__isnull=True
            ).values_list("expert_id", flat=True)
        tokens = Token.split_token_source(activation.task.token, activation.task.pk)
        score = self._routes[S.EXPERT_REVIEW]
        # One scoring task per expert, written together (StageActivation.create_many); the node has no
        # boundary events to arm, which is all that viewflow's Node._create adds to its activation's create.
        assert not score._boundary_events
        yield from score.activation_class.create_many(
            score, activation, [(next(tokens), {"owner": expert_id}) for expert_id in experts])


class ApplicationFlow(flow.Flow):
    process_title = _("试点申报")
    lock_impl = lock.select_for_update_lock

    start = flow.StartHandle(this.start_process).Annotation(title=_("创建申报")).Next(this.edit)

    edit = (
        StageView(StageTaskView.as_view(), pool=_pool(S.DRAFT))
        .Annotation(title=_("填写并提交申报书"))
        .Route({
            S.APPLICANT_SIGNOFF: this.sign_off, S.CITY_REVIEW: this.review_in_city,
            S.PROVINCE_CHECK: this.check_in_province, S.WITHDRAWN: this.end,
        })
    )
    sign_off = (
        StageView(StageTaskView.as_view(), pool=_pool(S.APPLICANT_SIGNOFF))
        .Annotation(title=_("本级审核"))
        .Route({
            S.CITY_REVIEW: this.review_in_city, S.PROVINCE_CHECK: this.check_in_province,
            S.DRAFT: this.edit, S.WITHDRAWN: this.end,
        })
    )
    review_in_city = (
        StageView(StageTaskView.as_view(), pool=_pool(S.CITY_REVIEW))
        .Annotation(title=_("市级审核推荐"))
        .Route({
            S.PROVINCE_CHECK: this.check_in_province, S.DRAFT: this.edit,
            S.NOT_RECOMMENDED: this.end, S.WITHDRAWN: this.end,
        })
    )
    check_in_province = (
        StageView(StageTaskView.as_view(), pool=_pool(S.PROVINCE_CHECK))
        .Annotation(title=_("省级形式审查"))
        .Route({S.EXPERT_REVIEW: this.assign_experts, S.DECISION: this.decide, S.DRAFT: this.edit})
    )
    assign_experts = (
        ExpertFanOut(StageTaskView.as_view(), pool=_pool(S.EXPERT_REVIEW))
        .Annotation(title=_("指派评审专家"))
        .Route({S.EXPERT_REVIEW: this.score})
    )
    score = (
        StageView(StageTaskView.as_view(), pool=ACTIONS[Action.SCORE].owner)
        .Annotation(title=_("专家评分"))
        # A score that leaves others outstanding ends its branch; the last one (the service has closed the
        # review) goes on to the decision. This is the join, without a Join gateway's eight queries.
        .Route({S.EXPERT_REVIEW: None, S.DECISION: this.decide})
    )
    decide = (
        StageView(StageTaskView.as_view(), pool=_pool(S.DECISION))
        .Annotation(title=_("省级认定"))
        .Route({S.PUBLIC_NOTICE: this.publish_notice, S.REJECTED: this.end})
    )
    publish_notice = (
        StageView(StageTaskView.as_view(), pool=_pool(S.PUBLIC_NOTICE))
        .Annotation(title=_("发布公示"))
        .Route({S.PUBLIC_NOTICE: this.notice_period})
    )
    # Whichever comes first: the end of the notice period, or an objection that is upheld.
    notice_period = NoticeSplit().Annotation(title=_("公示期")).Next(this.wait_notice).Next(this.uphold_objection)
    # The timer's due time is the end of the notice in working days. The sweeper (workflows.sweeper, beat)
    # fires it through the approve service (status, audit, timer and the certificate's outbox effect in one
    # transaction), so no node of the flow sets a status.
    wait_notice = ScheduledTimer(this.notice_due).Annotation(title=_("公示期满")).Next(this.issue_certificate)
    uphold_objection = (
        StageView(StageTaskView.as_view(), pool=ACTIONS[Action.OBJECT].owner_at(S.PUBLIC_NOTICE))
        .Annotation(title=_("处理公示异议"))
        .Route({S.DECISION: this.decide})
    )
    issue_certificate = flow.Handle().Annotation(title=_("颁发证书")).Next(this.end)
    end = Finish()

    # viewflow's own pages (process lists, charts, task details) list every province's processes: only
    # system administrators use them (approvals.access); people work from the scoped approvals pages.
    def has_view_permission(self, user, obj=None):
        return access.may_use_engine_pages(principal_of(user))

    def has_manage_permission(self, user, obj=None):
        return access.may_use_engine_pages(principal_of(user))

    def start_process(self, activation, application):
        activation.process.data = {"application": application.pk}
        activation.process.application = application
        return activation.process

    def notice_due(self, activation):
        """Midnight after the last notice day, in local time."""
        application = activation.process.application
        day = application.notice_ends_on + dt.timedelta(days=1)
        return timezone.make_aware(dt.datetime.combine(day, dt.time.min))
