"""A designation (授牌): the record of a pilot site in force, created with its certificate.

It copies what the public registry and the follow-up work read (program, awardee, host, sponsoring
society, the applicant's place in the tree, validity) so that neither needs the application's joins.
Its status is an FSM changed only by designations.services; every change is also an event on the
application's audit chain (approvals.services), which is the designation's history.
"""
from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django_fsm import ConcurrentTransitionMixin, FSMField, transition

from approvals import errors as E
from approvals.models import Application, Program
from approvals.stages import Grade, RectificationStatus, RenewalStatus, ReportStatus, RevocationStatus
from orgs.models import Division, Organization
from printing.models import Certificate


class DesignationStatus(models.TextChoices):
    VALID = "valid", _("有效")
    RECTIFYING = "rectifying", _("整改中")
    REVOKED = "revoked", _("已撤销")
    EXPIRED = "expired", _("已到期")
    RENEWED = "renewed", _("已续期")


# In force: shown by the public registry.
IN_FORCE = (DesignationStatus.VALID, DesignationStatus.RECTIFYING)
DS = DesignationStatus


class Designation(ConcurrentTransitionMixin, models.Model):
    # An application's designations: the first from its certificate, one more for each renewal (续期).
    application = models.ForeignKey(Application, verbose_name=_("申报"), on_delete=models.PROTECT,
                                    related_name="designations")
    certificate = models.OneToOneField(Certificate, verbose_name=_("证书"), on_delete=models.PROTECT,
                                       related_name="designation")
    program = models.ForeignKey(Program, verbose_name=_("申报类别"), on_delete=models.PROTECT, related_name="+")
    awardee_name = models.CharField(_("授牌名称"), max_length=255)
    host_name = models.CharField(_("依托单位"), max_length=200)
    sponsor_society = models.CharField(_("依托学会"), max_length=200, blank=True)
    # The applicant organization (a county's or a city's 科协) and its ancestors, copied for scope and search.
    applicant = models.ForeignKey(Organization, verbose_name=_("申报单位"), on_delete=models.PROTECT,
                                  related_name="+")
    applicant_path = models.CharField(max_length=255, db_index=True, editable=False)
    city = models.ForeignKey(Organization, verbose_name=_("市"), on_delete=models.PROTECT, related_name="+")
    province = models.ForeignKey(Organization, verbose_name=_("省"), on_delete=models.PROTECT, related_name="+")
    division = models.ForeignKey(Division, verbose_name=_("所在区划"), on_delete=models.PROTECT, related_name="+")
    valid_from = models.DateField(_("有效期起"))
    valid_until = models.DateField(_("有效期止"), db_index=True)
    status = FSMField(_("状态"), default=DS.VALID, choices=DS.choices, protected=True, db_index=True)
    status_changed_at = models.DateTimeField(_("状态变更时间"), null=True, blank=True)
    status_reason = models.TextField(_("状态变更原因"), blank=True)
    created_at = models.DateTimeField(_("创建时间"), default=timezone.now)
    # The renewal's designation that follows this one (已续期), and when the site was reminded to renew.
    renewed_by = models.OneToOneField("self", verbose_name=_("续期后的授牌"), null=True, blank=True,
                                      on_delete=models.PROTECT, related_name="renews")
    renewal_reminded_at = models.DateTimeField(_("续期提醒时间"), null=True, blank=True)

    class Meta:
        verbose_name = _("授牌")
        verbose_name_plural = _("授牌")
        ordering = ["-valid_from", "-id"]
        indexes = [
            models.Index(fields=["applicant_path"], name="designation_path_idx", opclasses=["varchar_pattern_ops"]),
            models.Index(fields=["status", "program"], name="designation_status_program_idx"),
            # The registry's order (newest first): a page is read from the index, not sorted out of every row.
            models.Index(fields=["-valid_from", "-id"], name="designation_registry_order_idx"),
        ]

    def __str__(self) -> str:
        return self.awardee_name

    # --- transitions: they only check and set; services lock, save and record the event. ---

    @transition(field=status, source=DS.VALID, target=DS.RECTIFYING)
    def rectify(self):
        pass

    @transition(field=status, source=DS.RECTIFYING, target=DS.VALID)
    def rectified(self):
        pass

    @transition(field=status, source=[DS.VALID, DS.RECTIFYING], target=DS.REVOKED)
    def revoke(self):
        pass

    @transition(field=status, source=[DS.VALID, DS.RECTIFYING], target=DS.EXPIRED)
    def expire(self):
        pass

    @transition(field=status, source=DS.VALID, target=DS.RENEWED)
    def renew(self):
        pass


