"""The API's read resources besides applications: programs (their form fields and attachment kinds),
batches (windows, quotas and the quota used) and their documents, the organizations in scope, the experts a
province may assign, my tasks (inbox and queue, claim) and my notifications.

Every list is scoped by approvals.access / orgs.access (the one home of the rules) and pages, filters and
orders the same way: ?page=N (50 a page), the filters each list names, ?ordering=<field> or -<field>. A
page costs the same number of queries at any size (tests/api/test_resources.py pins them)."""
import django_filters
from django.db import transaction
from django.db.models import Count, Prefetch
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, extend_schema_field
from rest_framework import mixins, serializers, viewsets
from rest_framework.decorators import action
from rest_framework.filters import OrderingFilter
from rest_framework.response import Response
from viewflow.workflow.models import Task
from viewflow.workflow.status import STATUS

from orgs.access import organization_scope_q, principal_of
from orgs.models import Level, Organization, OrgKind
from printing.views import NoticePdfView, RecommendationLetterPdfView, SummaryPdfView, SummaryXlsxView
from security.exports import PurposeMissing
from workflows import selectors as task_selectors
from workflows.models import Notification, NotificationKind
from workflows.notifications import notification_list, notification_mark_read

from . import access
from . import errors as E
from .api import ERRORS, ApiMixin, ErrorSerializer, IdField, IgnoreAcceptNegotiation, IntegerFilter
from .api_errors import MSG_NOT_FOUND
from .models import RECOMMENDED_STATUSES, Application, Batch, BatchQuota, Program

MAX_ID = 2**31 - 1
MSG_BATCH_NOT_FOUND = _("批次不存在或不在您的权限范围内")
MSG_TASK_NOT_FOUND = _("待办任务不存在、已被他人领取或不在您的权限范围内")
MSG_NOTIFICATION_NOT_FOUND = _("通知不存在")

NOT_FOUND_PAGE = OpenApiResponse(ErrorSerializer, description="页码超出范围或无效")
BAD_QUERY = OpenApiResponse(ErrorSerializer, description="查询参数有误")


# A yes/no query parameter: exactly true or false (anything else is a 400 naming it, not ignored).
BOOLEAN = [("true", "true"), ("false", "false")]


class ReadApiMixin(ApiMixin):
    """Lists: DjangoFilterBackend for the filters, OrderingFilter for ?ordering= (the fields each names)."""

    filter_backends = [django_filters.rest_framework.DjangoFilterBackend, OrderingFilter]
    lookup_value_regex = r"\d+"

    @property
    def principal(self):
        return principal_of(self.request.user)

    def object_id(self) -> int:
        """The id in the path; one past the database's integer cannot name anything (404, not an overflow)."""
        pk = int(self.kwargs["pk"])
        if pk > MAX_ID:
            raise E.NotFound(MSG_NOT_FOUND)
        return pk


# ------------------------------------------------------------------------------------------ programs


class ProgramSerializer(serializers.ModelSerializer):
    name = serializers.CharField()
    form_fields = serializers.JSONField(help_text="表单字段：[{name, label, type, required, choices, …}]")
    attachment_kinds = serializers.JSONField(help_text="必备附件：[{code, label}]")
    chain = serializers.JSONField(help_text="草稿之后的各环节")

    class Meta:
        model = Program
        fields = ["id", "code", "name", "name_en", "applicant_level", "subject_kind", "requires_uscc", "chain",
                  "form_fields", "attachment_kinds", "validity_years"]
        read_only_fields = fields


class ProgramViewSet(ReadApiMixin, mixins.ListModelMixin, viewsets.GenericViewSet):
    """The programs open for application (reference data every signed-in user may read)."""

    serializer_class = ProgramSerializer
    ordering_fields = ["id", "code"]
    ordering = ["id"]

    def get_queryset(self):
        return Program.objects.filter(active=True)

    @extend_schema(summary="申报类别（含表单字段与必备附件）", responses={200: ProgramSerializer(many=True),
                                                               404: NOT_FOUND_PAGE})
    def list(self, request, *args, **kwargs):
        return super().list(request, *args, **kwargs)


# ------------------------------------------------------------------------------------------- batches


class QuotaSerializer(serializers.Serializer):
    city = serializers.IntegerField(source="city_id")
    city_name = serializers.CharField(source="city.name")
    quota = serializers.IntegerField()
    used = serializers.IntegerField(help_text="已推荐（计入名额）的申报数")


