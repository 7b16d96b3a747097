"""Notification pages: the list with mark-as-read, the unread count as JSON, and e-mail preferences."""
from django.contrib import messages
from django.contrib.auth.mixins import LoginRequiredMixin
from django.core.paginator import Paginator
from django.http import HttpResponseRedirect, JsonResponse
from django.shortcuts import render
from django.template.loader import select_template
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views import View

from . import notifications as notes
from .models import NotificationKind

PAGE_SIZE = 30


def _base_template():
    # The project's own page frame when there is one; a plain frame of this app otherwise.
    return select_template(["base.html", "workflows/base.html"])


def _next_url(request, default: str) -> str:
    target = request.POST.get("next") or ""
    if target and url_has_allowed_host_and_scheme(target, {request.get_host()}, require_https=request.is_secure()):
        return target
    return default


class NotificationListView(LoginRequiredMixin, View):
    def get(self, request):
        unread_only = request.GET.get("unread") == "1"
        page = Paginator(notes.notification_list(user=request.user, unread_only=unread_only), PAGE_SIZE).get_page(
            request.GET.get("page")
        )
        return render(request, "workflows/notifications/list.html", {
            "base_template": _base_template(),
            "page": page,
            "unread_only": unread_only,
            "unread_count": notes.notification_unread_count(user=request.user),
        })


class NotificationReadView(LoginRequiredMixin, View):
    """POST: mark one notification read, then go to `next` (for example the application it is about)."""

    def post(self, request, pk):
        notes.notification_mark_read(user=request.user, notification_id=pk)
        return HttpResponseRedirect(_next_url(request, reverse("workflows:notifications")))


class NotificationReadAllView(LoginRequiredMixin, View):
    def post(self, request):
        count = notes.notification_mark_all_read(user=request.user)
        messages.success(request, _("已将 %(count)d 条通知标记为已读") % {"count": count})
        return HttpResponseRedirect(_next_url(request, reverse("workflows:notifications")))


class UnreadCountView(View):
    """{"unread": n} for the page header's badge; 401 when not signed in."""

    def get(self, request):
        if not request.user.is_authenticated:
            return JsonResponse({"error": "not_authenticated"}, status=401)
        response = JsonResponse({"unread": notes.notification_unread_count(user=request.user)})
        response["Cache-Control"] = "no-store"
        return response


class NotificationPreferencesView(LoginRequiredMixin, View):
    def _render(self, request):
        chosen = notes.notification_preferences(user=request.user)
        kinds = [(kind, label, chosen[kind]) for kind, label in NotificationKind.choices]
        return render(request, "workflows/notifications/preferences.html",
                      {"base_template": _base_template(), "kinds": kinds})

    def get(self, request):
        return self._render(request)

    def post(self, request):
        for kind in NotificationKind.values:
            notes.notification_preference_set(
                user=request.user, kind=kind, email_enabled=request.POST.get(f"email_{kind}") == "on"
            )
        messages.success(request, _("通知设置已保存"))
        return HttpResponseRedirect(reverse("workflows:notification_preferences"))
