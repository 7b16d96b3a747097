"""The public registry of designations in force (/registry/): no login, public fields only
(designations.selectors.REGISTRY_FIELDS), searchable by program, province, city, county and name."""
from django.contrib import messages
from django.contrib.auth.mixins import LoginRequiredMixin
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views import View
from django.views.decorators.http import require_safe

from approvals import access
from approvals import errors as E
from approvals.services import Actor
from approvals.stages import Grade
from orgs.access import principal_of

from . import reports as R
from .models import AnnualReport
from .selectors import REGISTRY_PAGE_SIZE, registry_choices, registry_designations, registry_filter


@require_safe
def registry(request):
    search = registry_filter(request.GET)
    page = Paginator(registry_designations(search), REGISTRY_PAGE_SIZE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    return render(request, "designations/registry.html", {
        "search": search, "page": page, "rows": list(page.object_list), "query": query.urlencode(),
        **registry_choices(search),
    })


# ---------------------------------------------------------------------- annual reports (logged in)

REPORT_LIST_SIZE = 50
# The web form's action names → the report services (approvals.stages.REPORT_ACTIONS names them all).
_WEB_ACTIONS = ("save", "report_submit", "report_sign_off", "report_leader_return", "report_city_accept",
                "report_city_return", "report_grade")


def _report_in_scope(request, pk: int) -> AnnualReport:
    report = (AnnualReport.objects.select_related("designation__program", "designation__applicant", "window")
              .filter(pk=pk).first())
    if report is None or not access.may_see_designation(principal_of(request.user), report.designation):
        raise Http404(E.MSG_REPORT_NOT_FOUND)
    return report


class ReportListView(LoginRequiredMixin, View):
    """The annual reports this person sees (their organization's and those below it), newest year first."""

    def get(self, request):
        principal = principal_of(request.user)
        reports = (AnnualReport.objects.filter(access.designation_scope_q(principal, "designation__"))
                   .select_related("designation__program", "window").order_by("-year", "designation_id"))
        page = Paginator(reports, REPORT_LIST_SIZE).get_page(request.GET.get("page"))
        return render(request, "designations/report_list.html", {"page": page, "reports": list(page.object_list)})


class ReportDetailView(LoginRequiredMixin, View):
    """One report: its content, status and result, and the form of each action this person may do now."""

    def get(self, request, pk: int):
        report = _report_in_scope(request, pk)
        principal = principal_of(request.user)
        fields = R.report_fields(report.designation.program_id)
        rows = [(field["label"], report.form_data.get(field["name"], "")) for field in fields]
        allowed = access.report_actions_allowed(principal, report)
        return render(request, "designations/report_detail.html", {
            "report": report, "designation": report.designation, "fields": fields, "rows": rows,
            "allowed": allowed, "grades": Grade.choices,
        })


class ReportActionView(LoginRequiredMixin, View):
    """POST one action on a report; refusals come back as a message on the report's page (or 404)."""

    def post(self, request, pk: int, action: str):
        report = _report_in_scope(request, pk)
        actor = Actor(user=request.user, ip=request.META.get("REMOTE_ADDR"))
        data = request.POST
        try:
            if action not in _WEB_ACTIONS:
                raise E.InvalidInput(E.MSG_INVALID_ACTION)
            if action == "save":
                R.report_save(actor=actor, report_id=report.pk, data=_form_values(report, data))
            elif action == "report_submit":
                R.report_submit(actor=actor, report_id=report.pk, data=_form_values(report, data))
            elif action == "report_sign_off":
                R.report_sign_off(actor=actor, report_id=report.pk)
            elif action == "report_leader_return":
                R.report_leader_return(actor=actor, report_id=report.pk, reason=data.get("reason", ""))
            elif action == "report_city_accept":
                R.report_city_accept(actor=actor, report_id=report.pk, comment=data.get("reason", ""))
            elif action == "report_city_return":
                R.report_city_return(actor=actor, report_id=report.pk, reason=data.get("reason", ""))
            else:
                R.report_grade(actor=actor, report_id=report.pk, grade=data.get("grade", ""),
                               comment=data.get("reason", ""), expert_score=data.get("expert_score", ""))
        except E.NotFound:
            raise Http404(E.MSG_REPORT_NOT_FOUND) from None
        except E.ApprovalError as error:
            details = "；".join(str(v) for v in error.errors.values()) if error.errors else ""
            messages.error(request, error.message + (f"：{details}" if details else ""))
            return redirect("designations:report", pk=report.pk)
        messages.success(request, _("已保存") if action == "save" else _("已办理"))
        return redirect("designations:report", pk=report.pk)


def _form_values(report, data) -> dict:
    return {field["name"]: data.get(field["name"], "") for field in R.report_fields(report.designation.program_id)
            if field["name"] in data}
