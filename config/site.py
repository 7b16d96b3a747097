"""The viewflow Material site: the approvals pages and the workflow inbox/queue/archive, scoped by the
organization pools (viewflow's own queue would look for guardian permissions instead), and the pages of
designations, printing and notifications, so that every page of the frame has the same side menu (viewflow's
page frame draws it only for routes of the site: its middleware puts the site and the current application on
the request)."""
from django.core.exceptions import PermissionDenied
from django.shortcuts import redirect
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _
from viewflow.urls import Application, Site, route
from viewflow.utils import viewprop
from viewflow.workflow.flow import FlowViewset, WorkflowAppViewset
from viewflow.workflow.flow.views.filters import FlowArchiveListFilter
from viewflow.workflow.flow.views.list import (
    WorkflowArchiveListView,
    WorkflowInboxListView,
    WorkflowQueueListView,
)
from viewflow.workflow.flow.views.mixins import StoreRequestPathMixin
from viewflow.workflow.flow.viewset import NestedFlowsApp

from approvals import access, audit_views, report_views, views
from approvals.selectors import IdsFirstPaginator
from designations import urls as designation_urls
from designations.views import ReportListView
from orgs.access import may_read_security_log, principal_of
from printing import urls as printing_urls
from security import log_views
from workflows import selectors
from workflows import urls as workflow_urls
from workflows.flows import ApplicationFlow
from workflows.notification_views import NotificationListView

PIN_LOCATION = "vf-pin-location"  # viewflow's session key (StoreRequestPathMixin, FlowViewset's back link)


class PoolTaskColumns:
    """Columns of the task lists: which application, which step, since when; tasks open the application
    page, where the step's actions are. No "start process" button: applications start from a batch."""

    def application(self, task):
        app = task.process.application
        url = reverse("approvals:detail", args=[app.pk])
        return format_html('<a href="{}">{}</a>', url, app.subject_name)

    application.short_description = _("申报主体")

    def applicant(self, task):
        return task.process.application.applicant.name

    applicant.short_description = _("申报单位")

    def step(self, task):
        return task.flow_task.task_title or str(task.flow_task)

    step.short_description = _("环节")

    def due(self, task):
        deadline = getattr(task, "deadline", None)
        if deadline is None:
            return "—"
        return f"{deadline.due_on:%Y-%m-%d}" + (str(_("（估算）")) if deadline.is_estimate else "")

    due.short_description = _("办理期限")

    def created_on(self, task):
        return f"{timezone.localtime(task.created):%Y-%m-%d %H:%M}"

    created_on.short_description = _("到达时间")

    def finished_on(self, task):
        return f"{timezone.localtime(task.finished):%Y-%m-%d %H:%M}" if task.finished else "—"

    finished_on.short_description = _("完成时间")

    def dispatch(self, request, *args, **kwargs):
        # viewflow's StoreRequestPathMixin writes the list's path into the session (the page a task's form
        # returns to) on every request: an UPDATE of the session row and a COMMIT, a flush to disk on SQLite,
        # for each read of a list. Here it is written only when it changed; then the view goes on as
        # StoreRequestPathMixin's own dispatch would.
        path = request.get_full_path()
        if request.session.get(PIN_LOCATION) != path:
            request.session[PIN_LOCATION] = path
        return super(StoreRequestPathMixin, self).dispatch(request, *args, **kwargs)

    template_name = "workflows/task_list.html"
    # The page's tasks by their ids first: a province's pool holds thousands, and the page joins each
    # of its rows to its process, application, applicant and deadline (approvals.selectors.IdsFirst).
    paginator_class = IdsFirstPaginator

    def flows_start_nodes(self):
        return {}


class PoolTaskFilter(FlowArchiveListFilter):
    """Filter open tasks by step and arrival date. viewflow's own filter also offers every process of the
    listed tasks in a drop-down (hundreds at a province): one query and a page of a quarter megabyte."""

    finished = None

    class Meta(FlowArchiveListFilter.Meta):
        fields = ("flow_task", "created")


def _tasks(qs):
    return qs.select_related("process__application__applicant", "deadline")


class InboxView(PoolTaskColumns, WorkflowInboxListView):
    title = _("待办")
    filterset_class = PoolTaskFilter
    columns = ("application", "applicant", "step", "due", "created_on")

    @viewprop
    def queryset(self):
        return _tasks(selectors.task_inbox(user=self.request.user))


class QueueView(PoolTaskColumns, WorkflowQueueListView):
    title = _("可领取")
    filterset_class = PoolTaskFilter
    columns = ("application", "applicant", "step", "due", "created_on")

    @viewprop
    def queryset(self):
        return _tasks(selectors.task_queue(user=self.request.user))


class ArchiveView(PoolTaskColumns, WorkflowArchiveListView):
    title = _("已办")
    columns = ("application", "applicant", "step", "created_on", "finished_on")

    @viewprop
    def queryset(self):
        return _tasks(selectors.task_archive(user=self.request.user))


def engine_index(request):
    """The index of viewflow's own process pages: system administrators go on to the flow's pages, anyone
    else is refused (viewflow's own index would fail with a 500 when no flow lets the user in)."""
    if not access.may_use_engine_pages(principal_of(request.user)):
        raise PermissionDenied
    return redirect(ApplicationFlow.instance.reverse("index"))


class EngineFlowsApp(NestedFlowsApp):
    @property
    def index_path(self):
        return path("", engine_index, name="index")