class ProgramFollowUp(models.Model):
    """What a program asks after designation, as data: the annual report's form (the same field
    specification as the application form, approvals.formspec)."""

    program = models.OneToOneField(Program, verbose_name=_("申报类别"), on_delete=models.CASCADE,
                                   related_name="follow_up")
    # [{"name", "label", "type", "required", "choices", "min", "max"}], as Program.form_fields
    report_fields = models.JSONField(_("年度报告表单字段"), default=list, blank=True)
    # What follows (designations.consequences): {"rectify_on_fail": {"workdays": 40},
    #  "revoke_after_fails": 2, "revoke_on_failed_rectification": true, "revoke_on_missing_report": true,
    #  "remind_workdays_before_due": 5, "escalate_workdays_after_due": 5, "missing_workdays_after_due": 10,
    #  "commend_grades": ["excellent"]}
    rules = models.JSONField(_("后续处理规则"), default=dict, blank=True)
    # The renewal application's lighter form (复核/续期), the same specification.
    renewal_fields = models.JSONField(_("续期申请表单字段"), default=list, blank=True)

    class Meta:
        verbose_name = _("授牌后管理规则")
        verbose_name_plural = _("授牌后管理规则")

    def __str__(self) -> str:
        return str(self.program)


class ReportingWindow(models.Model):
    """A province's annual reporting round for one year (年度工作报告报送): opened by its reviewers; every
    designation of the province in force then gets its report to fill, due on `due_on`."""

    province = models.ForeignKey(Organization, verbose_name=_("省级科协"), on_delete=models.PROTECT, related_name="+")
    year = models.PositiveSmallIntegerField(_("报告年度"))
    due_on = models.DateField(_("报送截止日期"))
    opened_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("开启人"), on_delete=models.PROTECT,
                                  related_name="+")
    opened_at = models.DateTimeField(_("开启时间"), default=timezone.now)

    class Meta:
        verbose_name = _("年度报告报送")
        verbose_name_plural = _("年度报告报送")
        ordering = ["-year", "province_id"]
        constraints = [models.UniqueConstraint(fields=["province", "year"], name="one_reporting_window_per_year")]

    def __str__(self) -> str:
        return f"{self.province_id}/{self.year}"


RS = ReportStatus


class AnnualReport(ConcurrentTransitionMixin, models.Model):
    """One designation's report for one year; its chain and owners are approvals.stages.REPORT_ACTIONS."""

    designation = models.ForeignKey(Designation, verbose_name=_("授牌"), on_delete=models.PROTECT,
                                    related_name="reports")
    window = models.ForeignKey(ReportingWindow, verbose_name=_("年度报告报送"), on_delete=models.PROTECT,
                               related_name="reports")
    year = models.PositiveSmallIntegerField(_("报告年度"))
    # The designation's applicant path, city and province, copied when the report is created
    # (reports.reporting_window_open; migration 0006 for the reports before it), so that the scope and the
    # dashboards' counts per city read the reports alone, without a join to every designation. They never
    # change: neither does a designation's applicant (Designation.applicant_path is not editable).
    applicant_path = models.CharField(max_length=255, editable=False)
    city = models.ForeignKey(Organization, verbose_name=_("市"), on_delete=models.PROTECT, related_name="+",
                             editable=False)
    province = models.ForeignKey(Organization, verbose_name=_("省"), on_delete=models.PROTECT, related_name="+",
                                 editable=False)
    form_data = models.JSONField(_("报告内容"), default=dict, blank=True)
    status = FSMField(_("状态"), default=RS.DRAFT, choices=RS.choices, protected=True, db_index=True)
    return_reason = models.TextField(_("退回理由"), blank=True)
    grade = models.CharField(_("评定等次"), max_length=16, choices=Grade.choices, blank=True)
    grade_comment = models.TextField(_("评定意见"), blank=True)
    expert_score = models.DecimalField(_("专家评分"), max_digits=4, decimal_places=1, null=True, blank=True)
    submitted_at = models.DateTimeField(_("提交时间"), null=True, blank=True)
    graded_at = models.DateTimeField(_("评定时间"), null=True, blank=True)
    commended = models.BooleanField(_("拟表扬"), default=False)
    reminded_at = models.DateTimeField(_("催报时间"), null=True, blank=True)
    escalated_at = models.DateTimeField(_("督办时间"), null=True, blank=True)
    missing_at = models.DateTimeField(_("认定逾期未报时间"), null=True, blank=True)
    updated_at = models.DateTimeField(_("更新时间"), auto_now=True)

    class Meta:
        verbose_name = _("年度工作报告")
        verbose_name_plural = _("年度工作报告")
        ordering = ["-year", "designation_id"]
        constraints = [models.UniqueConstraint(fields=["designation", "year"], name="one_report_per_year")]
        indexes = [
            # A scope's reports of a year (the dashboards, docs/after-designation.md): the path first, with
            # the prefix opclass (PostgreSQL's LIKE 'p%' and SQLite's range, orgs.lookups, both seek it).
            models.Index(fields=["applicant_path", "year", "status"], name="report_scope_year_idx",
                         opclasses=["varchar_pattern_ops", "", ""]),
        ]

    def __str__(self) -> str:
        return f"{self.designation_id}/{self.year}"

    # --- transitions (approvals.stages.REPORT_ACTIONS): they only check and set. ---

    @transition(field=status, source=RS.DRAFT, target=RS.SIGNOFF)
    def report_submit(self):
        pass

    @transition(field=status, source=RS.SIGNOFF, target=RS.CITY_REVIEW)
    def report_sign_off(self):
        pass

    @transition(field=status, source=RS.SIGNOFF, target=RS.PROVINCE_REVIEW)
    def report_sign_off_to_province(self):
        """A city's own designation has no city review."""

    @transition(field=status, source=RS.SIGNOFF, target=RS.DRAFT)
    def report_leader_return(self):
        pass

    @transition(field=status, source=RS.CITY_REVIEW, target=RS.PROVINCE_REVIEW)
    def report_city_accept(self):
        pass

    @transition(field=status, source=RS.CITY_REVIEW, target=RS.DRAFT)
    def report_city_return(self):
        pass

    @transition(field=status, source=RS.PROVINCE_REVIEW, target=RS.GRADED)
    def report_grade(self):
        pass


