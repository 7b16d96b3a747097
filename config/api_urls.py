"""URLs of the REST API, mounted at /api/v1/ (docs/api.md: versions and deprecation): the applications router, the OpenAPI schema its Swagger UI and ReDoc (served locally),
and token issue (with the second factor and a scope: security.api)."""
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView, SpectacularSwaggerView
from rest_framework.routers import DefaultRouter

from approvals.api import ApplicationViewSet
from approvals.api_resources import (
    BatchViewSet,
    NotificationViewSet,
    OrganizationViewSet,
    ProgramViewSet,
    TaskViewSet,
)
from security.api import SecurityEventViewSet, TwoFactorTokenView

app_name = "api"

router = DefaultRouter()
# No ".json" twins of every route: the API answers JSON (and files), and a second spelling of each URL
# is one more door for every rule to cover.
router.include_format_suffixes = False
router.register("applications", ApplicationViewSet, basename="application")
router.register("programs", ProgramViewSet, basename="program")
router.register("batches", BatchViewSet, basename="batch")
router.register("organizations", OrganizationViewSet, basename="organization")
router.register("tasks", TaskViewSet, basename="task")
router.register("notifications", NotificationViewSet, basename="notification")
router.register("security-events", SecurityEventViewSet, basename="security-event")

urlpatterns = [
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
    path("docs/", SpectacularSwaggerView.as_view(url_name="api:schema"), name="docs"),
    path("redoc/", SpectacularRedocView.as_view(url_name="api:schema"), name="redoc"),
    path("auth/token/", TwoFactorTokenView.as_view(), name="token"),
    path("", include(router.urls)),
]
