"""The public registry of designations in force (/registry/): no login, public fields only
(designations.selectors.REGISTRY_FIELDS), searchable by program, province, city, county and name."""
from dataclasses import dataclass

from django.contrib import messages
from django.contrib.auth.mixins import LoginRequiredMixin
from django.core.paginator import Paginator
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views import View
from django.views.decorators.http import require_safe

from approvals import access
from approvals import errors as E
from approvals.services import Actor
from approvals.stages import CASE_BUTTONS, REPORT_ACTIONS, ReportAction, RevocationStatus
from orgs.access import principal_of
from orgs.models import Level, Organization
from security.exports import export_purpose, export_record

from . import consequences as C
from . import dashboards as D
from . import documents as DOC
from . import forms as F
from . import renewals as RN
from . import reports as R
from .models import AnnualReport, Rectification, Renewal, RevocationProposal
from .selectors import (
    REGISTRY_PAGE_SIZE,
    registry_chart,
    registry_choices,
    registry_designations,
    registry_filter,
    registry_rows,
)


@require_safe
def registry(request):
    search = registry_filter(request.GET)
    page = Paginator(registry_designations(search), REGISTRY_PAGE_SIZE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    return render(request, "designations/registry.html", {
        "search": search, "page": page, "rows": registry_rows(page.object_list), "query": query.urlencode(),
        "chart": registry_chart(search),
        **registry_choices(search),
    })


# ---------------------------------------------------------------------- annual reports (logged in)

RA = ReportAction
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


# A refused form comes back with its errors as 422: the pages' Turbo renders a form's answer only when it is a
# redirect or an error status (a 200 would leave the old page, the refusal unseen).
REFUSED = 422


def _report_page(request, report, *, data=None, refusal=None, failed: str = ""):
    """The report's page: its content, status and result, and the form of each action this person may do
    now; after a refusal (`failed`: the form it came from, "fill" or "review"), that form as it was posted,
    with the refusal on it."""
    principal = principal_of(request.user)
    fields = R.report_fields(report.designation.program_id)
    rows = [(field["label"], report.form_data.get(field["name"], "")) for field in fields]
    allowed = access.report_actions_allowed(principal, report)
    fill = (F.FollowUpForm(fields, data if failed == "fill" else None, initial=report.form_data)
            if RA.SUBMIT in allowed else None)
    review = F.report_review_form(allowed, data if failed == "review" else None)
    form = fill if failed == "fill" else review if failed == "review" else None
    if refusal is not None:
        if form is not None:
            form.refused(refusal)
        else:  # the action is no longer this person's to do: the page says why
            messages.error(request, refusal.message)
    return render(request, "designations/report_detail.html", {
        "report": report, "designation": report.designation, "rows": rows, "allowed": allowed,
        "fill": fill, "review": review,
    }, status=REFUSED if refusal is not None else 200)


class ReportDetailView(LoginRequiredMixin, View):
    def get(self, request, pk: int):
        return _report_page(request, _report_in_scope(request, pk))


class ReportActionView(LoginRequiredMixin, View):
    """POST one action on a report; a refusal comes back on the report's page, on the form it was made with
    (or 404)."""

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
            failed = "fill" if action in ("save", "report_submit") else "review" if action in _WEB_ACTIONS else ""
            return _report_page(request, report, data=data, refusal=error, failed=failed)
        messages.success(request, _("已保存") if action == "save" else _("已办理"))
        return redirect("designations:report", pk=report.pk)


def _form_values(report, data) -> dict:
    return {field["name"]: data.get(field["name"], "") for field in R.report_fields(report.designation.program_id)
            if field["name"] in data}


# ------------------------------------------------- rectifications, revocation proposals and renewals
#
# One page per item and one POST route per button; the buttons and the inputs they take are declared in
# approvals.stages.REPORT_ACTIONS (CASE_BUTTONS), every decision is the access layer's
# (approvals.access.report_action_check in the service, report_actions_allowed for the buttons shown).


@dataclass(frozen=True)
class CaseKind:
    model: type
    id_kwarg: str
    heading: str
    not_found: str


CASE_KINDS = {
    "rectifications": CaseKind(Rectification, "rectification_id", gettext_lazy("整改"), E.MSG_CASE_NOT_FOUND),
    "revocations": CaseKind(RevocationProposal, "proposal_id", gettext_lazy("摘牌建议"), E.MSG_CASE_NOT_FOUND),
    "renewals": CaseKind(Renewal, "renewal_id", gettext_lazy("续期申请"), E.MSG_RENEWAL_NOT_FOUND),
}
# The service of each action (its keyword arguments: the kind's id, the button's params, the inputs).
CASE_SERVICES = {
    RA.RECTIFY_SUBMIT: C.rectification_submit, RA.RECTIFY_CITY_ACCEPT: C.rectification_city_accept,
    RA.RECTIFY_CITY_RETURN: C.rectification_city_return, RA.RECTIFY_DECIDE: C.rectification_decide,
    RA.DECIDE_REVOCATION: C.revocation_decide,
    RA.RENEW_SUBMIT: RN.renewal_submit, RA.RENEW_SIGN_OFF: RN.renewal_sign_off,
    RA.RENEW_LEADER_RETURN: RN.renewal_leader_return, RA.RENEW_CITY_ACCEPT: RN.renewal_city_accept,
    RA.RENEW_CITY_RETURN: RN.renewal_city_return, RA.RENEW_DECIDE: RN.renewal_decide,
}
CASE_LIST_SIZE = 50


def _case_in_scope(request, kind: str, pk: int):
    spec = CASE_KINDS[kind]
    item = (spec.model.objects.select_related("designation__program", "designation__applicant")
            .filter(pk=pk).first())
    if item is None or not access.may_see_designation(principal_of(request.user), item.designation):
        raise Http404(spec.not_found)
    return item


def _case_fields(kind: str, item) -> list[dict]:
    return RN.renewal_fields(item.designation.program_id) if kind == "renewals" else []


class CaseListView(LoginRequiredMixin, View):
    """The rectifications, revocation proposals and renewals this person sees, newest first."""

    def get(self, request):
        scope = access.designation_scope_q(principal_of(request.user), "designation__")
        lists = {kind: list(spec.model.objects.filter(scope).select_related("designation__program")
                            .order_by("-pk")[:CASE_LIST_SIZE]) for kind, spec in CASE_KINDS.items()}
        return render(request, "designations/case_list.html", {"lists": lists})


def _case_page(request, kind: str, item, *, data=None, refusal=None):
    """The item's page with the form of the buttons this person may press now; after a refusal, the form as
    it was posted, with the refusal on it (a reason's error under the comment)."""
    allowed = access.report_actions_allowed(principal_of(request.user), item)
    buttons = [button for action in allowed for button in REPORT_ACTIONS[action].buttons]
    inputs = {name for action in allowed for name in REPORT_ACTIONS[action].inputs}
    fields = _case_fields(kind, item)
    values = item.form_data if kind == "renewals" else {}
    can_fill = "data" in inputs
    form = F.case_form(fields, inputs, can_fill=can_fill, data=data,
                       initial={**values, "text": getattr(item, "report_text", "")}) if buttons else None
    if refusal is not None:
        if form is not None:
            form.refused(refusal, rename={"reason": "comment"})
        else:
            messages.error(request, refusal.message)
    return render(request, "designations/case_detail.html", {
        "kind": kind, "heading": CASE_KINDS[kind].heading, "item": item, "designation": item.designation,
        "buttons": buttons, "form": form, "can_fill": can_fill,
        "rows": [(field, values.get(field["name"], "")) for field in fields],
        "grades": RN.grades_text(item.grades) if kind == "renewals" and item.grades else "",
    }, status=REFUSED if refusal is not None else 200)


class CaseDetailView(LoginRequiredMixin, View):
    def get(self, request, kind: str, pk: int):
        return _case_page(request, kind, _case_in_scope(request, kind, pk))


class CaseActionView(LoginRequiredMixin, View):
    """POST one button; a refusal comes back on the item's page, on its form (or 404)."""

    def post(self, request, kind: str, pk: int, button: str):
        item = _case_in_scope(request, kind, pk)
        actor = Actor(user=request.user, ip=request.META.get("REMOTE_ADDR"))
        data = request.POST
        try:
            if kind == "renewals" and button == "renewal_save":
                RN.renewal_save(actor=actor, renewal_id=item.pk, data=_renewal_values(item, data))
            else:
                spec, chosen = CASE_BUTTONS.get(button, (None, None))
                if spec is None or not _same_kind(kind, spec):
                    raise E.InvalidInput(E.MSG_INVALID_ACTION)
                kwargs = {CASE_KINDS[kind].id_kwarg: item.pk, **chosen.params}
                for name in spec.inputs:
                    kwargs[name] = _renewal_values(item, data) if name == "data" else data.get(
                        "text" if name == "text" else "comment", "")
                CASE_SERVICES[spec.action](actor=actor, **kwargs)
        except E.NotFound:
            raise Http404(CASE_KINDS[kind].not_found) from None
        except E.ApprovalError as error:
            return _case_page(request, kind, item, data=data, refusal=error)
        messages.success(request, _("已保存") if button == "renewal_save" else _("已办理"))
        return redirect("designations:case", kind=kind, pk=item.pk)


# Which kind's table rows an action belongs to (its service takes that kind's id).
_KIND_ACTIONS = {
    "rectifications": {RA.RECTIFY_SUBMIT, RA.RECTIFY_CITY_ACCEPT, RA.RECTIFY_CITY_RETURN, RA.RECTIFY_DECIDE},
    "revocations": {RA.DECIDE_REVOCATION},
    "renewals": {RA.RENEW_SUBMIT, RA.RENEW_SIGN_OFF, RA.RENEW_LEADER_RETURN, RA.RENEW_CITY_ACCEPT,
                 RA.RENEW_CITY_RETURN, RA.RENEW_DECIDE},
}


def _same_kind(kind: str, spec) -> bool:
    return spec.action in _KIND_ACTIONS[kind]


def _renewal_values(item, data) -> dict:
    return {field["name"]: data.get(field["name"], "") for field in RN.renewal_fields(item.designation.program_id)
            if field["name"] in data}


# ------------------------------------------------------------------------------------- dashboards


def _year(value) -> int | None:
    try:
        year = int(value)
    except (TypeError, ValueError):
        return None
    return year if 2000 <= year <= 2100 else None


class DashboardView(LoginRequiredMixin, View):
    """Reports due and overdue per city, grades, sites per program and city, renewals due in 90 days: within
    what this person sees (approvals.access.designation_scope_q); ?year= chooses the reporting year."""

    def get(self, request):
        scope = access.designation_scope_q(principal_of(request.user))  # reports and designations alike
        year = _year(request.GET.get("year")) or timezone.localdate().year
        tables = D.dashboard_tables(scope, year=year)
        principal = principal_of(request.user)
        provinces = [province for province in Organization.objects.filter(level=Level.PROVINCE).order_by("path")
                     if access.may_see_evaluation_notice(principal, province)]
        return render(request, "designations/dashboard.html", {"tables": tables, "year": year,
                                                                "provinces": provinces})


class DashboardExportView(LoginRequiredMixin, View):
    """One dashboard as an Excel workbook."""

    def get(self, request, name: str):
        if name not in D.DASHBOARDS:
            raise Http404(_("没有这个统计表"))
        scope = access.designation_scope_q(principal_of(request.user))  # reports and designations alike
        year = _year(request.GET.get("year")) or timezone.localdate().year
        purpose, asking = export_purpose(request)
        if asking is not None:
            return asking
        (table,) = D.dashboard_tables(scope, year=year, only=name)
        response = HttpResponse(D.table_workbook(table), content_type=XLSX)
        response["Content-Disposition"] = f'attachment; filename="{name}-{year}.xlsx"'
        export_record(request, f"{name}-{year}.xlsx", purpose=purpose, document="dashboard_xlsx", dashboard=name,
                      year=year)
        return response


XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


# -------------------------------------------------------------------------------------- documents


def _pdf(content: bytes, filename: str) -> HttpResponse:
    response = HttpResponse(content, content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="{filename}"'
    return response


class RectificationNoticeView(LoginRequiredMixin, View):
    """整改通知书: whoever sees the designation."""

    def get(self, request, pk: int):
        rectification = _case_in_scope(request, "rectifications", pk)
        return _pdf(DOC.rectification_notice_pdf(rectification), f"rectification-{rectification.pk}.pdf")


class RevocationDecisionView(LoginRequiredMixin, View):
    """摘牌决定 of a proposal decided for revocation: whoever sees the designation."""

    def get(self, request, pk: int):
        proposal = _case_in_scope(request, "revocations", pk)
        if proposal.status != RevocationStatus.REVOKED:
            raise Http404(_("尚未作出摘牌决定"))
        return _pdf(DOC.revocation_decision_pdf(proposal), f"revocation-{proposal.pk}.pdf")


class EvaluationNoticeView(LoginRequiredMixin, View):
    """评定结果通知 of a province's year (approvals.access.may_see_evaluation_notice)."""

    def get(self, request, province_id: int, year: int):
        province = Organization.objects.filter(pk=province_id, level=Level.PROVINCE).first()
        if province is None or not _year(year) or not access.may_see_evaluation_notice(
                principal_of(request.user), province):
            raise Http404(_("没有这份通知"))
        return _pdf(DOC.evaluation_notice_pdf(province, year), f"evaluation-{year}.pdf")