RFS = RectificationStatus
RVS = RevocationStatus


class Rectification(ConcurrentTransitionMixin, models.Model):
    """整改: ordered by a rule after a 不合格 grade, due in working days; the applicant's clerk submits the
    rectification report, the city reviews it, the province decides whether it passed."""

    designation = models.ForeignKey(Designation, verbose_name=_("授牌"), on_delete=models.PROTECT,
                                    related_name="rectifications")
    report = models.OneToOneField(AnnualReport, verbose_name=_("年度工作报告"), on_delete=models.PROTECT,
                                  related_name="rectification")
    due_on = models.DateField(_("整改期限"))
    status = FSMField(_("状态"), default=RFS.OPEN, choices=RFS.choices, protected=True, db_index=True)
    report_text = models.TextField(_("整改报告"), blank=True)
    return_reason = models.TextField(_("退回理由"), blank=True)
    decision_comment = models.TextField(_("复核意见"), blank=True)
    created_at = models.DateTimeField(_("创建时间"), default=timezone.now)
    decided_at = models.DateTimeField(_("复核时间"), null=True, blank=True)
    not_found_message, wrong_state_message = E.MSG_CASE_NOT_FOUND, E.MSG_CASE_WRONG_STATE

    class Meta:
        verbose_name = _("整改")
        verbose_name_plural = _("整改")
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.designation_id}/{self.report_id}"

    @transition(field=status, source=RFS.OPEN, target=RFS.SUBMITTED)
    def rectify_submit(self):
        pass

    @transition(field=status, source=RFS.SUBMITTED, target=RFS.CITY_PASSED)
    def rectify_city_accept(self):
        pass

    @transition(field=status, source=RFS.SUBMITTED, target=RFS.OPEN)
    def rectify_city_return(self):
        pass

    @transition(field=status, source=RFS.CITY_PASSED, target=RFS.PASSED)
    def rectify_pass(self):
        pass

    @transition(field=status, source=RFS.CITY_PASSED, target=RFS.FAILED)
    def rectify_fail(self):
        pass


