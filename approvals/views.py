"""Web pages of applications: list, dashboard, form, detail with timeline, diff and action buttons."""
from django.contrib import messages
from django.contrib.auth.mixins import LoginRequiredMixin
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db.models import Count
from django.http import FileResponse, Http404, HttpResponseRedirect, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views import View

from orgs.access import principal_of
from orgs.models import Level, Membership, Organization, Role
from security import masking
from security.models import Kind
from security.services import security_record
from workflows.selectors import task_counts, task_inbox, task_queue

from . import access, selectors
from . import services as svc
from .attachments import attachment_path
from .errors import ApprovalError, NotAllowed, StaleVersion, WrongState
from .forms import ApplicationForm, AttachmentForm, reconciled_after_stale
from .models import RECOMMENDED_STATUSES, Attachment, Batch, Decision, Status
from .params import query_id
from .stages import BUTTONS, Action


def _actor(request) -> svc.Actor:
    return svc.Actor(user=request.user, ip=request.META.get("REMOTE_ADDR"))


def _url(name, *args):
    return reverse(f"approvals:{name}", args=args)


class DashboardView(LoginRequiredMixin, View):
    def get(self, request):
        memberships = Membership.objects.current().filter(user=request.user).select_related("organization")
        apps = selectors.application_list(user=request.user)
        by_status = dict(apps.order_by().values_list("status").annotate(n=Count("id")))
        city_orgs = [m.organization for m in memberships if m.role == Role.REVIEWER and m.organization.level == Level.CITY]
        clerk_orgs = [m.organization for m in memberships if m.role == Role.CLERK]
        city_provinces = {o.parent_id for o in city_orgs}
        clerk_provinces = {o.ancestor_ids[1] for o in clerk_orgs if len(o.ancestor_ids) > 1}
        # The batches of both sections in one query, split here.
        both = (list(Batch.objects.filter(province_id__in=city_provinces | clerk_provinces).select_related("program"))
                if city_orgs or clerk_orgs else [])
        city_batches = [b for b in both if b.province_id in city_provinces]
        batches = [b for b in both if b.province_id in clerk_provinces] if clerk_orgs else []
        inbox, queue = task_inbox(user=request.user), task_queue(user=request.user)
        waiting = [
            (task, task.process.application)
            for task in (inbox | queue).select_related("process__application__applicant", "deadline")
            .order_by("created")[:20]
        ]
        counts = task_counts(user=request.user)
        return render(request, "approvals/dashboard.html", {
            "memberships": memberships,
            "waiting": waiting,
            "only_expert": bool(memberships) and all(m.role == Role.EXPERT for m in memberships),
            "inbox_count": counts["inbox"],
            "queue_count": counts["queue"],
            "archive_count": counts["archive"],
            "status_counts": [(s, Status(s).label, by_status[s]) for s in Status.values if by_status.get(s)],
            "recent": selectors.IdsFirst(apps)[:10],
            "batches": batches,
            "clerk_orgs": clerk_orgs,
            "city_batches": city_batches,
        })


class ApplicationListView(LoginRequiredMixin, View):
    def get(self, request):
        apps = selectors.application_list(user=request.user)
        status = request.GET.get("status")
        if status in Status.values:
            apps = apps.filter(status=status)
        query = request.GET.get("q", "").strip()
        if query:
            apps = apps.filter(access.application_search_q(principal_of(request.user), query))
        # 50 rows a page, without the form data the table does not show.
        page = Paginator(selectors.IdsFirst(apps.defer("form_data")), 50).get_page(request.GET.get("page"))
        return render(request, "approvals/list.html", {
            "applications": page, "page": page, "statuses": Status.choices, "status": status, "q": query,
        })


class ApplicationCreateView(LoginRequiredMixin, View):
    def _context(self, request):
        batch_id, org_id = query_id(request.GET.get("batch")), query_id(request.GET.get("org"))
        if batch_id is None or org_id is None:
            raise Http404(_("请从工作台选择申报批次"))
        principal = principal_of(request.user)
        batch = get_object_or_404(Batch.objects.select_related("program", "province"), pk=batch_id)
        applicant = get_object_or_404(Organization, pk=org_id)
        if not (access.may_see_batch(principal, batch) and access.may_open_batch_form(principal, applicant)):
            raise Http404(_("请从工作台选择申报批次"))
        return batch, applicant

    def get(self, request):
        batch, applicant = self._context(request)
        form = ApplicationForm(program=batch.program, applicant=applicant)
        return render(request, "approvals/form.html", {"form": form, "batch": batch, "applicant": applicant})

    def post(self, request):
        batch, applicant = self._context(request)
        form = ApplicationForm(request.POST, program=batch.program, applicant=applicant)
        if form.is_valid():
            try:
                application = svc.application_create(
                    actor=_actor(request), batch=batch, applicant=applicant,
                    subject_name=form.cleaned_data["subject_name"], uscc=form.cleaned_data["uscc"],
                    division_code=form.cleaned_data["division_code"], form_data=form.form_data(),
                )
            except ApprovalError as exc:
                _form_errors(form, exc)
            else:
                messages.success(request, _("申报草稿已创建，请上传附件后提交"))
                return redirect(_url("detail", application.pk))
        # A refused form comes back as 422: the pages' Turbo renders a form's answer only when it is a redirect
        # or an error status (a 200 would leave the old page and the errors unseen).
        return render(request, "approvals/form.html", {"form": form, "batch": batch, "applicant": applicant},
                      status=422)


