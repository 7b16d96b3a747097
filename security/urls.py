"""The second-factor pages, under /accounts/2fa/."""
from django.urls import path

from . import views

app_name = "security"

urlpatterns = [
    path("verify/", views.VerifyView.as_view(), name="2fa-verify"),
    path("setup/", views.SetupView.as_view(), name="2fa-setup"),
    path("recovery/", views.RecoveryCodesView.as_view(), name="2fa-recovery"),
]
