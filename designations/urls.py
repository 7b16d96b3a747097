"""URLs of designations: the public registry."""
from django.urls import path

from . import views

app_name = "designations"

urlpatterns = [
    path("registry/", views.registry, name="registry"),
    path("designations/reports/", views.ReportListView.as_view(), name="reports"),
    path("designations/reports/<int:pk>/", views.ReportDetailView.as_view(), name="report"),
    path("designations/reports/<int:pk>/<str:action>/", views.ReportActionView.as_view(), name="report_action"),
]