def _form_errors(form, exc: ApprovalError):
    form.add_error(None, exc.message)
    for name, error in exc.errors.items():
        field = name if name in form.fields else f"f_{name}"
        form.add_error(field if field in form.fields else None, error)


def _visible(request, pk):
    application = selectors.application_get(user=request.user, pk=pk)
    if application is None:
        raise Http404(_("申报不存在或不在您的权限范围内"))
    return application


def _editable(request, pk):
    """The application, if this user may edit it now; a page that is no longer editable says why."""
    application = _visible(request, pk)
    try:
        access.action_check(principal_of(request.user), application, Action.EDIT, visible=True)
    except WrongState:
        messages.error(request, _("只有草稿状态的申报可以修改"))
        return application, redirect(_url("detail", pk))
    except NotAllowed as exc:
        raise PermissionDenied(exc.message) from None
    return application, None


class ApplicationEditView(LoginRequiredMixin, View):
    def get(self, request, pk):
        application, refused = _editable(request, pk)
        if refused:
            return refused
        form = ApplicationForm(initial=ApplicationForm.initial_from(application), program=application.program,
                               applicant=application.applicant, editing=True)
        return render(request, "approvals/form.html", {"form": form, "application": application,
                                                       "batch": application.batch,
                                                       "applicant": application.applicant})

    def post(self, request, pk):
        application, refused = _editable(request, pk)
        if refused:
            return refused
        form = ApplicationForm(request.POST, program=application.program, applicant=application.applicant,
                               editing=True)
        if form.is_valid():
            try:
                svc.application_edit(
                    actor=_actor(request), application_id=pk, subject_name=form.cleaned_data["subject_name"],
                    uscc=form.cleaned_data["uscc"], division_code=form.cleaned_data["division_code"],
                    form_data=form.form_data(), expected_version=form.cleaned_data["version"],
                )
            except StaleVersion as exc:
                form = reconciled_after_stale(request.POST, current=_visible(request, pk), error=exc,
                                              program=application.program, applicant=application.applicant)
                return render(request, "approvals/form.html", {"form": form, "application": application,
                                                               "batch": application.batch,
                                                               "applicant": application.applicant}, status=409)
            except ApprovalError as exc:
                _form_errors(form, exc)
            else:
                messages.success(request, _("已保存"))
                return redirect(_url("detail", pk))
        return render(request, "approvals/form.html", {"form": form, "application": application,
                                                       "batch": application.batch,
                                                       "applicant": application.applicant}, status=422)


def _choice_labels(spec: dict) -> dict:
    return {c[0]: c[1] for c in spec.get("choices", []) if isinstance(c, list | tuple)}


def _display(spec: dict, value):
    """A form value as a person reads it: choice labels instead of codes."""
    if value in (None, ""):
        return "—"
    return _choice_labels(spec).get(value, value)


def _form_rows(application, *, masked: bool = False) -> list[dict]:
    """The form's fields as rows; `masked`: personal data masked (security.masking)."""
    rows = []
    data = application.form_data or {}
    if masked:
        data = masking.mask_form_data(application.program.form_fields, data)
    for spec in application.program.form_fields:
        value = data.get(spec["name"])
        row = {"label": spec.get("label", spec["name"]), "type": spec.get("type"),
               "required": spec.get("required", False)}
        if spec.get("type") == "list":
            columns = spec.get("item_fields", [])
            row["headers"] = [c.get("label", c["name"]) for c in columns]
            row["rows"] = [[_display(c, item.get(c["name"])) for c in columns] for item in (value or [])]
        else:
            row["value"] = _display(spec, value)
        rows.append(row)
    return rows


def _diff_text(value) -> str:
    """A changed value as a person reads it: a list of rows one row per line, a row's cells joined."""
    if isinstance(value, list):
        return "\n".join("；".join(str(v) for v in row.values() if v not in (None, "")) if isinstance(row, dict)
                         else str(row) for row in value)
    return "" if value is None else str(value)


