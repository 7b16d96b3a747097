"""Every read of applications that depends on who asks; who may see what is decided by approvals.access."""
import datetime as dt

from django.conf import settings
from django.core.paginator import Paginator
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from orgs.access import principal_of
from workflows.workdays import workdays_between

from . import access, audit_anchor
from .models import Application, AuditEvent, Opinion, Revision, Status


def application_list(*, user) -> QuerySet[Application]:
    """Applications the user may see (approvals.access), with what the lists show."""
    return (
        access.applications_visible(principal_of(user))
        .select_related("program", "batch", "applicant", "city", "division")
        .order_by("-created_at", "-id")
    )


class IdsFirst:
    """A list to page through (a Paginator's object list) whose slices pick their ids first: `rows[a:b]` is
    `rows.filter(pk__in=<the ids of rows[a:b]>)`, one statement. The ids and the order come from the indexes
    (for applications, the scope's covering index), so only the slice's own rows are read from the table
    and joined to what the list shows, not every row of a province's scope before sorting."""

    def __init__(self, queryset: QuerySet):
        self.queryset = queryset

    def count(self) -> int:
        return self.queryset.count()

    def __getitem__(self, index: slice) -> QuerySet:
        return self.queryset.filter(pk__in=self.queryset.values("pk")[index])


class IdsFirstPaginator(Paginator):
    """A Paginator over IdsFirst (for list views that take a paginator_class)."""

    def __init__(self, object_list, *args, **kwargs):
        super().__init__(IdsFirst(object_list), *args, **kwargs)


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
                            "old": a.attachments.get(kind), "new": b.attachments.get(kind),
                            "files": attachment_changes(a.attachments.get(kind), b.attachments.get(kind))})
    return changes


def attachment_changes(old: list | None, new: list | None) -> list[dict]:
    """The files of one attachment kind between two revisions, as a reader wants them: each added,
    removed or replaced file with its name and size (a file is the same when its SHA-256 is). A removed
    and an added file of the kind pair up as a replacement, in order."""
    old, new = list(old or []), list(new or [])
    kept = {f["sha256"] for f in old} & {f["sha256"] for f in new}
    removed = [f for f in old if f["sha256"] not in kept]
    added = [f for f in new if f["sha256"] not in kept]
    changes = [{"change": "replaced", "name": n["name"], "size": n["size"], "old_name": o["name"],
                "old_size": o["size"]} for o, n in zip(removed, added, strict=False)]
    paired = min(len(removed), len(added))
    changes += [{"change": "removed", "name": f["name"], "size": f["size"]} for f in removed[paired:]]
    changes += [{"change": "added", "name": f["name"], "size": f["size"]} for f in added[paired:]]
    return changes


def audit_verify(*, application_ids=None, digest_dir=None, check_age=True) -> tuple[bool, str]:
    """Walk every chain and compare it with the latest signed digest (approvals.audit_anchor, docs/audit.md);
    return (True, summary) or (False, a description of the first problem found).

    Inside a chain: the sequence, the links, each event's hash, and its derived stay fields against the
    chain's own times. At its end: the application row's head, its status against the last event, and the
    digest's head for it (truncation, rewinds, recomputed chains). Events missing from the digest must be
    younger than it. `digest_dir` checks against an auditor's own copy; `check_age=False` skips the test that
    the latest digest is recent (the writer, which is about to add a new one)."""
    with audit_anchor.consistent_read():
        try:
            digest = audit_anchor.digests_check(digest_dir)
        except audit_anchor.DigestError as exc:
            return False, str(exc)
        problem, checked = _chains_check(application_ids, digest)
    if problem:
        return False, problem
    if digest is None:
        return True, _("%(n)s 条审计记录，全部链完整；尚无签名摘要，未与库外摘要比对") % {"n": checked}
    at = timezone.localtime(digest.as_of).strftime("%Y-%m-%d %H:%M")
    age = timezone.now() - digest.as_of
    if check_age and age > dt.timedelta(hours=settings.AUDIT_DIGEST_MAX_AGE_HOURS):
        return False, _("最新签名摘要 #%(d)s 写于 %(at)s，已超过 %(hours)s 小时：每日摘要任务停止了，或其后的摘要被删除") % {
            "d": digest.number, "at": at, "hours": f"{settings.AUDIT_DIGEST_MAX_AGE_HOURS:g}"}
    return True, _("%(n)s 条审计记录，全部链完整，与签名摘要 #%(d)s（%(at)s）相符") % {
        "n": checked, "d": digest.number, "at": at}


def _status_label(value: str) -> str:
    return str(Status(value).label) if value in Status.values else value