class RevocationProposal(ConcurrentTransitionMixin, models.Model):
    """摘牌建议: made by the program's rules (two 不合格 in a validity period, a failed rectification, a
    missing report) with its reasons; the province's leader decides, and a revocation revokes the
    certificate through the application's revoke service."""

    designation = models.ForeignKey(Designation, verbose_name=_("授牌"), on_delete=models.PROTECT,
                                    related_name="revocation_proposals")
    reasons = models.TextField(_("摘牌理由"))
    status = FSMField(_("状态"), default=RVS.PROPOSED, choices=RVS.choices, protected=True, db_index=True)
    decision_comment = models.TextField(_("决定意见"), blank=True)
    created_at = models.DateTimeField(_("提出时间"), default=timezone.now)
    decided_at = models.DateTimeField(_("决定时间"), null=True, blank=True)
    not_found_message, wrong_state_message = E.MSG_CASE_NOT_FOUND, E.MSG_CASE_WRONG_STATE

    class Meta:
        verbose_name = _("摘牌建议")
        verbose_name_plural = _("摘牌建议")
        ordering = ["-created_at", "-id"]
        constraints = [models.UniqueConstraint(fields=["designation"], condition=models.Q(status="proposed"),
                                               name="one_open_revocation_proposal")]

    def __str__(self) -> str:
        return f"{self.designation_id}: {self.status}"

    @transition(field=status, source=RVS.PROPOSED, target=RVS.REVOKED)
    def revoke(self):
        pass

    @transition(field=status, source=RVS.PROPOSED, target=RVS.REJECTED)
    def reject(self):
        pass


RNS = RenewalStatus
OPEN_RENEWAL = (RNS.DRAFT, RNS.SIGNOFF, RNS.CITY_REVIEW, RNS.PROVINCE_REVIEW)


class Renewal(ConcurrentTransitionMixin, models.Model):
    """复核/续期: opened a number of months before the designation's expiry (the program's rule); the
    applicant's clerk fills the lighter form, the leader signs off, the city reviews, the province's leader
    decides. Approval gives a new certificate (a new number) and a new designation; the old ones are 已续期."""

    designation = models.ForeignKey(Designation, verbose_name=_("授牌"), on_delete=models.PROTECT,
                                    related_name="renewals")
    form_data = models.JSONField(_("续期申请内容"), default=dict, blank=True)
    status = FSMField(_("状态"), default=RNS.DRAFT, choices=RNS.choices, protected=True, db_index=True)
    # The designation's annual grades when it was submitted: {"excellent": n, "good": n, "pass": n, "fail": n,
    # "missing": n} (a report never submitted counts as missing).
    grades = models.JSONField(_("历年评定等次"), default=dict, blank=True)
    return_reason = models.TextField(_("退回理由"), blank=True)
    decision_comment = models.TextField(_("审批意见"), blank=True)
    opened_at = models.DateTimeField(_("开启时间"), default=timezone.now)
    submitted_at = models.DateTimeField(_("提交时间"), null=True, blank=True)
    decided_at = models.DateTimeField(_("审批时间"), null=True, blank=True)
    renewed = models.OneToOneField(Designation, verbose_name=_("续期后的授牌"), null=True, blank=True,
                                   on_delete=models.PROTECT, related_name="renewal_of")
    updated_at = models.DateTimeField(_("更新时间"), auto_now=True)
    not_found_message, wrong_state_message = E.MSG_RENEWAL_NOT_FOUND, E.MSG_RENEWAL_WRONG_STATE

    class Meta:
        verbose_name = _("续期申请")
        verbose_name_plural = _("续期申请")
        ordering = ["-opened_at", "-id"]
        constraints = [models.UniqueConstraint(fields=["designation"], condition=models.Q(status__in=OPEN_RENEWAL),
                                               name="one_open_renewal")]

    def __str__(self) -> str:
        return f"{self.designation_id}: {self.status}"

    @transition(field=status, source=RNS.DRAFT, target=RNS.SIGNOFF)
    def renewal_submit(self):
        pass

    @transition(field=status, source=RNS.SIGNOFF, target=RNS.CITY_REVIEW)
    def renewal_sign_off(self):
        pass

    @transition(field=status, source=RNS.SIGNOFF, target=RNS.PROVINCE_REVIEW)
    def renewal_sign_off_to_province(self):
        """A city's own designation has no city review."""

    @transition(field=status, source=RNS.SIGNOFF, target=RNS.DRAFT)
    def renewal_leader_return(self):
        pass

    @transition(field=status, source=RNS.CITY_REVIEW, target=RNS.PROVINCE_REVIEW)
    def renewal_city_accept(self):
        pass

    @transition(field=status, source=RNS.CITY_REVIEW, target=RNS.DRAFT)
    def renewal_city_return(self):
        pass

    @transition(field=status, source=RNS.PROVINCE_REVIEW, target=RNS.APPROVED)
    def renewal_approve(self):
        pass

    @transition(field=status, source=RNS.PROVINCE_REVIEW, target=RNS.REJECTED)
    def renewal_reject(self):
        pass
