"""Programs and batches (configuration as data), applications with their state machine, revisions,
attachments, opinions, expert scores, the ban list and the hash-chained audit trail."""
import datetime as dt
import hashlib
import json

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django_fsm import RETURN_VALUE, ConcurrentTransitionMixin, FSMField, transition
from guardian.models import GroupObjectPermissionBase, UserObjectPermissionBase

from orgs.models import Level, Organization
from workflows.workdays import span_is_estimate


class Stage(models.TextChoices):
    """The vocabulary of stages a program's chain is built from."""

    APPLICANT_SIGNOFF = "applicant_signoff", _("本级审核")
    CITY_REVIEW = "city_review", _("市级审核推荐")
    PROVINCE_CHECK = "province_check", _("省级形式审查")
    EXPERT_REVIEW = "expert_review", _("专家评审")
    DECISION = "decision", _("省级认定")
    PUBLIC_NOTICE = "public_notice", _("公示")


class Status(models.TextChoices):
    DRAFT = "draft", _("草稿")
    APPLICANT_SIGNOFF = "applicant_signoff", _("本级审核中")
    CITY_REVIEW = "city_review", _("市级审核中")
    PROVINCE_CHECK = "province_check", _("省级形式审查中")
    EXPERT_REVIEW = "expert_review", _("专家评审中")
    DECISION = "decision", _("待认定")
    PUBLIC_NOTICE = "public_notice", _("公示中")
    APPROVED = "approved", _("已认定")
    CERTIFIED = "certified", _("已授牌")
    WITHDRAWN = "withdrawn", _("已撤回")
    NOT_RECOMMENDED = "not_recommended", _("不予推荐")
    REJECTED = "rejected", _("不予认定")
    REVOKED = "revoked", _("已撤销")
    EXPIRED = "expired", _("已到期")


TERMINAL_STATUSES = {
    Status.WITHDRAWN, Status.NOT_RECOMMENDED, Status.REJECTED, Status.REVOKED, Status.EXPIRED,
}
# Statuses that count against the city's quota: recommended and not sent back.
RECOMMENDED_STATUSES = {
    Status.PROVINCE_CHECK, Status.EXPERT_REVIEW, Status.DECISION, Status.PUBLIC_NOTICE,
    Status.APPROVED, Status.CERTIFIED, Status.REJECTED, Status.REVOKED, Status.EXPIRED,
}
# The applicant organization itself, whatever its level (a stage owner's "level" in approvals.stages).
APPLICANT = "applicant"


class SubjectKind(models.TextChoices):
    """What a program designates: a unit (an enterprise, a park, a society's station) or the applicant's
    own division (a county or a city itself). Documents address the one as 你单位, the other as 你区,
    你县 or 你市, and resolve the division type in the certificate title."""

    UNIT = "unit", _("单位")
    DIVISION = "division", _("行政区划")


