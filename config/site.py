"""The viewflow Material site: the approvals pages and the workflow inbox/queue/archive, scoped by the
organization pools (viewflow's own queue would look for guardian permissions instead)."""
from django.urls import path
from django.utils.translation import gettext_lazy as _
from viewflow.urls import Application, Site
from viewflow.utils import viewprop
from viewflow.workflow.flow import FlowViewset, WorkflowAppViewset
from viewflow.workflow.flow.views.list import (
    WorkflowArchiveListView,
    WorkflowInboxListView,
    WorkflowQueueListView,
)

from approvals import report_views, views
from workflows import selectors
from workflows.flows import ApplicationFlow


class InboxView(WorkflowInboxListView):
    title = _("待办")

    @viewprop
    def queryset(self):
        return selectors.task_inbox(user=self.request.user)


class QueueView(WorkflowQueueListView):
    title = _("可领取")

    @viewprop
    def queryset(self):
        return selectors.task_queue(user=self.request.user)


class ArchiveView(WorkflowArchiveListView):
    title = _("已办")

    @viewprop
    def queryset(self):
        return selectors.task_archive(user=self.request.user)


class TasksApp(WorkflowAppViewset):
    title = _("任务")
    inbox_view_class = InboxView
    queue_view_class = QueueView
    archive_view_class = ArchiveView


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


site = Site(
    title=_("科协试点申报审批"),
    viewsets=[
        ApprovalsApp(),
        TasksApp(flow_viewsets=[FlowViewset(ApplicationFlow, icon="assignment")]),
    ],
)