def _compared_revisions(request, revisions: list[int]) -> tuple[int, int]:
    """The two revisions the detail page compares: ?old=&new= when both are revisions of the application
    (any two, in either order), else the last two; a number that is not a revision says so."""
    default = (revisions[-2], revisions[-1])
    if "old" not in request.GET and "new" not in request.GET:
        return default
    try:
        old, new = int(request.GET.get("old", "")), int(request.GET.get("new", ""))
    except ValueError:
        old = new = None
    if old not in revisions or new not in revisions or old == new:
        messages.error(request, _("请选择两个不同的已有版本进行比较（共 %(n)d 版）") % {"n": len(revisions)})
        return default
    return (min(old, new), max(old, new))


class ApplicationDetailView(LoginRequiredMixin, View):
    def get(self, request, pk):
        application = _visible(request, pk)
        revisions = list(application.revisions.order_by("number").values_list("number", flat=True))
        principal = principal_of(request.user)
        in_full = access.personal_data_in_full(principal, application)
        diff, compared = None, None
        if len(revisions) >= 2:
            compared = _compared_revisions(request, revisions)
            changes = selectors.revision_diff(application=application, old=compared[0], new=compared[1])
            if not in_full:
                changes = masking.mask_changes(application.program.form_fields, changes)
            diff = [dict(d, old_text=_diff_text(d["old"]), new_text=_diff_text(d["new"])) for d in changes]
        actions = set(access.actions_allowed(principal, application))
        buttons = [(spec, button) for spec, button in BUTTONS.values() if spec.action in actions]
        experts = []
        if Action.ASSIGN_EXPERTS in actions:
            experts = svc.experts_assignable(province_id=application.province_id)
        kinds = {k["code"]: k["label"] for k in application.program.attachment_kinds}
        attachments = list(application.attachments.filter(removed_in__isnull=True))
        for attachment in attachments:
            attachment.kind_label = kinds.get(attachment.kind, attachment.kind)
        present = {a.kind for a in attachments}
        opinions = list(selectors.application_opinions(application=application))
        returned = None
        if application.status == Status.DRAFT and application.revision > 1:
            returned = next((o for o in reversed(opinions) if o.decision == Decision.RETURN), None)
        assignments = access.assignments_visible(principal, application)
        return render(request, "approvals/detail.html", {
            "application": application,
            "fields": _form_rows(application, masked=not in_full),
            "uscc": application.uscc if in_full else masking.mask(application.uscc, masking.USCC),
            "events": [(e, _event_label(e.action), _status_label(e.from_status), _status_label(e.to_status))
                       for e in selectors.application_events(user=request.user, application=application)],
            "opinions": opinions,
            "returned": returned,
            "attachments": attachments,
            "missing_kinds": [label for code, label in kinds.items() if code not in present],
            "attachment_form": AttachmentForm(program=application.program) if Action.ATTACH in actions else None,
            "actions": [(button.name, spec.opinion_required, button.style, button.label) for spec, button in buttons],
            "experts": experts,
            "diff": diff,
            "revisions": revisions,
            "compared": compared,
            "assignments": assignments,
            "certificate": getattr(application, "certificate", None) if application.status in
            (Status.CERTIFIED, Status.REVOKED, Status.EXPIRED) else None,
            "can_edit": Action.EDIT in actions,
            "notice_start_choices": svc.notice_start_choices() if Action.PUBLISH_NOTICE in actions else [],
        })


def _status_label(status: str) -> str:
    return Status(status).label if status in Status.values else (status or "—")


def _event_label(action: str) -> str:
    return Action(action).label if action in Action.values else action


def _action_inputs(request, spec, button) -> dict:
    """The service's keyword arguments from the posted form: the same names the API takes, checked by the
    same service (a score is never rounded here, a date never guessed)."""
    post, kwargs = request.POST, {}
    for name in spec.inputs:
        if name == "comment":
            kwargs["comment"] = post.get("comment", "")
        elif name == "expert_ids":
            kwargs["expert_ids"] = [pk for pk in post.getlist("experts") if pk.strip()]
        elif name == "score":
            kwargs["score"] = post.get("score", "")
        elif name == "starts_on":
            kwargs["starts_on"] = post.get("starts_on") or None
        elif name == "upheld":
            kwargs["upheld"] = post.get("upheld") == "1"
    kwargs.update(button.params)
    return kwargs


class ApplicationActionView(LoginRequiredMixin, View):
    """Every button posts here (the buttons of approvals.stages); the service decides and explains."""

    def post(self, request, pk, action):
        if action not in BUTTONS:
            raise Http404
        spec, button = BUTTONS[action]
        service = getattr(svc, f"application_{spec.action}")
        try:
            service(actor=_actor(request), application_id=pk, **_action_inputs(request, spec, button))
        except ApprovalError as exc:
            if exc.http_status == 404:
                raise Http404(exc.message) from None
            messages.error(request, exc.message)
            for error in exc.errors.values():
                if str(error) != exc.message:
                    messages.error(request, error)
        else:
            messages.success(request, _("已完成：%s") % button.label)
        return HttpResponseRedirect(_url("detail", pk))