class Program(models.Model):
    """A kind of pilot site. Everything that differs between programs is data in this row."""

    code = models.SlugField(_("代码"), max_length=64, unique=True)
    name_zh = models.CharField(_("名称"), max_length=128)
    name_en = models.CharField(_("英文名称"), max_length=128, blank=True)
    applicant_level = models.CharField(_("申报单位级别"), max_length=16, choices=Level.choices)
    # Ordered stage codes after the draft, e.g. ["applicant_signoff", "city_review", ...].
    chain = models.JSONField(_("审批链"), default=list)
    # [{"name", "label", "type", "required", "choices", "item_fields", "min", "max"}]
    form_fields = models.JSONField(_("表单字段"), default=list, blank=True)
    # [{"code", "label"}]
    attachment_kinds = models.JSONField(_("必备附件"), default=list, blank=True)
    # [{"code", "label", "field", "op": "min_count"|"min_value", "value", "when": {field: value},
    #   "where": {item_field: value}}]
    thresholds = models.JSONField(_("门槛规则"), default=list, blank=True)
    # {stage code: working days}
    stage_time_limits = models.JSONField(_("各环节时限（工作日）"), default=dict, blank=True)
    requires_uscc = models.BooleanField(_("需统一社会信用代码"), default=True)
    subject_kind = models.CharField(_("申报主体类型"), max_length=16, choices=SubjectKind.choices,
                                    default=SubjectKind.UNIT)
    # "{division_type}" is replaced by the subject's division type (区, 县, 市, 旗), e.g. 创新驱动示范{division_type}.
    certificate_title = models.CharField(_("证书标题"), max_length=128, blank=True)
    # str.format pattern; keys: prefix, year, seq
    certificate_number_format = models.CharField(
        _("证书编号格式"), max_length=128, default="{prefix}科协证〔{year}〕第{seq:04d}号"
    )
    validity_years = models.PositiveSmallIntegerField(_("有效期（年）"), default=3)
    active = models.BooleanField(_("启用"), default=True)

    class Meta:
        verbose_name = _("申报类别")
        verbose_name_plural = _("申报类别")
        ordering = ["code"]

    def __str__(self) -> str:
        return self.name_zh

    def stage_after(self, status: str) -> str:
        """The status that follows `status` in this program's chain (draft comes before the chain)."""
        chain = list(self.chain)
        if status == Status.DRAFT:
            return chain[0]
        return chain[chain.index(status) + 1]

    @property
    def name(self) -> str:
        from django.utils.translation import get_language

        lang = (get_language() or "zh-hans").lower()
        return self.name_en if lang.startswith("en") and self.name_en else self.name_zh


class Batch(models.Model):
    program = models.ForeignKey(Program, verbose_name=_("申报类别"), on_delete=models.PROTECT, related_name="batches")
    province = models.ForeignKey(
        Organization, verbose_name=_("省级科协"), on_delete=models.PROTECT, related_name="batches"
    )
    year = models.PositiveSmallIntegerField(_("年度"))
    name = models.CharField(_("批次名称"), max_length=128)
    opens_on = models.DateField(_("申报开始"))
    closes_on = models.DateField(_("申报截止"))
    notice_workdays = models.PositiveSmallIntegerField(_("公示期（工作日）"), default=5)
    validity_years = models.PositiveSmallIntegerField(_("有效期（年）"), null=True, blank=True)
    # Replaces the program's threshold rules for this batch when not empty.
    thresholds = models.JSONField(_("本批次门槛规则"), default=list, blank=True)

    class Meta:
        verbose_name = _("申报批次")
        verbose_name_plural = _("申报批次")
        ordering = ["-year", "program"]

    def __str__(self) -> str:
        return self.name

    @property
    def effective_thresholds(self) -> list:
        return self.thresholds or self.program.thresholds

    @property
    def effective_validity_years(self) -> int:
        return self.validity_years or self.program.validity_years


class BatchQuota(models.Model):
    batch = models.ForeignKey(Batch, verbose_name=_("批次"), on_delete=models.CASCADE, related_name="quotas")
    city = models.ForeignKey(Organization, verbose_name=_("市级科协"), on_delete=models.PROTECT)
    quota = models.PositiveSmallIntegerField(_("推荐名额"))

    class Meta:
        verbose_name = _("推荐名额")
        verbose_name_plural = _("推荐名额")
        constraints = [models.UniqueConstraint(fields=["batch", "city"], name="one_quota_per_city")]

    def __str__(self) -> str:
        return f"{self.city_id}: {self.quota}"


class BannedSubject(models.Model):
    """A subject barred from applying (e.g. for falsified material) until a date."""

    uscc = models.CharField(_("统一社会信用代码"), max_length=18, db_index=True)
    name = models.CharField(_("名称"), max_length=200)
    reason = models.TextField(_("原因"))
    barred_until = models.DateField(_("限制截止"))

    class Meta:
        verbose_name = _("限制申报名单")
        verbose_name_plural = _("限制申报名单")

    def __str__(self) -> str:
        return f"{self.name}（{self.barred_until} 前）"


