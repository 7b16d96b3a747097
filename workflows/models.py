"""Models of the workflows app: the working-day calendar, task deadlines, notifications with their e-mail
outbox and preferences (delegations live in orgs.models)."""
from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from orgs.models import Organization, Role

from .workdays import CalendarDay, CalendarYear  # noqa: F401


class TaskDeadline(models.Model):
    """The due date of one human task, fixed when the task is created (see workflows.deadlines)."""

    task = models.OneToOneField("viewflow.Task", on_delete=models.CASCADE, related_name="deadline")
    application = models.ForeignKey(
        "approvals.Application", verbose_name=_("申报"), on_delete=models.CASCADE, related_name="task_deadlines"
    )
    stage = models.CharField(_("环节"), max_length=32)
    # The pool the task belongs to: reminders go to it (or to the task's owner), escalation to its leader.
    organization = models.ForeignKey(Organization, verbose_name=_("办理单位"), on_delete=models.PROTECT, related_name="+")
    role = models.CharField(_("办理角色"), max_length=16, choices=Role.choices)
    starts_on = models.DateField(_("起算日"))
    workdays = models.PositiveSmallIntegerField(_("时限（工作日）"))
    due_on = models.DateField(_("办理期限"), db_index=True)
    # True when the count ran through a year whose holiday arrangement is not entered yet.
    is_estimate = models.BooleanField(_("估算"), default=False)
    reminded_at = models.DateTimeField(_("已提醒"), null=True, blank=True)
    escalated_at = models.DateTimeField(_("已督办"), null=True, blank=True)
    created_at = models.DateTimeField(_("创建时间"), default=timezone.now)

    class Meta:
        verbose_name = _("办理期限")
        verbose_name_plural = _("办理期限")
        ordering = ["due_on", "id"]

    def __str__(self) -> str:
        return f"{self.task_id} {self.stage} {self.due_on}{'（估算）' if self.is_estimate else ''}"


class NotificationKind(models.TextChoices):
    TASK = "task", _("待办任务")
    RETURNED = "returned", _("退回修改")
    DECIDED = "decided", _("审批结果")
    CERTIFICATE = "certificate", _("证书颁发")
    REMINDER = "reminder", _("到期提醒")
    ESCALATION = "escalation", _("逾期督办")
    EXPIRED = "expired", _("认定到期")
    # To administrators: next year's holiday arrangement missing; organizations whose division was retired.
    CALENDAR = "calendar", _("节假日安排")
    DIVISIONS = "divisions", _("行政区划变更")


class Notification(models.Model):
    """One in-app message to one user; `dedup_key` makes creating it twice impossible."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("接收人"), on_delete=models.CASCADE, related_name="notifications"
    )
    kind = models.CharField(_("类型"), max_length=16, choices=NotificationKind.choices)
    application = models.ForeignKey(
        "approvals.Application", verbose_name=_("申报"), null=True, blank=True, on_delete=models.CASCADE,
        related_name="+",
    )
    title = models.CharField(_("标题"), max_length=200)
    body = models.TextField(_("内容"), blank=True)
    url = models.CharField(_("链接"), max_length=300, blank=True)
    created_at = models.DateTimeField(_("时间"), default=timezone.now)
    read_at = models.DateTimeField(_("已读时间"), null=True, blank=True)
    dedup_key = models.CharField(max_length=200, unique=True, editable=False)

    class Meta:
        verbose_name = _("通知")
        verbose_name_plural = _("通知")
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["user", "read_at"], name="notification_user_unread_idx")]

    def __str__(self) -> str:
        return self.title


class NotificationPreference(models.Model):
    """A user's choice for one kind of notification; no row means e-mail is on."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notification_preferences"
    )
    kind = models.CharField(_("类型"), max_length=16, choices=NotificationKind.choices)
    email_enabled = models.BooleanField(_("发送邮件"), default=True)

    class Meta:
        verbose_name = _("通知设置")
        verbose_name_plural = _("通知设置")
        constraints = [models.UniqueConstraint(fields=["user", "kind"], name="one_preference_per_kind")]

    def __str__(self) -> str:
        return f"{self.user} {self.get_kind_display()}：{'邮件' if self.email_enabled else '不发邮件'}"


class EmailOutbox(models.Model):
    """The e-mail of one notification. Written in the transaction that creates the notification, so a
    broker outage loses nothing; `sending_started_at` is the claim that makes sending at most once."""

    notification = models.OneToOneField(Notification, on_delete=models.CASCADE, related_name="email")
    to_email = models.EmailField(_("收件人"))
    subject = models.CharField(_("主题"), max_length=255)
    body = models.TextField(_("正文"))
    created_at = models.DateTimeField(_("创建时间"), default=timezone.now, db_index=True)
    sending_started_at = models.DateTimeField(_("开始发送"), null=True, blank=True)
    sent_at = models.DateTimeField(_("已发送"), null=True, blank=True)
    # Set when the outbox gives up: too many refusals, or a worker died while talking to the mail server.
    failed_at = models.DateTimeField(_("需人工处理"), null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(_("尝试次数"), default=0)
    last_error = models.TextField(_("最近错误"), blank=True)

    class Meta:
        verbose_name = _("邮件发件箱")
        verbose_name_plural = _("邮件发件箱")
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(
                fields=["created_at"], name="outbox_pending_idx",
                condition=Q(sent_at__isnull=True, failed_at__isnull=True),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.to_email}: {self.subject}"


