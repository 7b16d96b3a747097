"""URLs of the workflows app (mounted at the site root by config/urls.py)."""
from django.urls import path

from . import notification_views as views

app_name = "workflows"

urlpatterns = [
    path("notifications/", views.NotificationListView.as_view(), name="notifications"),
    path("notifications/unread.json", views.UnreadCountView.as_view(), name="notifications_unread"),
    path("notifications/<int:pk>/read/", views.NotificationReadView.as_view(), name="notification_read"),
    path("notifications/read-all/", views.NotificationReadAllView.as_view(), name="notifications_read_all"),
    path("notifications/preferences/", views.NotificationPreferencesView.as_view(),
         name="notification_preferences"),
]
