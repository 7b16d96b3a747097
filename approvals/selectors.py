"""Every read of applications that depends on who asks; who may see what is decided by approvals.access."""
from django.db.models import QuerySet
from django.utils.translation import gettext as _

from orgs.access import principal_of

from . import access
from .models import Application, AuditEvent, Opinion, Revision


def application_list(*, user) -> QuerySet[Application]:
    """Applications the user may see (approvals.access), with what the lists show."""
    return (
        access.applications_visible(principal_of(user))
        .select_related("program", "batch", "applicant", "city", "division")
        .order_by("-created_at", "-id")
    )


def application_get(*, user, pk: int) -> Application | None:
    return application_list(user=user).filter(pk=pk).first()


def application_events(*, user, application: Application) -> list[AuditEvent]:
    """The audit trail as `user` may read it (expert scores and names only to those who see them)."""
    events = application.events.select_related("actor", "on_behalf_of", "organization").order_by("seq")
    return access.events_visible(principal_of(user), application, events)


def application_opinions(*, application: Application) -> QuerySet[Opinion]:
    return application.opinions.select_related("person", "organization").order_by("created_at", "id")


def revision_diff(*, application: Application, old: int, new: int) -> list[dict]:
    """Field-by-field difference between two frozen revisions, attachments included:
    [{"field", "label", "old", "new"}] in form order."""
    revisions = {r.number: r for r in Revision.objects.filter(application=application, number__in=[old, new])}
    a, b = revisions.get(old), revisions.get(new)
    if a is None or b is None:
        raise Revision.DoesNotExist(f"revision {old if a is None else new} does not exist")
    labels = {f["name"]: f.get("label", f["name"]) for f in application.program.form_fields}
    changes = []
    for name, label, old_value, new_value in (
        ("subject_name", _("申报主体名称"), a.subject_name, b.subject_name),
        ("uscc", _("统一社会信用代码"), a.uscc, b.uscc),
        ("division_code", _("所在区划"), a.division_code, b.division_code),
    ):
        if old_value != new_value:
            changes.append({"field": name, "label": label, "old": old_value, "new": new_value})
    names = list(labels) + sorted((set(a.form_data) | set(b.form_data)) - set(labels))
    for name in names:
        if a.form_data.get(name) != b.form_data.get(name):
            changes.append({"field": name, "label": labels.get(name, name), "old": a.form_data.get(name),
                            "new": b.form_data.get(name)})
    kinds = {k["code"]: k["label"] for k in application.program.attachment_kinds}
    for kind in list(kinds) + sorted((set(a.attachments) | set(b.attachments)) - set(kinds)):
        if a.attachments.get(kind) != b.attachments.get(kind):
            changes.append({"field": f"attachment:{kind}", "label": _("附件：%s") % kinds.get(kind, kind),
                            "old": a.attachments.get(kind), "new": b.attachments.get(kind)})
    return changes


def audit_verify(*, application_ids=None) -> tuple[bool, str]:
    """Walk every chain; return (True, summary) or (False, a description of the first broken link)."""
    events = AuditEvent.objects.order_by("application_id", "seq")
    heads = dict(Application.objects.values_list("pk", "audit_head"))
    seqs = dict(Application.objects.values_list("pk", "audit_seq"))
    if application_ids is not None:
        events = events.filter(application_id__in=application_ids)
    current, expected_prev, expected_seq, checked = None, "", 0, 0

    def close_chain(app_id, prev, seq):
        if app_id is None:
            return None
        if seqs.get(app_id) != seq or heads.get(app_id) != prev:
            return _("申报 %(app)s：记录链末尾与申报不符（应有 %(expected)s 条，实有 %(seq)s 条），"
                     "第 %(next)s 条起缺失或被改动") % {"app": app_id, "expected": seqs.get(app_id), "seq": seq,
                                                 "next": seq + 1}
        return None

    for event in events.iterator():
        if event.application_id != current:
            problem = close_chain(current, expected_prev, expected_seq)
            if problem:
                return False, problem
            current, expected_prev, expected_seq = event.application_id, "", 0
        expected_seq += 1
        if event.seq != expected_seq:
            return False, _("申报 %(app)s：第 %(seq)s 条审计记录缺失（下一条为第 %(next)s 条，id=%(id)s）") % {
                "app": current, "seq": expected_seq, "next": event.seq, "id": event.pk}
        if event.prev_hash != expected_prev:
            return False, _("申报 %(app)s：第 %(seq)s 条审计记录（id=%(id)s）的前序哈希不符") % {
                "app": current, "seq": event.seq, "id": event.pk}
        if event.compute_hash() != event.hash:
            return False, _("申报 %(app)s：第 %(seq)s 条审计记录（id=%(id)s）内容被改动") % {
                "app": current, "seq": event.seq, "id": event.pk}
        expected_prev = event.hash
        checked += 1
    problem = close_chain(current, expected_prev, expected_seq)
    if problem:
        return False, problem
    with_events = set(AuditEvent.objects.values_list("application_id", flat=True).distinct())
    for app_id, seq in seqs.items():
        if seq and app_id not in with_events and (application_ids is None or app_id in application_ids):
            return False, _("申报 %(app)s：%(seq)s 条审计记录全部缺失") % {"app": app_id, "seq": seq}
    return True, _("%(n)s 条审计记录，全部链完整") % {"n": checked}