class TasksApp(WorkflowAppViewset):
    """待办, 可领取 and 已办 for everyone logged in, each scoped by workflows.selectors. The flow's own
    pages under flows/ ask the flow, which lets only system administrators in (approvals.access)."""

    title = _("任务")

    def __init__(self, flow_viewsets, **kwargs):
        # As WorkflowAppViewset sets itself up, with the engine pages' index of EngineFlowsApp.
        self.flow_classes = [viewset._flow_class for viewset in flow_viewsets]
        kwargs["viewsets"] = [*kwargs.get("viewsets", []), EngineFlowsApp(viewsets=flow_viewsets)]
        super(WorkflowAppViewset, self).__init__(**kwargs)

    def has_view_permission(self, user, obj=None):
        return user.is_authenticated
    inbox_view_class = InboxView
    queue_view_class = QueueView
    archive_view_class = ArchiveView

    def get_context_data(self, request):
        # The menu's counts, from the same pool-scoped selectors as the lists, both in one statement
        # (workflows.selectors.task_counts), read only if the menu is rendered.
        counts = selectors.TaskCounts(request.user)
        return {"user_inbox": selectors.TaskBadge(counts, "inbox"), "user_queue": selectors.TaskBadge(counts, "queue")}


class ApprovalsApp(Application):
    title = _("申报审批")
    icon = "fact_check"
    app_name = "approvals"
    menu_template_name = "approvals/menu.html"

    dashboard_path = path("", views.DashboardView.as_view(), name="dashboard")
    list_path = path("applications/", views.ApplicationListView.as_view(), name="list")
    create_path = path("applications/new/", views.ApplicationCreateView.as_view(), name="create")
    detail_path = path("applications/<int:pk>/", views.ApplicationDetailView.as_view(), name="detail")
    edit_path = path("applications/<int:pk>/edit/", views.ApplicationEditView.as_view(), name="edit")
    upload_path = path("applications/<int:pk>/attachments/", views.AttachmentUploadView.as_view(), name="upload")
    action_path = path("applications/<int:pk>/<str:action>/", views.ApplicationActionView.as_view(), name="action")
    attachment_path = path("attachments/<int:pk>/", views.AttachmentDownloadView.as_view(), name="attachment")
    reports_path = path("reports/", report_views.ReportsView.as_view(), name="reports")
    reports_xlsx_path = path("reports.xlsx", report_views.ReportsExcelView.as_view(), name="reports_xlsx")
    city_batch_path = path("batches/<int:batch_id>/city/", views.CityBatchView.as_view(), name="city_batch")
    audit_digests_path = path("audit-digests/", audit_views.AuditDigestListView.as_view(), name="audit_digests")
    audit_digest_path = path("audit-digests/<int:number>/", audit_views.AuditDigestDownloadView.as_view(),
                             name="audit_digest")
    audit_public_key_path = path("audit-digests/public-key.pem", audit_views.AuditPublicKeyView.as_view(),
                                 name="audit_public_key")


class DesignationsApp(Application):
    """Annual reports, rectifications, revocations, renewals and the dashboard (designations/urls.py), at
    the paths that module gives them; the public registry is among them (the frame lets anyone see it)."""

    title = _("授牌管理")
    icon = "verified"
    app_name = "designations"
    menu_template_name = "designations/menu.html"
    # The section's entry in the menu: the annual reports (the path of designations:reports, which comes first).
    index_path = path("designations/reports/", ReportListView.as_view(), name="index")
    urlpatterns = designation_urls.urlpatterns


class NotificationsApp(Application):
    """The notification list and the e-mail preferences (workflows/urls.py)."""

    title = _("通知")
    icon = "notifications"
    app_name = "workflows"
    menu_template_name = "workflows/menu.html"
    # The section's entry in the menu: the list (the path of workflows:notifications, which comes first).
    index_path = path("notifications/", NotificationListView.as_view(), name="index")
    urlpatterns = workflow_urls.urlpatterns


class PrintingApp(Application):
    """Documents of applications and batches and the bulk issue of certificates (printing/urls.py). Its
    pages are reached from an application's or a batch's page, so it is no section of the menu: they show
    the approvals section's menu. The public verification and notice pages are in the public frame."""

    title = _("申报审批")
    app_name = "printing"
    menu_template_name = "approvals/menu.html"
    in_site_menu = False
    index_path = None
    urlpatterns = printing_urls.urlpatterns


class SecurityLogApp(Application):
    """The audit administrator's security log (security.log_views): in the menu only for whoever may read
    it (orgs.access.may_read_security_log); the pages ask the same rule."""

    title = _("安全审计")
    icon = "policy"
    app_name = "security_log"
    menu_template_name = "security/log_menu.html"
    index_path = path("security/log/", log_views.SecurityLogView.as_view(), name="index")
    xlsx_path = path("security/log.xlsx", log_views.SecurityLogExcelView.as_view(), name="xlsx")

    def has_view_permission(self, user, obj=None):
        return user.is_authenticated and may_read_security_log(principal_of(user))


class KexieSite(Site):
    """The site, with the sections above mounted at the site root (their paths unchanged)."""

    designations_path = route("", DesignationsApp())
    notifications_path = route("", NotificationsApp())
    printing_path = route("", PrintingApp())
    security_log_path = route("", SecurityLogApp())

    def menu_items(self):
        return [app for app in super().menu_items() if getattr(app, "in_site_menu", True)]


site = KexieSite(
    title=_("科协试点申报审批"),
    viewsets=[
        ApprovalsApp(),
        TasksApp(flow_viewsets=[FlowViewset(ApplicationFlow, icon="assignment")]),
    ],
)
