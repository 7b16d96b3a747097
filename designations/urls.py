"""URLs of designations: the public registry."""
from django.urls import path

from . import views

app_name = "designations"

urlpatterns = [
    path("registry/", views.registry, name="registry"),
    path("designations/reports/", views.ReportListView.as_view(), name="reports"),
    path("designations/reports/<int:pk>/", views.ReportDetailView.as_view(), name="report"),
    path("designations/reports/<int:pk>/<str:action>/", views.ReportActionView.as_view(), name="report_action"),
    path("designations/dashboard/", views.DashboardView.as_view(), name="dashboard"),
    path("designations/dashboard/<str:name>.xlsx", views.DashboardExportView.as_view(), name="dashboard_export"),
    path("designations/rectifications/<int:pk>/notice.pdf", views.RectificationNoticeView.as_view(),
         name="rectification_notice"),
    path("designations/revocations/<int:pk>/decision.pdf", views.RevocationDecisionView.as_view(),
         name="revocation_decision"),
    path("designations/evaluation/<int:province_id>/<int:year>.pdf", views.EvaluationNoticeView.as_view(),
         name="evaluation_notice"),
    path("designations/cases/", views.CaseListView.as_view(), name="cases"),
    # Rectifications, revocation proposals and renewals: one page each, one POST route per button.
    *[route for kind in views.CASE_KINDS for route in (
        path(f"designations/{kind}/<int:pk>/", views.CaseDetailView.as_view(), {"kind": kind}, name="case"),
        path(f"designations/{kind}/<int:pk>/<str:button>/", views.CaseActionView.as_view(), {"kind": kind},
             name="case_action"),
    )],
]
