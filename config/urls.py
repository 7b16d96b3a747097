"""Root URLs."""
from django.contrib import admin
from django.urls import include, path
from django.views.generic import RedirectView

from orgs.views import healthz

from .site import site

urlpatterns = [
    path("healthz", healthz, name="healthz"),
    path("i18n/", include("django.conf.urls.i18n")),
    path("admin/", admin.site.urls),
    path("accounts/2fa/", include("security.urls")),
    path("accounts/", include("django.contrib.auth.urls")),
    path("api/v1/", include("config.api_urls")),  # docs/api.md: versions and their deprecation
    path("", RedirectView.as_view(url="/approvals/", permanent=False)),
    path("", site.urls),  # with the pages of designations, printing and notifications (config/site.py)
]
handler403 = "approvals.views.permission_denied"