class BatchSerializer(serializers.ModelSerializer):
    program = serializers.CharField(source="program.code")
    program_name = serializers.CharField(source="program.name")
    province_name = serializers.CharField(source="province.name")
    is_open = serializers.SerializerMethodField(help_text="今天在申报窗口内")
    quotas = serializers.SerializerMethodField(help_text="调用者可见的市级名额（本市及下级、上级可见）")

    class Meta:
        model = Batch
        fields = ["id", "program", "program_name", "province", "province_name", "year", "name", "opens_on",
                  "closes_on", "is_open", "notice_workdays", "quotas"]
        read_only_fields = fields

    def get_is_open(self, batch) -> bool:
        return batch.opens_on <= timezone.localdate() <= batch.closes_on

    @extend_schema_field(QuotaSerializer(many=True))
    def get_quotas(self, batch):
        principal, used = self.context["principal"], self.context["used"]
        quotas = [q for q in batch.quotas.all() if access.may_see_quota_of(principal, q.city)]
        for quota in quotas:
            quota.used = used.get((batch.pk, quota.city_id), 0)
        return QuotaSerializer(sorted(quotas, key=lambda q: q.city_id), many=True).data


class BatchFilter(django_filters.FilterSet):
    program = django_filters.CharFilter(field_name="program__code", label="申报类别代码")
    year = IntegerFilter(field_name="year", label="年度", min_value=1900, max_value=2999)
    province = IntegerFilter(field_name="province_id", label="省级科协 id")
    open = django_filters.ChoiceFilter(choices=BOOLEAN, method="filter_open", label="今天在申报窗口内")

    class Meta:
        model = Batch
        fields = ["program", "year", "province", "open"]

    def filter_open(self, queryset, name, value):
        today = timezone.localdate()
        inside = queryset.filter(opens_on__lte=today, closes_on__gte=today)
        return inside if value == "true" else queryset.exclude(pk__in=inside.values("pk"))


class CityQuerySerializer(serializers.Serializer):
    city = IdField(required=False, help_text="市级科协 id；不填为调用者本人所在的市")


CITY = OpenApiParameter("city", OpenApiTypes.INT, required=False, description="市级科协 id；不填为调用者本人所在的市")


PURPOSE = OpenApiParameter("purpose", OpenApiTypes.STR, required=True, description="导出用途（必填，记入安全日志）")


def _pdf(summary):
    return extend_schema(summary=summary, parameters=[CITY] if "市" in summary else None,
                         responses={(200, "application/pdf"): OpenApiTypes.BINARY, 400: ERRORS[400],
                                    404: ERRORS[404]})


