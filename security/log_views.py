"""The audit administrator's security log (docs/security.md): search, page, Excel export and verification
of the chain. Who reads what is the access layer's (orgs.access.may_read_security_log and
security_log_scope_q); the filters are security.selectors.security_events."""
import io
import json

from django import forms
from django.contrib.auth.mixins import LoginRequiredMixin
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views import View

from approvals.xlsx import append_row
from orgs.access import may_read_security_log, principal_of

from .exports import export_purpose, export_record
from .models import Kind
from .selectors import security_events
from .tasks import security_log_check

PAGE_SIZE = 50
EXPORT_MAX_ROWS = 20000  # MSG_TOO_MANY says it
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
FILTERS = ("since", "until", "user", "kind", "ip", "text")


class SecurityLogFilter(forms.Form):
    since = forms.DateField(label=gettext_lazy("起始日期"), required=False,
                            widget=forms.DateInput(attrs={"type": "date"}))
    until = forms.DateField(label=gettext_lazy("截止日期"), required=False,
                            widget=forms.DateInput(attrs={"type": "date"}))
    user = forms.CharField(label=gettext_lazy("用户名"), max_length=150, required=False)
    kind = forms.ChoiceField(label=gettext_lazy("类型"), required=False,
                             choices=[("", gettext_lazy("全部")), *Kind.choices])
    ip = forms.GenericIPAddressField(label=gettext_lazy("来源地址"), required=False,
                                     error_messages={"invalid": gettext_lazy("请输入有效的 IPv4 或 IPv6 地址")})
    text = forms.CharField(label=gettext_lazy("对象包含"), max_length=100, required=False)

    def clean(self):
        data = super().clean()
        if data.get("since") and data.get("until") and data["since"] > data["until"]:
            raise forms.ValidationError(_("起始日期不能晚于截止日期"))
        return data

    def selection(self) -> dict:
        """The cleaned filters as security_events takes them."""
        data = self.cleaned_data
        return {"since": data.get("since"), "until": data.get("until"), "username": data.get("user") or "",
                "kind": data.get("kind") or "", "ip": data.get("ip") or "", "text": data.get("text") or ""}


def _filters(request) -> SecurityLogFilter:
    return SecurityLogFilter({name: request.GET.get(name, "") for name in FILTERS})


def _kept(request) -> str:
    """The filters of the request as a query string (for the pages' links and the export)."""
    return urlencode([(name, request.GET[name]) for name in FILTERS if request.GET.get(name)])


class _AuditAdministrators(LoginRequiredMixin):
    def dispatch(self, request, *args, **kwargs):
        if request.user.is_authenticated and not may_read_security_log(principal_of(request.user)):
            raise PermissionDenied
        return super().dispatch(request, *args, **kwargs)


class SecurityLogView(_AuditAdministrators, View):
    """Newest first, 50 a page; ?verify=1 also walks the whole chain and compares it with the latest
    signed digest (as verify_security_log does)."""

    def get(self, request):
        form = _filters(request)
        status, page = 200, None
        if form.is_valid():
            events = security_events(principal_of(request.user), **form.selection())
            page = Paginator(events, PAGE_SIZE).get_page(request.GET.get("page"))
        else:
            status = 400
        verification = security_log_check() if request.GET.get("verify") else None
        return render(request, "security/security_log.html", {
            "form": form, "page": page, "events": page.object_list if page else [], "kept": _kept(request),
            "verification": verification,
        }, status=status)


class SecurityLogExcelView(_AuditAdministrators, View):
    """The filtered events as a workbook, with the export's purpose (security.exports); the export is itself
    a security event. At most EXPORT_MAX_ROWS rows: a larger selection is refused with the count."""

    def get(self, request):
        form = _filters(request)
        if not form.is_valid():
            return render(request, "security/security_log.html", {
                "form": form, "page": None, "events": [], "kept": _kept(request), "verification": None,
            }, status=400)
        purpose, asking = export_purpose(request)
        if asking is not None:
            return asking
        selection = form.selection()
        events = security_events(principal_of(request.user), **selection)
        rows = list(events[:EXPORT_MAX_ROWS + 1])
        if len(rows) > EXPORT_MAX_ROWS:
            form.add_error(None, _("符合条件的安全日志超过 %(max)s 条，一次导出不了：请缩小时间范围或增加条件") % {
                "max": EXPORT_MAX_ROWS})
            return render(request, "security/security_log.html", {
                "form": form, "page": None, "events": [], "kept": _kept(request), "verification": None,
            }, status=400)
        filename = f"security-log-{timezone.localdate():%Y%m%d}.xlsx"
        content = security_log_workbook(rows)
        export_record(request, filename, purpose=purpose, document="security_log_xlsx", rows=len(rows),
                      filters={k: str(v) for k, v in selection.items() if v})
        response = HttpResponse(content, content_type=XLSX)
        response["Content-Disposition"] = f'attachment; filename="{filename}"'
        return response


def security_log_workbook(events) -> bytes:
    from openpyxl import Workbook

    workbook = Workbook()
    sheet = workbook.active
    sheet.title = _("安全日志")
    append_row(sheet, [_("序号"), _("时间"), _("类型"), _("用户名"), _("来源地址"), _("对象"), _("详情"),
                       _("哈希")])
    for event in events:
        append_row(sheet, [event.seq, event.created_at, event.get_kind_display(), event.username,
                           event.client_ip or "", event.target,
                           json.dumps(event.detail, ensure_ascii=False, sort_keys=True) if event.detail else "",
                           event.hash])
    for column, width in zip("ABCDEFGH", (8, 18, 16, 16, 16, 32, 48, 20), strict=True):
        sheet.column_dimensions[column].width = width
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()
