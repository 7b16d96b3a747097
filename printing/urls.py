"""URLs of printing: public verification and notice pages, scoped document downloads, bulk issue."""
from django.urls import path

from . import views

app_name = "printing"

urlpatterns = [
    path("verify/", views.verify, name="verify_lookup"),
    path("verify/<str:token>/", views.verify, name="verify"),
    path("notice/<int:batch_id>/", views.notice_page, name="notice"),
    path("certificates/<int:pk>/pdf", views.CertificatePdfView.as_view(), name="certificate_pdf"),
    path("print/applications/<int:pk>/form.pdf", views.ApplicationFormPdfView.as_view(), name="application_form"),
    path("print/batches/<int:batch_id>/recommendation.pdf", views.RecommendationLetterPdfView.as_view(),
         name="recommendation_letter"),
    path("print/batches/<int:batch_id>/summary.pdf", views.SummaryPdfView.as_view(), name="summary_pdf"),
    path("print/batches/<int:batch_id>/summary.xlsx", views.SummaryXlsxView.as_view(), name="summary_xlsx"),
    path("print/batches/<int:batch_id>/notice.pdf", views.NoticePdfView.as_view(), name="notice_pdf"),
    path("print/batches/<int:batch_id>/issue-all", views.BatchIssueAllView.as_view(), name="issue_all"),
    path("print/batches/<int:batch_id>/issue-runs/<int:run_id>/", views.IssueRunView.as_view(), name="issue_run"),
    path("print/batches/<int:batch_id>/issue-runs/<int:run_id>/progress.json", views.IssueRunProgressView.as_view(),
         name="issue_run_progress"),
]