class BatchViewSet(ReadApiMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Batches of the caller's province, of a province below or above (approvals.access.may_see_batch)."""

    serializer_class = BatchSerializer
    filterset_class = BatchFilter
    ordering_fields = ["id", "year", "opens_on", "closes_on"]
    ordering = ["-year", "id"]

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return Batch.objects.none()
        return (Batch.objects.filter(access.batch_scope_q(self.principal))
                .select_related("program", "province")
                .prefetch_related(Prefetch("quotas", queryset=BatchQuota.objects.select_related("city"))))

    def _context(self, batches) -> dict:
        used = (Application.objects.filter(batch__in=[b.pk for b in batches], status__in=list(RECOMMENDED_STATUSES))
                .values_list("batch_id", "city_id").annotate(n=Count("pk")))
        return {**self.get_serializer_context(), "principal": self.principal,
                "used": {(batch, city): n for batch, city, n in used}}

    @extend_schema(summary="可见的申报批次（窗口、名额及已用名额）",
                   responses={200: BatchSerializer(many=True), 400: BAD_QUERY, 404: NOT_FOUND_PAGE})
    def list(self, request, *args, **kwargs):
        page = self.paginate_queryset(self.filter_queryset(self.get_queryset()))
        return self.get_paginated_response(BatchSerializer(page, many=True, context=self._context(page)).data)

    def get_batch(self) -> Batch:
        batch = self.get_queryset().filter(pk=self.object_id()).first()
        if batch is None:
            raise E.NotFound(MSG_BATCH_NOT_FOUND)
        return batch

    @extend_schema(summary="批次详情", responses={200: BatchSerializer, 404: ERRORS[404]})
    def retrieve(self, request, *args, **kwargs):
        batch = self.get_batch()
        return Response(BatchSerializer(batch, context=self._context([batch])).data)

    def _document(self, view, request, pk, **initkwargs):
        """The printing view's answer (it asks approvals.access again), after the query is checked here.
        An export's purpose is the view's to check, after its own access checks (security.exports)."""
        CityQuerySerializer(data=request.query_params).is_valid(raise_exception=True)
        self.get_batch()
        try:
            return view.as_view(**initkwargs)(request._request, batch_id=int(pk))
        except PurposeMissing as missing:
            raise serializers.ValidationError({"purpose": missing.messages}) from None

    @_pdf("公示名单 PDF")
    @action(detail=True, methods=["get"], url_path="notice-pdf", url_name="notice-pdf", pagination_class=None,
            filterset_class=None, content_negotiation_class=IgnoreAcceptNegotiation)
    def notice_pdf(self, request, pk=None):
        return self._document(NoticePdfView, request, pk)

    @_pdf("推荐函 PDF（一个市）")
    @action(detail=True, methods=["get"], url_path="recommendation-pdf", url_name="recommendation-pdf",
            pagination_class=None, filterset_class=None, content_negotiation_class=IgnoreAcceptNegotiation)
    def recommendation_pdf(self, request, pk=None):
        return self._document(RecommendationLetterPdfView, request, pk)

    @_pdf("推荐汇总表 PDF（一个市）")
    @action(detail=True, methods=["get"], url_path="summary-pdf", url_name="summary-pdf", pagination_class=None,
            filterset_class=None, content_negotiation_class=IgnoreAcceptNegotiation)
    def summary_pdf(self, request, pk=None):
        return self._document(SummaryPdfView, request, pk)

    @extend_schema(summary="推荐汇总表 Excel（一个市；须说明导出用途，下载记入安全日志）", parameters=[CITY, PURPOSE],
                   responses={(200, "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"):
                              OpenApiTypes.BINARY, 400: ERRORS[400], 404: ERRORS[404]})
    @action(detail=True, methods=["get"], url_path="summary-xlsx", url_name="summary-xlsx", pagination_class=None,
            filterset_class=None, content_negotiation_class=IgnoreAcceptNegotiation)
    def summary_xlsx(self, request, pk=None):
        return self._document(SummaryXlsxView, request, pk, ask_purpose=False)


# ------------------------------------------------------------------------------------- organizations


class OrganizationSerializer(serializers.ModelSerializer):
    division_code = serializers.CharField(source="division_id", allow_null=True)

    class Meta:
        model = Organization
        fields = ["id", "name", "kind", "level", "parent", "division_code", "path", "active"]
        read_only_fields = fields


class OrganizationFilter(django_filters.FilterSet):
    level = django_filters.ChoiceFilter(choices=Level.choices, label="级别")
    kind = django_filters.ChoiceFilter(choices=OrgKind.choices, label="类型")
    parent = IntegerFilter(field_name="parent_id", label="上级组织 id")
    search = django_filters.CharFilter(field_name="name", lookup_expr="icontains", label="名称包含")

    class Meta:
        model = Organization
        fields = ["level", "kind", "parent", "search"]


class OrganizationViewSet(ReadApiMixin, mixins.ListModelMixin, viewsets.GenericViewSet):
    """The caller's organizations and everything below them (orgs.access.organization_scope_q)."""

    serializer_class = OrganizationSerializer
    filterset_class = OrganizationFilter
    ordering_fields = ["id", "name", "path"]
    ordering = ["path"]

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return Organization.objects.none()
        return Organization.objects.filter(organization_scope_q(self.principal))

    @extend_schema(summary="本组织及下级组织（树按 path 排序）",
                   responses={200: OrganizationSerializer(many=True), 400: BAD_QUERY, 404: NOT_FOUND_PAGE})
    def list(self, request, *args, **kwargs):
        return super().list(request, *args, **kwargs)


# ---------------------------------------------------------------------------------------------- tasks


class TaskSerializer(serializers.ModelSerializer):
    application = serializers.IntegerField(source="process.application.pk")
    subject_name = serializers.CharField(source="process.application.subject_name")
    application_status = serializers.CharField(source="process.application.status")
    node = serializers.SerializerMethodField(help_text="流程环节")
    status = serializers.CharField(help_text="NEW（待领取）、ASSIGNED（已领取）等（工作流引擎的任务状态）")
    claimed = serializers.SerializerMethodField(help_text="已由本人领取（在待办箱中）")

    class Meta:
        model = Task
        fields = ["id", "application", "subject_name", "application_status", "node", "status", "claimed",
                  "created"]
        read_only_fields = fields

    def get_node(self, task) -> str:
        return task.flow_task.name

    def get_claimed(self, task) -> bool:
        return task.status == STATUS.ASSIGNED


class TaskFilter(django_filters.FilterSet):
    box = django_filters.ChoiceFilter(choices=[("inbox", "inbox"), ("queue", "queue")], method="filter_box",
                                      label="inbox：本人已领取；queue：本人所在岗位可领取（默认 inbox）")

    class Meta:
        model = Task
        fields = ["box"]

    def filter_box(self, queryset, name, value):
        return queryset  # the view picks the selector (workflows.selectors); declared here for the schema


class TaskViewSet(ReadApiMixin, mixins.ListModelMixin, viewsets.GenericViewSet):
    """My tasks (workflows.selectors, scoped by approvals.access): the inbox (claimed by me) or the queue of
    my roles' pools; claiming takes a task of the queue into my inbox."""

    serializer_class = TaskSerializer
    filterset_class = TaskFilter
    ordering_fields = ["id", "created"]
    ordering = ["-created", "-id"]

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return Task.objects.none()
        if self.request.query_params.get("box") == "queue":
            return task_selectors.task_queue(user=self.request.user)
        return task_selectors.task_inbox(user=self.request.user)

    @extend_schema(summary="我的待办（inbox）或可领取的任务（queue）",
                   responses={200: TaskSerializer(many=True), 400: BAD_QUERY, 404: NOT_FOUND_PAGE})
    def list(self, request, *args, **kwargs):
        return super().list(request, *args, **kwargs)

    @extend_schema(summary="领取任务（从岗位队列到本人待办）", request=None,
                   responses={200: TaskSerializer, 404: ERRORS[404]})
    @action(detail=True, methods=["post"], pagination_class=None, filterset_class=None)
    def claim(self, request, pk=None):
        with transaction.atomic():
            task = (task_selectors.task_queue(user=request.user).filter(pk=self.object_id())
                    .select_for_update(of=("self",)).first())
            if task is None or not task.flow_task.can_assign(request.user, task):
                raise E.NotFound(MSG_TASK_NOT_FOUND)
            with task.activation() as activation:
                activation.assign(request.user)
        task = task_selectors.task_inbox(user=request.user).get(pk=task.pk)
        return Response(TaskSerializer(task).data)


# --------------------------------------------------------------------------------------- notifications


class NotificationSerializer(serializers.ModelSerializer):
    kind = serializers.ChoiceField(choices=NotificationKind.choices)

    class Meta:
        model = Notification
        fields = ["id", "kind", "application", "title", "body", "url", "created_at", "read_at"]
        read_only_fields = fields


class NotificationFilter(django_filters.FilterSet):
    unread = django_filters.ChoiceFilter(choices=BOOLEAN, method="filter_unread", label="true 只看未读，false 只看已读")

    class Meta:
        model = Notification
        fields = ["unread"]

    def filter_unread(self, queryset, name, value):
        return queryset.filter(read_at__isnull=value == "true")


class NotificationViewSet(ReadApiMixin, mixins.ListModelMixin, viewsets.GenericViewSet):
    """My notifications (workflows.notifications: the caller's own, nobody else's)."""

    serializer_class = NotificationSerializer
    filterset_class = NotificationFilter
    ordering_fields = ["id", "created_at"]
    ordering = ["-created_at", "-id"]

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return Notification.objects.none()
        return notification_list(user=self.request.user)

    @extend_schema(summary="我的通知", responses={200: NotificationSerializer(many=True), 400: BAD_QUERY,
                                              404: NOT_FOUND_PAGE})
    def list(self, request, *args, **kwargs):
        return super().list(request, *args, **kwargs)

    @extend_schema(summary="标为已读", request=None, responses={200: NotificationSerializer, 404: ERRORS[404]})
    @action(detail=True, methods=["post"], pagination_class=None, filterset_class=None)
    def read(self, request, pk=None):
        notification = self.get_queryset().filter(pk=self.object_id()).first()
        if notification is None:
            raise E.NotFound(MSG_NOTIFICATION_NOT_FOUND)
        notification_mark_read(user=request.user, notification_id=notification.pk)
        notification.refresh_from_db()
        return Response(NotificationSerializer(notification).data)