def _chains_check(application_ids, digest) -> tuple[str | None, int]:
    """(the first problem or None, the number of events checked); see audit_verify."""
    apps = Application.objects.order_by()
    events = AuditEvent.objects.order_by("application_id", "seq")
    if application_ids is not None:
        apps, events = apps.filter(pk__in=application_ids), events.filter(application_id__in=application_ids)
    rows = {pk: (seq, head, status) for pk, seq, head, status in apps.values_list("pk", "audit_seq", "audit_head",
                                                                                  "status")}
    anchored = dict(digest.heads) if digest else {}
    if application_ids is not None:
        wanted = set(application_ids)
        anchored = {pk: head for pk, head in anchored.items() if pk in wanted}
    # Events stamped before this and missing from the digest were written after it with an earlier date.
    cutoff = digest.as_of - dt.timedelta(seconds=settings.AUDIT_DIGEST_MARGIN_SECONDS) if digest else None
    names = {"d": digest.number if digest else None}

    def close_chain(app_id, prev, seq, last_status):
        if app_id is None:
            return None
        row = rows.get(app_id)
        if row is None or row[0] != seq or row[1] != prev:
            return _("申报 %(app)s：记录链末尾与申报不符（应有 %(expected)s 条，实有 %(seq)s 条），"
                     "第 %(next)s 条起缺失或被改动") % {"app": app_id, "expected": row[0] if row else None,
                                                 "seq": seq, "next": seq + 1}
        if app_id in anchored and anchored[app_id][0] > seq:
            return _("申报 %(app)s：签名摘要 #%(d)s 记录到第 %(anchored)s 条，现只到第 %(seq)s 条：记录被截断或回退") % {
                **names, "app": app_id, "anchored": anchored[app_id][0], "seq": seq}
        if row[2] != last_status:
            return _("申报 %(app)s：状态“%(status)s”与最后一条审计记录（第 %(seq)s 条）的“%(last)s”不符") % {
                "app": app_id, "status": _status_label(row[2]), "seq": seq, "last": _status_label(last_status)}
        return None

    current, expected_prev, expected_seq, last_status, entered, checked = None, "", 0, "", None, 0
    for event in events.iterator(chunk_size=5000):
        if event.application_id != current:
            problem = close_chain(current, expected_prev, expected_seq, last_status)
            if problem:
                return problem, checked
            current, expected_prev, expected_seq, entered = event.application_id, "", 0, None
        expected_seq += 1
        where = {"app": current, "seq": event.seq, "id": event.pk}
        if event.seq != expected_seq:
            return _("申报 %(app)s：第 %(seq)s 条审计记录缺失（下一条为第 %(next)s 条，id=%(id)s）") % {
                "app": current, "seq": expected_seq, "next": event.seq, "id": event.pk}, checked
        if event.prev_hash != expected_prev:
            return _("申报 %(app)s：第 %(seq)s 条审计记录（id=%(id)s）的前序哈希不符") % where, checked
        if event.compute_hash() != event.hash:
            return _("申报 %(app)s：第 %(seq)s 条审计记录（id=%(id)s）内容被改动") % where, checked
        # The stay fields are outside the hash (the calendar may change them) but follow from the chain: the
        # previous status-changing event's time, and the working days between (as approvals.services writes).
        stamped = bool(event.from_status) and event.from_status != event.to_status and entered is not None
        if event.from_entered_at != (entered if stamped else None):
            return _("申报 %(app)s：第 %(seq)s 条审计记录（id=%(id)s）的进入环节时间与记录链不符") % where, checked
        if event.stay_workdays != (max(0, workdays_between(entered, event.created_at)) if stamped else None):
            return _("申报 %(app)s：第 %(seq)s 条审计记录（id=%(id)s）的停留工作日数与记录链和工作日历不符"
                     "（若刚改过工作日历，请运行 manage.py recount_stays 年份）") % where, checked
        if event.from_status != event.to_status:
            entered = event.created_at
        anchored_seq, anchored_head = anchored.get(current, (0, ""))
        if event.seq == anchored_seq and event.hash != anchored_head:
            return _("申报 %(app)s：第 %(seq)s 条审计记录（id=%(id)s）与签名摘要 #%(d)s 不符：此前的记录被改写") % {
                **names, **where}, checked
        if event.seq > anchored_seq and cutoff is not None and event.created_at < cutoff:
            return _("申报 %(app)s：第 %(seq)s 条审计记录（id=%(id)s）注明的时间早于签名摘要 #%(d)s，却不在摘要中：事后补写") % {
                **names, **where}, checked
        expected_prev, last_status = event.hash, event.to_status
        checked += 1
    problem = close_chain(current, expected_prev, expected_seq, last_status)
    if problem:
        return problem, checked
    with_events = set(events.values_list("application_id", flat=True).distinct())
    for app_id, (seq, _head, _status) in sorted(rows.items()):
        if app_id in with_events:
            continue
        if seq:
            return _("申报 %(app)s：%(seq)s 条审计记录全部缺失") % {"app": app_id, "seq": seq}, checked
        if app_id in anchored:
            return _("申报 %(app)s：签名摘要 #%(d)s 记录有 %(anchored)s 条审计记录，现在一条也没有：记录被删除、计数被清零") % {
                **names, "app": app_id, "anchored": anchored[app_id][0]}, checked
        return _("申报 %(app)s 没有任何审计记录（申报创建时即写第一条）") % {"app": app_id}, checked
    for app_id in sorted(set(anchored) - set(rows)):
        return _("申报 %(app)s：在签名摘要 #%(d)s 中，已不在数据库中") % {**names, "app": app_id}, checked
    return None, checked
