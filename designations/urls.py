"""URLs of designations: the public registry."""
from django.urls import path

from . import views

app_name = "designations"

urlpatterns = [
    path("registry/", views.registry, name="registry"),
]