class AttachmentUploadView(LoginRequiredMixin, View):
    """An attachment from the detail page's upload form. The page's script posts it by XHR (to show its
    progress) and asks for JSON: a refusal comes back as the message to show next to the file, and the
    page reloads only after a success. Without the script the form posts as usual and the message shows
    on the page it is redirected to."""

    def post(self, request, pk):
        application = _visible(request, pk)
        wants_json = "application/json" in request.headers.get("Accept", "")
        form = AttachmentForm(request.POST, request.FILES, program=application.program)
        refusals = []
        if not form.is_valid():
            refusals = [str(error) for errors in form.errors.values() for error in errors]
        else:
            upload = form.cleaned_data["file"]
            if upload.size > svc.ATTACHMENT_MAX_BYTES:
                refusals = [_("附件“%(name)s”超过大小上限 %(limit)d MB") % {
                    "name": upload.name, "limit": svc.ATTACHMENT_MAX_BYTES // (1024 * 1024)}]
            else:
                try:
                    svc.attachment_add(actor=_actor(request), application_id=pk, kind=form.cleaned_data["kind"],
                                       name=upload.name, content=upload.read())
                except ApprovalError as exc:
                    refusals = [str(exc.message)]
        if refusals:
            if wants_json:
                return JsonResponse({"ok": False, "errors": refusals}, status=400)
            for refusal in refusals:
                messages.error(request, refusal)
            return redirect(_url("detail", pk))
        messages.success(request, _("附件已上传"))
        if wants_json:
            return JsonResponse({"ok": True}, status=201)
        return redirect(_url("detail", pk))


class AttachmentDownloadView(LoginRequiredMixin, View):
    def get(self, request, pk):
        attachment = get_object_or_404(Attachment, pk=pk)
        _visible(request, attachment.application_id)
        # An attachment may hold personal data (licences, ID cards): its download goes to the security log.
        security_record(Kind.EXPORT, request=request, target=attachment.original_name[:255],
                        detail={"document": "attachment", "application": attachment.application_id,
                                "attachment": attachment.pk})
        return FileResponse(attachment_path(attachment).open("rb"), as_attachment=True,
                            filename=attachment.original_name, content_type=attachment.content_type)


class CityBatchView(LoginRequiredMixin, View):
    """A city's page for one batch: the quota counter and the applications waiting for its recommendation,
    with bulk recommend."""

    def _context(self, request, batch_id):
        batch = get_object_or_404(Batch.objects.select_related("program", "province"), pk=batch_id)
        cities = access.city_reviewer_cities(principal_of(request.user))
        city = Organization.objects.filter(pk__in=cities, parent_id=batch.province_id).order_by("pk").first()
        if city is None:
            raise Http404(_("您不是本批次所在省的市级审核人"))
        quota = batch.quotas.filter(city=city).first()
        apps = selectors.application_list(user=request.user).filter(batch=batch, city=city)
        used = apps.filter(status__in=list(RECOMMENDED_STATUSES)).count()
        return {
            "batch": batch, "city": city, "quota": quota.quota if quota else 0, "used": used,
            "waiting": apps.filter(status=Status.CITY_REVIEW),
            "recommended": apps.filter(status__in=list(RECOMMENDED_STATUSES)),
        }

    def get(self, request, batch_id):
        return render(request, "approvals/city_batch.html", self._context(request, batch_id))

    def post(self, request, batch_id):
        context = self._context(request, batch_id)
        ids = [pk for pk in map(query_id, request.POST.getlist("applications")) if pk is not None]
        comment = request.POST.get("comment", "")
        done = 0
        for pk in ids:
            try:
                svc.application_recommend(actor=_actor(request), application_id=pk, comment=comment)
            except ApprovalError as exc:
                messages.error(request, exc.message)
                if exc.code == "quota":
                    break
            else:
                done += 1
        if done:
            messages.success(request, _("已推荐 %d 项") % done)
        return redirect(reverse("approvals:city_batch", args=[context["batch"].pk]))


def permission_denied(request, exception=None):
    """Someone whose session ended is sent to log in again rather than shown a bare 403."""
    from django.contrib.auth.views import redirect_to_login
    from django.views.defaults import permission_denied as default_permission_denied

    if not request.user.is_authenticated:
        # The way back after the login, with its query unless that makes the redirect longer than Django
        # allows (DisallowedRedirect here, inside the error handler, was a 500).
        back = next((path for path in (request.get_full_path(), request.path) if len(path) <= NEXT_MAX_LENGTH), "/")
        return redirect_to_login(back)
    return default_permission_denied(request, exception)


NEXT_MAX_LENGTH = 4096