class Application(ConcurrentTransitionMixin, models.Model):
    program = models.ForeignKey(Program, verbose_name=_("申报类别"), on_delete=models.PROTECT)
    batch = models.ForeignKey(Batch, verbose_name=_("批次"), on_delete=models.PROTECT, related_name="applications")
    applicant = models.ForeignKey(
        Organization, verbose_name=_("申报单位"), on_delete=models.PROTECT, related_name="applications"
    )
    # Ancestors of the applicant, copied at creation so scope and ownership checks need no join.
    applicant_path = models.CharField(max_length=255, db_index=True, editable=False)
    city = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="+", editable=False)
    province = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="+", editable=False)

    subject_name = models.CharField(_("申报主体名称"), max_length=200)
    uscc = models.CharField(_("统一社会信用代码"), max_length=18, blank=True)
    division = models.ForeignKey(
        "orgs.Division", verbose_name=_("所在区划"), on_delete=models.PROTECT, related_name="+"
    )
    form_data = models.JSONField(_("申报内容"), default=dict, blank=True)
    revision = models.PositiveIntegerField(_("版本"), default=1)
    status = FSMField(_("状态"), default=Status.DRAFT, choices=Status.choices, protected=True, db_index=True)

    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(_("创建时间"), default=timezone.now)
    updated_at = models.DateTimeField(_("更新时间"), auto_now=True)
    submitted_at = models.DateTimeField(_("提交时间"), null=True, blank=True)
    stage_entered_at = models.DateTimeField(_("进入本环节时间"), default=timezone.now)
    notice_starts_on = models.DateField(_("公示开始"), null=True, blank=True)
    notice_ends_on = models.DateField(_("公示结束"), null=True, blank=True)
    decided_at = models.DateTimeField(_("认定时间"), null=True, blank=True)

    process = models.OneToOneField(
        "viewflow.Process", null=True, blank=True, on_delete=models.SET_NULL, related_name="application"
    )
    # Head of the audit hash chain, kept on the locked row so appending an event needs no extra read.
    audit_seq = models.PositiveIntegerField(default=0, editable=False)
    audit_head = models.CharField(max_length=64, default="", editable=False)

    class Meta:
        verbose_name = _("申报")
        verbose_name_plural = _("申报")
        ordering = ["-created_at", "-id"]
        permissions = [("score_application", _("评审该申报"))]
        indexes = [
            models.Index(fields=["applicant_path"], name="app_path_prefix_idx", opclasses=["varchar_pattern_ops"]),
            models.Index(fields=["batch", "city", "status"], name="app_batch_city_status_idx"),
            # The lists' order (application_list, the dashboard's latest): a scope of a province or wider
            # reads its first page in order instead of sorting every visible row.
            models.Index(fields=["-created_at", "-id"], name="app_created_desc_idx"),
            # A scope's rows read from the index alone (docs/scaling.md): the dashboard's and the reports'
            # counts by program, status and city, and the lists' order (only the page's rows are then read
            # from the table). The path first, with the prefix opclass: PostgreSQL's LIKE 'p%' and SQLite's
            # range (orgs.lookups) both seek it.
            models.Index(fields=["applicant_path", "program", "status", "city", "created_at"], name="app_scope_cover_idx",
                         opclasses=["varchar_pattern_ops", "", "", "", ""]),
            # The task lists' scope (workflows.selectors: a task's application by its process, then its path):
            # answered from the index, without reading the application's row for each of a pool's tasks.
            models.Index(fields=["process", "applicant_path"], name="app_process_path_idx"),
        ]
        constraints = [
            # One live application per batch and subject: by credit code, or by division for a subject
            # without one (a county or city applying for itself). A terminal one frees the subject again.
            models.UniqueConstraint(
                fields=["batch", "uscc"], name="one_live_application_per_uscc",
                condition=~models.Q(uscc="") & ~models.Q(status__in=sorted(TERMINAL_STATUSES)),
            ),
            models.UniqueConstraint(
                fields=["batch", "division"], name="one_live_application_per_division",
                condition=models.Q(uscc="") & ~models.Q(status__in=sorted(TERMINAL_STATUSES)),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.subject_name}（{self.program.name_zh}）"

    @property
    def is_terminal(self) -> bool:
        return self.status in TERMINAL_STATUSES

    @property
    def status_label(self):
        """get_status_display for the lists: Django's builds a dict of every choice per call, hashing each
        lazy label (a translation per status, per row: about 700 of 50 rows' page time)."""
        try:
            return Status(self.status).label
        except ValueError:
            return self.status

    @property
    def notice_ends_on_is_estimate(self) -> bool:
        """The notice's end was counted through a provisional day (a year whose arrangement is not loaded):
        pages, documents and the API mark it 估算."""
        if self.notice_starts_on is None or self.notice_ends_on is None:
            return False
        return span_is_estimate(self.notice_starts_on - dt.timedelta(days=1), self.notice_ends_on)

    # --- transitions: they only check and set; services lock, authorize, save and audit. ---

    # Forward moves take their target from the program's chain, so a new program needs no code.
    _CHAIN_TARGETS = RETURN_VALUE(
        Status.APPLICANT_SIGNOFF, Status.CITY_REVIEW, Status.PROVINCE_CHECK, Status.EXPERT_REVIEW, Status.DECISION
    )

    @transition(field=status, source=Status.DRAFT, target=_CHAIN_TARGETS)
    def submit(self):
        self.submitted_at = timezone.now()
        return self.program.stage_after(Status.DRAFT)

    @transition(field=status, source=Status.APPLICANT_SIGNOFF, target=_CHAIN_TARGETS)
    def sign_off(self):
        return self.program.stage_after(Status.APPLICANT_SIGNOFF)

    @transition(field=status, source=Status.CITY_REVIEW, target=_CHAIN_TARGETS)
    def recommend(self):
        return self.program.stage_after(Status.CITY_REVIEW)

    @transition(field=status, source=Status.CITY_REVIEW, target=Status.NOT_RECOMMENDED)
    def decline(self):
        pass

    @transition(field=status,
                source=[Status.APPLICANT_SIGNOFF, Status.CITY_REVIEW, Status.PROVINCE_CHECK],
                target=Status.DRAFT)
    def return_(self):
        self.revision += 1

    @transition(field=status, source=Status.PROVINCE_CHECK, target=_CHAIN_TARGETS)
    def accept(self):
        return self.program.stage_after(Status.PROVINCE_CHECK)

    @transition(field=status, source=Status.EXPERT_REVIEW, target=_CHAIN_TARGETS)
    def close_expert_review(self):
        return self.program.stage_after(Status.EXPERT_REVIEW)

    @transition(field=status, source=Status.DECISION, target=RETURN_VALUE(Status.PUBLIC_NOTICE, Status.REJECTED))
    def decide(self, approve: bool):
        self.decided_at = timezone.now()
        return Status.PUBLIC_NOTICE if approve else Status.REJECTED

    @property
    def notice_over(self) -> bool:
        """The 公示 was published and its last day has passed (the one rule of the transition, the service's
        check and the button)."""
        return self.notice_ends_on is not None and self.notice_ends_on < timezone.localdate()

    # An objection that is upheld sends the case back to the decision; one that is not leaves it in 公示.
    @transition(field=status, source=Status.PUBLIC_NOTICE, target=RETURN_VALUE(Status.DECISION, Status.PUBLIC_NOTICE))
    def object(self, upheld: bool):
        if not upheld:
            return Status.PUBLIC_NOTICE
        self.notice_starts_on = self.notice_ends_on = None
        return Status.DECISION

    @transition(field=status, source=Status.PUBLIC_NOTICE, target=Status.APPROVED,
                conditions=[lambda a: a.notice_over])
    def approve(self):
        pass

    @transition(field=status, source=Status.APPROVED, target=Status.CERTIFIED)
    def issue_certificate(self):
        pass

    @transition(field=status, source=Status.CERTIFIED, target=Status.REVOKED)
    def revoke(self):
        pass

    @transition(field=status, source=Status.CERTIFIED, target=Status.EXPIRED)
    def expire(self):
        pass

    @transition(field=status, source=[Status.DRAFT, Status.APPLICANT_SIGNOFF, Status.CITY_REVIEW],
                target=Status.WITHDRAWN)
    def withdraw(self):
        pass


class Revision(models.Model):
    """A frozen copy of an application as it stood when it left the applicant; read-only once written."""

    application = models.ForeignKey(Application, on_delete=models.CASCADE, related_name="revisions")
    number = models.PositiveIntegerField(_("版本号"))
    subject_name = models.CharField(max_length=200)
    uscc = models.CharField(max_length=18, blank=True)
    division_code = models.CharField(max_length=6)
    form_data = models.JSONField(default=dict)
    # {kind: [{"name", "sha256", "size"}]}
    attachments = models.JSONField(default=dict)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("申报版本")
        verbose_name_plural = _("申报版本")
        constraints = [models.UniqueConstraint(fields=["application", "number"], name="unique_revision")]
        ordering = ["number"]

    def __str__(self) -> str:
        return f"{self.application_id} v{self.number}"

    def save(self, *args, **kwargs):
        if self.pk is not None:
            raise PermissionError("revisions are read-only")
        super().save(*args, **kwargs)





class Attachment(models.Model):
    application = models.ForeignKey(Application, on_delete=models.CASCADE, related_name="attachments")
    revision = models.PositiveIntegerField(_("版本"))
    kind = models.CharField(_("附件类型"), max_length=64)
    original_name = models.CharField(_("文件名"), max_length=255)
    content_type = models.CharField(_("文件格式"), max_length=100)
    size = models.PositiveIntegerField(_("大小（字节）"))
    sha256 = models.CharField(max_length=64)
    storage_key = models.CharField(max_length=64, unique=True, editable=False)
    uploaded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    uploaded_at = models.DateTimeField(default=timezone.now)
    # The revision in which the clerk removed it; the file stays for the frozen revisions that list it.
    removed_in = models.PositiveIntegerField(null=True, blank=True)

    class Meta:
        verbose_name = _("附件")
        verbose_name_plural = _("附件")
        ordering = ["kind", "uploaded_at"]

    def __str__(self) -> str:
        return self.original_name


class Decision(models.TextChoices):
    """The conclusion of an opinion, as printed in the opinion blocks."""

    AGREE = "agree", _("同意")
    RETURN = "return", _("退回修改")
    RECOMMEND = "recommend", _("推荐")
    DECLINE = "decline", _("不予推荐")
    ACCEPT = "accept", _("形式审查通过")
    APPROVE = "approve", _("予以认定")
    REJECT = "reject", _("不予认定")
    OBJECTION_UPHELD = "objection_upheld", _("异议成立")
    OBJECTION_DISMISSED = "objection_dismissed", _("异议不成立")
    REVOKE = "revoke", _("撤销")


class Opinion(models.Model):
    """The opinion of a level on an application, as printed in its opinion block."""

    application = models.ForeignKey(Application, on_delete=models.CASCADE, related_name="opinions")
    revision = models.PositiveIntegerField(_("版本"))
    stage = models.CharField(_("环节"), max_length=32, choices=Status.choices)
    decision = models.CharField(_("结论"), max_length=32, choices=Decision.choices)
    text = models.TextField(_("意见"), blank=True)
    person = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    role = models.CharField(_("角色"), max_length=16)
    organization = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("审核意见")
        verbose_name_plural = _("审核意见")
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return f"{self.stage}: {self.decision}"


class ExpertAssignment(models.Model):
    application = models.ForeignKey(Application, on_delete=models.CASCADE, related_name="expert_assignments")
    expert = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    revision = models.PositiveIntegerField()
    score = models.DecimalField(_("评分"), max_digits=5, decimal_places=1, null=True, blank=True)
    comment = models.TextField(_("评审意见"), blank=True)
    scored_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("专家评审")
        verbose_name_plural = _("专家评审")
        constraints = [
            models.UniqueConstraint(fields=["application", "expert", "revision"], name="one_assignment_per_expert")
        ]

    def __str__(self) -> str:
        return f"{self.application_id}/{self.expert_id}"


class AuditEvent(models.Model):
    """Append-only; events of one application form a SHA-256 chain (see `compute_hash`)."""

    application = models.ForeignKey(Application, on_delete=models.PROTECT, related_name="events")
    seq = models.PositiveIntegerField()
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT, related_name="+")
    on_behalf_of = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    organization = models.ForeignKey(Organization, null=True, on_delete=models.PROTECT, related_name="+")
    role = models.CharField(max_length=16, blank=True)
    action = models.CharField(max_length=32)
    from_status = models.CharField(max_length=32, blank=True)
    to_status = models.CharField(max_length=32, blank=True)
    revision = models.PositiveIntegerField()
    comment = models.TextField(blank=True)
    created_at = models.DateTimeField()
    client_ip = models.GenericIPAddressField(null=True, blank=True)
    prev_hash = models.CharField(max_length=64)
    hash = models.CharField(max_length=64)
    # For a status-changing event: when the application entered `from_status` and the working days it
    # stayed there (workdays_between the local dates), so that the event is a finished stay by itself
    # (approvals.reports). Derived from the chain (the previous status-changing event's created_at) and
    # the calendar, so not part of the hashed payload; recounted when the calendar of a year changes.
    from_entered_at = models.DateTimeField(null=True, blank=True, editable=False)
    stay_workdays = models.PositiveIntegerField(null=True, blank=True, editable=False)

    class Meta:
        verbose_name = _("审计记录")
        verbose_name_plural = _("审计记录")
        ordering = ["application_id", "seq"]
        constraints = [models.UniqueConstraint(fields=["application", "seq"], name="audit_chain_seq")]
        indexes = [
            # The stays of the reports, read from the index alone (an index-only scan on PostgreSQL).
            models.Index(fields=["application", "from_status", "stay_workdays"],
                         condition=models.Q(stay_workdays__isnull=False), name="audit_stays_idx"),
            # Events by creation time (the last days' events, as the outbox migration read them).
            models.Index(fields=["created_at"], name="audit_created_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.application_id}#{self.seq} {self.action}"

    def save(self, *args, **kwargs):
        if self.pk is not None:
            raise PermissionError("audit events are append-only")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise PermissionError("audit events are append-only")

    def payload(self) -> str:
        return json.dumps(
            [
                self.application_id, self.seq, self.actor_id, self.on_behalf_of_id, self.organization_id,
                self.role, self.action, self.from_status, self.to_status, self.revision, self.comment,
                self.created_at.astimezone(dt.UTC).isoformat(timespec="microseconds"), self.client_ip,
                self.prev_hash,
            ],
            ensure_ascii=False, separators=(",", ":"),
        )

    def compute_hash(self) -> str:
        return hashlib.sha256(self.payload().encode("utf-8")).hexdigest()


class ApplicationUserObjectPermission(UserObjectPermissionBase):
    content_object = models.ForeignKey(Application, on_delete=models.CASCADE)


class ApplicationGroupObjectPermission(GroupObjectPermissionBase):
    content_object = models.ForeignKey(Application, on_delete=models.CASCADE)


# The outbox's table lives in its own module (approvals.outbox); importing it here registers the model.
from .outbox import Effect  # noqa: E402, F401
