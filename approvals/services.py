"""Every write to an application. Each action runs in one transaction: lock the row, check state, role and
organization scope, transition, save, append the audit event, move the viewflow task, and queue background
work on commit. A refused action raises an ApprovalError and leaves everything as it was."""
import datetime as dt
import hashlib
import secrets
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

from django.contrib.auth.models import Permission
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import pgettext_lazy
from django_fsm import ConcurrentTransition, can_proceed
from stdnum import exceptions as stdnum_exceptions
from stdnum.cn import uscc as uscc_validator
from viewflow.workflow.status import STATUS

from orgs.models import Level, Membership, Organization
from workflows.notifications import queue_for_transition
from workflows.workdays import workdays_between

from . import drafts
from . import errors as E
from .attachments import sniff_content_type
from .formspec import thresholds_unmet, validate_form_data
from .models import (
    APPLICANT,
    Application,
    ApplicationUserObjectPermission,
    Attachment,
    AuditEvent,
    BannedSubject,
    Batch,
    BatchQuota,
    ExpertAssignment,
    Opinion,
    Program,
    Revision,
    Status,
)
from .outbox import effect_add

SYSTEM = "system"


@dataclass(frozen=True)
class Actor:
    """Who acts: a user (None for the system itself) and the client address for the audit trail."""

    user: object = None
    ip: str | None = None


SYSTEM_ACTOR = Actor()


@dataclass(frozen=True)
class ActionRule:
    label: str
    sources: tuple
    # role and level per source status; level APPLICANT means the applicant organization itself
    owners: dict = field(default_factory=dict)
    system: bool = False  # the system (a timer or a worker) may run it without a user


def _owners(role, level, *statuses):
    return {status: (role, level) for status in statuses}


S = Status
ACTIONS = {
    "edit": ActionRule(pgettext_lazy("action", "修改"), (S.DRAFT,), _owners("clerk", APPLICANT, S.DRAFT)),
    "submit": ActionRule(pgettext_lazy("action", "提交"), (S.DRAFT,), _owners("clerk", APPLICANT, S.DRAFT)),
    "withdraw": ActionRule(
        pgettext_lazy("action", "撤回"), (S.DRAFT, S.APPLICANT_SIGNOFF, S.CITY_REVIEW),
        _owners("clerk", APPLICANT, S.DRAFT, S.APPLICANT_SIGNOFF, S.CITY_REVIEW),
    ),
    "sign_off": ActionRule(pgettext_lazy("action", "本级审核通过"), (S.APPLICANT_SIGNOFF,), _owners("leader", APPLICANT, S.APPLICANT_SIGNOFF)),
    "return": ActionRule(
        pgettext_lazy("action", "退回修改"), (S.APPLICANT_SIGNOFF, S.CITY_REVIEW, S.PROVINCE_CHECK),
        {
            S.APPLICANT_SIGNOFF: ("leader", APPLICANT),
            S.CITY_REVIEW: ("reviewer", Level.CITY),
            S.PROVINCE_CHECK: ("reviewer", Level.PROVINCE),
        },
    ),
    "recommend": ActionRule(pgettext_lazy("action", "推荐"), (S.CITY_REVIEW,), _owners("reviewer", Level.CITY, S.CITY_REVIEW)),
    "decline": ActionRule(pgettext_lazy("action", "不予推荐"), (S.CITY_REVIEW,), _owners("reviewer", Level.CITY, S.CITY_REVIEW)),
    "accept": ActionRule(pgettext_lazy("action", "形式审查通过"), (S.PROVINCE_CHECK,), _owners("reviewer", Level.PROVINCE, S.PROVINCE_CHECK)),
    "assign_experts": ActionRule(
        pgettext_lazy("action", "指派专家"), (S.EXPERT_REVIEW,), _owners("reviewer", Level.PROVINCE, S.EXPERT_REVIEW)
    ),
    "score": ActionRule(pgettext_lazy("action", "评分"), (S.EXPERT_REVIEW,), _owners("expert", Level.PROVINCE, S.EXPERT_REVIEW)),
    "decide": ActionRule(pgettext_lazy("action", "认定"), (S.DECISION,), _owners("leader", Level.PROVINCE, S.DECISION)),
    "publish_notice": ActionRule(
        pgettext_lazy("action", "发布公示"), (S.PUBLIC_NOTICE,), _owners("reviewer", Level.PROVINCE, S.PUBLIC_NOTICE)
    ),
    "object": ActionRule(pgettext_lazy("action", "登记公示异议"), (S.PUBLIC_NOTICE,), _owners("reviewer", Level.PROVINCE, S.PUBLIC_NOTICE)),
    "approve": ActionRule(pgettext_lazy("action", "公示期满认定"), (S.PUBLIC_NOTICE,), _owners("leader", Level.PROVINCE, S.PUBLIC_NOTICE), True),
    "issue_certificate": ActionRule(
        pgettext_lazy("action", "颁发证书"), (S.APPROVED,), _owners("reviewer", Level.PROVINCE, S.APPROVED), True
    ),
    "revoke": ActionRule(pgettext_lazy("action", "撤销"), (S.CERTIFIED,), _owners("leader", Level.PROVINCE, S.CERTIFIED)),
    "expire": ActionRule(pgettext_lazy("action", "到期"), (S.CERTIFIED,), {}, True),
}

# Actions that record an opinion (printed in the opinion blocks of the application form).
OPINION_ACTIONS = {"sign_off", "return", "recommend", "decline", "accept", "decide", "object", "revoke"}
COMMENT_REQUIRED = {"return", "decline", "decide", "object", "revoke"}
MIN_EXPERTS = 2
# Experts review what they are assigned (a guardian grant), not everything of the organization they are
# registered with.
GRANT_ONLY_ROLES = {"expert"}
ATTACHMENT_MAX_BYTES = 20 * 1024 * 1024


# --------------------------------------------------------------------------------------------- scope


def _current_memberships(user) -> list[tuple[int, str, str]]:
    """(organization id, organization path, role) of the user's current memberships, in one query."""
    if user is None:
        return []
    cache = getattr(user, "_membership_cache", None)
    if cache is None:
        cache = list(
            Membership.objects.current()
            .filter(user=user)
            .values_list("organization_id", "organization__path", "role")
        )
        user._membership_cache = cache
    return cache


def user_can_see(user, application: Application) -> bool:
    """Own organization and everything under it; guardian grants for experts and auditors; delegations in
    force (each further check runs only when the ones before it did not grant)."""
    if user is None:
        return True
    if any(application.applicant_path.startswith(path)
           for _org, path, role in _current_memberships(user) if role not in GRANT_ONLY_ROLES):
        return True
    if ApplicationUserObjectPermission.objects.filter(user=user, content_object=application).exists():
        return True
    return any(application.applicant_path.startswith(path) for _org, path, _role, _for in _delegations_to(user))


def _delegations_to(user) -> list[tuple[int, str, str, int]]:
    """(organization id, path, role, delegator id) delegated to the user today (one query)."""
    from workflows.delegations import delegations_active_to

    return delegations_active_to(user=user)


def acting_organization_id(application: Application, level: str) -> int:
    if level == APPLICANT:
        return application.applicant_id
    return application.city_id if level == Level.CITY else application.province_id


def _authorize(actor: Actor, application: Application, action: str) -> tuple[int | None, str]:
    """Check visibility (404), state (409) and role in the right organization (403); return (org, role)."""
    rule = ACTIONS[action]
    if actor.user is not None and not user_can_see(actor.user, application):
        raise E.NotFound(E.MSG_NOT_FOUND)
    if application.status not in rule.sources:
        raise E.WrongState(E.MSG_WRONG_STATE, status=application.get_status_display(), action=rule.label)
    if actor.user is None:
        if not rule.system:
            raise E.NotAllowed(E.MSG_NOT_ALLOWED, action=rule.label)
        return None, SYSTEM
    role, level = rule.owners[application.status]
    org_id = acting_organization_id(application, level)
    if any(m_org == org_id and m_role == role for m_org, _path, m_role in _current_memberships(actor.user)):
        return org_id, role
    delegator_id = next((d for o, _p, r, d in _delegations_to(actor.user) if o == org_id and r == role), None)
    if delegator_id is not None:
        # Read by _append_event, which every action calls on this same locked row after authorizing.
        application._on_behalf_of_id = delegator_id
        return org_id, role
    raise E.NotAllowed(E.MSG_NOT_ALLOWED, action=rule.label)


def _lock(application_id: int, actor: Actor | None = None) -> Application:
    """Lock the application row for this transaction (FOR UPDATE on PostgreSQL; SQLite's IMMEDIATE
    transaction already holds the write lock). The actor's memberships are read afresh for each action,
    so a role taken away since the user object was loaded no longer counts."""
    if actor is not None and actor.user is not None:
        actor.user._membership_cache = None
    try:
        application = (
            Application.objects.select_for_update(of=("self",))
            .select_related("program", "batch", "process")
            .get(pk=application_id)
        )
    except Application.DoesNotExist:
        raise E.NotFound(E.MSG_NOT_FOUND) from None
    # The batch's program is the application's: share the loaded row instead of reading it again.
    application.batch.program = application.program
    _remember_loaded(application)
    return application


# --------------------------------------------------------------------------------------------- audit


def _append_event(
    application, *, actor, org_id, role, action, from_status, comment="", on_behalf_of=None, at=None
) -> AuditEvent:
    """Build the next link of the application's chain; the caller saves the application, then the event.
    `on_behalf_of` (the delegator) defaults to the one _authorize found for a delegated action."""
    event = AuditEvent(
        application_id=application.pk,
        seq=application.audit_seq + 1,
        actor=actor.user,
        on_behalf_of_id=on_behalf_of.pk if on_behalf_of else getattr(application, "_on_behalf_of_id", None),
        organization_id=org_id,
        role=role,
        action=action,
        from_status=from_status,
        to_status=application.status,
        revision=application.revision,
        comment=comment,
        created_at=at or timezone.now(),
        client_ip=actor.ip,
        prev_hash=application.audit_head,
    )
    event.hash = event.compute_hash()
    application.audit_seq, application.audit_head = event.seq, event.hash
    if from_status and from_status != application.status:
        # Leaving a stage: the event records how long it was held; the application enters the next one.
        event.from_entered_at = application.stage_entered_at
        event.stay_workdays = max(0, workdays_between(event.from_entered_at, event.created_at))
        application.stage_entered_at = event.created_at
    return event


def _remember_loaded(application: Application) -> None:
    """Remember the locked row's values so that _save writes only what the action changed. The form data
    is compared by identity: services replace it, never change it in place."""
    application._loaded = {
        name: (value if name != "form_data" else id(value))
        for name, value in application.__dict__.items() if name in _SAVED_FIELDS
    }


_SAVED_FIELDS = frozenset(
    f.attname for f in Application._meta.concrete_fields if not f.primary_key and f.attname != "updated_at"
)


def _save(application: Application) -> None:
    loaded = getattr(application, "_loaded", None)
    fields = None
    if loaded is not None:
        fields = ["updated_at"] + [
            name for name, value in loaded.items()
            if (id(application.form_data) if name == "form_data" else application.__dict__.get(name)) != value
        ]
    try:
        application.save(update_fields=fields)
        if loaded is not None:
            _remember_loaded(application)
    except ConcurrentTransition:
        raise E.Conflict(E.MSG_CONFLICT) from None


# ---------------------------------------------------------------------------------------------- flow


def _open_task(application: Application, node_names: tuple, *, owner_id=None):
    from workflows.flows import ApplicationFlow

    nodes = [getattr(ApplicationFlow, name) for name in node_names]
    qs = ApplicationFlow.task_class._default_manager.filter(
        process_id=application.process_id, flow_task__in=nodes,
        status__in=[STATUS.NEW, STATUS.ASSIGNED, STATUS.SCHEDULED],
    )
    if owner_id is not None:
        qs = qs.filter(owner_id=owner_id)
    task = qs.first()
    if task is None:
        raise E.Conflict(E.MSG_CONFLICT)
    task.process = application.process
    return task


def _complete_task(application: Application, task, user) -> None:
    """Assign (if pooled) and execute a human task; the node then routes on the new status. A scheduled
    timer (the notice period) is fired now."""
    activation = task.flow_task.activation_class(task)
    if task.status == STATUS.SCHEDULED:
        activation.start()
        activation.execute()
        return
    if task.status == STATUS.NEW:
        task.owner = user
        task.assigned = timezone.now()
        task.status = STATUS.ASSIGNED
    activation.start(None)
    activation.execute()


STAGE_NODES = {
    S.DRAFT: ("edit",),
    S.APPLICANT_SIGNOFF: ("sign_off",),
    S.CITY_REVIEW: ("review_in_city",),
    S.PROVINCE_CHECK: ("check_in_province",),
    S.EXPERT_REVIEW: ("assign_experts",),
    S.DECISION: ("decide",),
    S.PUBLIC_NOTICE: ("publish_notice",),
}


# ------------------------------------------------------------------------------------ the transition


def _transition(
    *, actor: Actor, application_id: int, action: str, method: str, comment: str = "", decision: str = "",
    checks=None, task_nodes=None, effects=None,
) -> Application:
    """Run one state change in one transaction (the pattern every action below follows)."""
    comment = (comment or "").strip()
    with transaction.atomic():
        application = _lock(application_id, actor)
        org_id, role = _authorize(actor, application, action)
        if action in COMMENT_REQUIRED and not comment:
            raise E.InvalidInput(E.MSG_OPINION_REQUIRED, errors={"comment": str(E.MSG_OPINION_REQUIRED)})
        if checks:
            checks(application)
        from_status, from_revision = application.status, application.revision
        nodes = task_nodes or STAGE_NODES.get(from_status)
        task = _open_task(application, nodes) if nodes and application.process_id else None
        transition = getattr(application, method)
        if not can_proceed(transition):
            raise E.WrongState(E.MSG_WRONG_STATE, status=application.get_status_display(), action=ACTIONS[action].label)
        transition()
        event = _append_event(
            application, actor=actor, org_id=org_id, role=role, action=action, from_status=from_status,
            comment=comment,
        )
        _save(application)
        event.save()
        if action in OPINION_ACTIONS and actor.user is not None:
            Opinion.objects.create(
                # The opinion is on the revision that was examined (a return starts the next one).
                application_id=application.pk, revision=from_revision, stage=from_status,
                decision=decision or action, text=comment, person=actor.user, role=role, organization_id=org_id,
            )
        if task is not None:
            _complete_task(application, task, actor.user)
        queue_for_transition(application=application, action=action)
        if effects:
            effects(application)  # the action's outbox effects, in its transaction
    return application


# ------------------------------------------------------------------------------------------- create


def _clean_subject(program: Program, applicant: Organization, *, subject_name, uscc, division_code) -> dict:
    errors = {}
    subject_name = (subject_name or "").strip()
    if not subject_name:
        errors["subject_name"] = str(E.MSG_SUBJECT_REQUIRED)
    uscc = (uscc or "").strip().upper()
    if uscc:
        try:
            uscc = uscc_validator.validate(uscc)
        except stdnum_exceptions.ValidationError:
            errors["uscc"] = str(E.MSG_USCC_INVALID % {"value": uscc})
    elif program.requires_uscc:
        errors["uscc"] = str(E.MSG_USCC_REQUIRED)
    division_code = (division_code or "").strip()
    org_code = applicant.division_id or ""
    prefix = {Level.PROVINCE: 2, Level.CITY: 4, Level.COUNTY: 6}.get(applicant.level, 6)
    from orgs.models import Division

    if not Division.objects.filter(code=division_code, active=True).exists() or division_code[:prefix] != org_code[:prefix]:
        errors["division_code"] = str(E.MSG_DIVISION_OUTSIDE % {"code": division_code, "org": applicant.name})
    return {"subject_name": subject_name, "uscc": uscc, "division_id": division_code, "errors": errors}


def application_create(
    *, actor: Actor, batch: Batch, applicant: Organization, subject_name: str, uscc: str = "",
    division_code: str, form_data: dict | None = None,
) -> Application:
    """A clerk of the applicant organization starts a draft; the viewflow process starts with it."""
    from workflows.flows import ApplicationFlow

    program = batch.program
    if not any(
        org_id == applicant.pk and role == "clerk" for org_id, _p, role in _current_memberships(actor.user)
    ):
        raise E.NotAllowed(E.MSG_NOT_ALLOWED, action=pgettext_lazy("action", "创建申报"))
    if applicant.level != program.applicant_level:
        raise E.InvalidInput(
            E.MSG_PROGRAM_LEVEL, program=program.name_zh, level=Level(program.applicant_level).label
        )
    ancestors = {o.level: o for o in Organization.objects.filter(pk__in=applicant.ancestor_ids)}
    province, city = ancestors.get(Level.PROVINCE), ancestors.get(Level.CITY)
    if province is None or batch.province_id != province.pk:
        raise E.InvalidInput(E.MSG_BATCH_PROVINCE, batch=batch.name)
    subject = _clean_subject(program, applicant, subject_name=subject_name, uscc=uscc, division_code=division_code)
    cleaned, form_errors = validate_form_data(program.form_fields, form_data or {}, partial=True)
    all_errors = {**subject.pop("errors"), **form_errors}
    if all_errors:
        raise E.InvalidInput(E.MSG_FORM_INVALID, errors=all_errors)
    with transaction.atomic():
        now = timezone.now()  # created, entered the draft stage and the first event: one moment
        application = Application(
            program=program, batch=batch, applicant=applicant, applicant_path=applicant.path,
            city=city or applicant, province=province, form_data=cleaned, created_by=actor.user,
            created_at=now, stage_entered_at=now, **subject,
        )
        application.save()
        event = _append_event(
            application, actor=actor, org_id=applicant.pk, role="clerk", action="create", from_status="", at=now
        )
        process = ApplicationFlow.start.run(application=application)
        application.process = process
        Application.objects.filter(pk=application.pk).update(
            process=process, audit_seq=application.audit_seq, audit_head=application.audit_head
        )
        event.save()
    return application


def application_edit(
    *, actor: Actor, application_id: int, subject_name=None, uscc=None, division_code=None, form_data=None,
    form_data_patch=None, expected_version: int | None = None,
) -> Application:
    """Save changes to a draft (partial form data is allowed until submission). `form_data` replaces the
    form data; `form_data_patch` merges into it by key (None removes a key). With `expected_version` (the
    web form and the API always send it) a draft changed since that version is refused (approvals.drafts);
    the edit event names the fields it changed."""
    with transaction.atomic():
        application = _lock(application_id, actor)
        org_id, role = _authorize(actor, application, "edit")
        if expected_version is not None:
            drafts.check_version(application, expected_version, action_label=_action_label)
        changes = {}
        if subject_name is not None or uscc is not None or division_code is not None:
            subject = _clean_subject(
                application.program, application.applicant,
                subject_name=application.subject_name if subject_name is None else subject_name,
                uscc=application.uscc if uscc is None else uscc,
                division_code=application.division_id if division_code is None else division_code,
            )
            if subject["errors"]:
                raise E.InvalidInput(E.MSG_FORM_INVALID, errors=subject["errors"])
            subject.pop("errors")
            changes.update(subject)
        if form_data_patch is not None:
            form_data = drafts.form_data_merged(application.form_data or {}, form_data_patch)
        if form_data is not None:
            cleaned, form_errors = validate_form_data(application.program.form_fields, form_data, partial=True)
            if form_errors:
                raise E.InvalidInput(E.MSG_FORM_INVALID, errors=form_errors)
            changes["form_data"] = cleaned
        changed = drafts.changed_fields(application, changes)
        for name, value in changes.items():
            setattr(application, name, value)
        event = _append_event(application, actor=actor, org_id=org_id, role=role, action="edit",
                              from_status=application.status, comment=drafts.changed_fields_comment(changed))
        _save(application)
        event.save()
    return application


def _action_label(action: str) -> str:
    return ACTIONS[action].label if action in ACTIONS else action


# ---------------------------------------------------------------------------------------- the chain


def _snapshot(application: Application, current_attachments: list[Attachment]) -> None:
    attachments = {}
    for att in current_attachments:
        attachments.setdefault(att.kind, []).append(
            {"name": att.original_name, "sha256": att.sha256, "size": att.size}
        )
    Revision.objects.create(
        application=application, number=application.revision, subject_name=application.subject_name,
        uscc=application.uscc, division_code=application.division_id, form_data=application.form_data,
        attachments=attachments,
    )


def _check_submission(application: Application) -> None:
    program, batch = application.program, application.batch
    today = timezone.localdate()
    # The window applies to the first submission; a returned application may be resubmitted after it.
    if application.revision == 1 and not (batch.opens_on <= today <= batch.closes_on):
        raise E.RuleViolation(E.MSG_WINDOW_CLOSED, opens=batch.opens_on, closes=batch.closes_on)
    if application.uscc:
        ban = BannedSubject.objects.filter(uscc=application.uscc, barred_until__gte=today).first()
        if ban:
            raise E.RuleViolation(E.MSG_BANNED, name=application.subject_name, reason=ban.reason,
                                  until=ban.barred_until)
    cleaned, errors = validate_form_data(program.form_fields, application.form_data)
    if errors:
        raise E.InvalidInput(E.MSG_FORM_INVALID, errors=errors)
    unmet = thresholds_unmet(batch.effective_thresholds, cleaned)
    if unmet:
        rule, actual = unmet[0]
        raise E.RuleViolation(E.MSG_THRESHOLD, rule=rule["label"], required=rule["value"], actual=actual)
    current = list(application.attachments.filter(removed_in__isnull=True).order_by("kind", "pk"))
    present = {att.kind for att in current}
    missing = [kind["label"] for kind in program.attachment_kinds if kind["code"] not in present]
    if missing:
        raise E.RuleViolation(E.MSG_ATTACHMENTS_MISSING, kinds="、".join(missing))
    _snapshot(application, current)


def application_submit(*, actor: Actor, application_id: int, comment: str = "") -> Application:
    return _transition(actor=actor, application_id=application_id, action="submit", method="submit",
                       comment=comment, checks=_check_submission)


def application_withdraw(*, actor: Actor, application_id: int, comment: str = "") -> Application:
    return _transition(actor=actor, application_id=application_id, action="withdraw", method="withdraw",
                       comment=comment)


def application_sign_off(*, actor: Actor, application_id: int, comment: str = "") -> Application:
    return _transition(actor=actor, application_id=application_id, action="sign_off", method="sign_off",
                       comment=comment, decision="同意")


def application_return(*, actor: Actor, application_id: int, comment: str) -> Application:
    """Back to the applicant as a new revision; the submitted revision stays frozen."""
    return _transition(actor=actor, application_id=application_id, action="return",
                       method="return_for_revision", comment=comment, decision="退回修改")


def _check_quota(application: Application) -> None:
    quota = (
        BatchQuota.objects.select_for_update()
        .filter(batch_id=application.batch_id, city_id=application.city_id)
        .first()
    )
    if quota is None:
        raise E.RuleViolation(E.MSG_NO_QUOTA, city=application.city.name)
    used = Application.objects.filter(
        batch_id=application.batch_id, city_id=application.city_id,
        status__in=[s for s in (S.PROVINCE_CHECK, S.EXPERT_REVIEW, S.DECISION, S.PUBLIC_NOTICE, S.APPROVED,
                                S.CERTIFIED, S.REJECTED, S.REVOKED, S.EXPIRED)],
    ).count()
    if used >= quota.quota:
        raise E.QuotaExceeded(E.MSG_QUOTA_EXCEEDED, used=used, quota=quota.quota)


def application_recommend(*, actor: Actor, application_id: int, comment: str = "") -> Application:
    return _transition(actor=actor, application_id=application_id, action="recommend", method="recommend",
                       comment=comment, decision="推荐", checks=_check_quota)


def application_decline(*, actor: Actor, application_id: int, comment: str) -> Application:
    return _transition(actor=actor, application_id=application_id, action="decline", method="decline",
                       comment=comment, decision="不予推荐")


def application_accept(*, actor: Actor, application_id: int, comment: str = "") -> Application:
    return _transition(actor=actor, application_id=application_id, action="accept", method="accept",
                       comment=comment, decision="形式审查通过")


def _score_permission() -> Permission:
    """The guardian permission experts are granted. Read each time: a cached row would outlive a flushed
    or restored database (its id changes)."""
    return Permission.objects.get(content_type__app_label="approvals", codename="score_application")


def application_assign_experts(*, actor: Actor, application_id: int, expert_ids: list[int]) -> Application:
    """Grant each expert this application and open one scoring task per expert."""
    expert_ids = sorted(set(int(pk) for pk in expert_ids))
    if len(expert_ids) < MIN_EXPERTS:
        raise E.InvalidInput(E.MSG_EXPERTS_REQUIRED, min=MIN_EXPERTS)
    with transaction.atomic():
        application = _lock(application_id, actor)
        org_id, role = _authorize(actor, application, "assign_experts")
        if ExpertAssignment.objects.filter(application=application, revision=application.revision).exists():
            raise E.WrongState(E.MSG_EXPERTS_ASSIGNED)
        valid = set(
            Membership.objects.current()
            .filter(organization_id=application.province_id, role="expert", user_id__in=expert_ids)
            .values_list("user_id", flat=True)
        )
        invalid = [pk for pk in expert_ids if pk not in valid]
        if invalid:
            raise E.InvalidInput(E.MSG_NOT_EXPERT, user=invalid[0])
        task = _open_task(application, ("assign_experts",))
        ExpertAssignment.objects.bulk_create(
            [ExpertAssignment(application=application, expert_id=pk, revision=application.revision)
             for pk in expert_ids]
        )
        permission = _score_permission()
        ApplicationUserObjectPermission.objects.bulk_create(
            [ApplicationUserObjectPermission(content_object=application, user_id=pk, permission=permission)
             for pk in expert_ids],
            ignore_conflicts=True,
        )
        event = _append_event(application, actor=actor, org_id=org_id, role=role, action="assign_experts",
                              from_status=application.status, comment=",".join(map(str, expert_ids)))
        _save(application)
        event.save()
        application._assigned_expert_ids = expert_ids  # the fan-out opens one task each, without a re-read
        _complete_task(application, task, actor.user)
        queue_for_transition(application=application, action="assign_experts")
    return application


def application_score(*, actor: Actor, application_id: int, score, comment: str = "") -> Application:
    """An assigned expert scores; the last score closes the expert review."""
    with transaction.atomic():
        application = _lock(application_id, actor)
        # One read of this revision's assignments answers who may score and whether this is the last score;
        # visibility is looked up only for someone who is not assigned (404 or 403).
        assignments = list(ExpertAssignment.objects.filter(application=application, revision=application.revision))
        assignment = next((a for a in assignments if a.expert_id == actor.user.pk), None)
        if assignment is None and not user_can_see(actor.user, application):
            raise E.NotFound(E.MSG_NOT_FOUND)
        if application.status != S.EXPERT_REVIEW:
            raise E.WrongState(E.MSG_WRONG_STATE, status=application.get_status_display(),
                               action=pgettext_lazy("action", "评分"))
        if assignment is None:
            raise E.NotAllowed(E.MSG_NOT_ALLOWED, action=pgettext_lazy("action", "评分"))
        if assignment.scored_at is not None:
            raise E.WrongState(E.MSG_ALREADY_SCORED)
        try:
            value = Decimal(str(score).strip())
        except InvalidOperation:
            raise E.InvalidInput(E.MSG_SCORE_RANGE, errors={"score": str(E.MSG_SCORE_RANGE)}) from None
        if not value.is_finite() or not (Decimal(0) <= value <= Decimal(100)):
            raise E.InvalidInput(E.MSG_SCORE_RANGE, errors={"score": str(E.MSG_SCORE_RANGE)})
        task = _open_task(application, ("score",), owner_id=actor.user.pk)
        assignment.score, assignment.comment, assignment.scored_at = value, comment, timezone.now()
        assignment.save(update_fields=["score", "comment", "scored_at"])
        from_status = application.status
        remaining = any(a.scored_at is None for a in assignments if a is not assignment)
        if not remaining:
            application.close_expert_review()
        event = _append_event(application, actor=actor, org_id=application.province_id, role="expert",
                              action="score", from_status=from_status, comment=f"{value} {comment}".strip())
        _save(application)
        event.save()
        _complete_task(application, task, actor.user)
        queue_for_transition(application=application, action="score")
    return application


def application_decide(*, actor: Actor, application_id: int, approve: bool, comment: str) -> Application:
    return _transition(
        actor=actor, application_id=application_id, action="decide",
        method="decide_approve" if approve else "decide_reject", comment=comment,
        decision="予以认定" if approve else "不予认定",
    )


def application_publish_notice(*, actor: Actor, application_id: int, starts_on: dt.date | None = None) -> Application:
    """Publish the public notice; its period of N working days is counted on the working-day calendar."""
    from workflows.workdays import add_workdays

    with transaction.atomic():
        application = _lock(application_id, actor)
        org_id, role = _authorize(actor, application, "publish_notice")
        if application.notice_starts_on is not None:
            raise E.WrongState(E.MSG_NOTICE_PUBLISHED, start=application.notice_starts_on,
                               end=application.notice_ends_on)
        task = _open_task(application, ("publish_notice",))
        start = starts_on or timezone.localdate()
        application.notice_starts_on = start
        # N working days counted from the first day of the notice.
        application.notice_ends_on = add_workdays(start - dt.timedelta(days=1), application.batch.notice_workdays)
        event = _append_event(application, actor=actor, org_id=org_id, role=role, action="publish_notice",
                              from_status=application.status,
                              comment=f"{application.notice_starts_on}~{application.notice_ends_on}")
        _save(application)
        event.save()
        _complete_task(application, task, actor.user)
    return application


def application_object(*, actor: Actor, application_id: int, comment: str, upheld: bool) -> Application:
    """Record an objection raised during the notice; an upheld one sends the case back to the decision."""
    if upheld:
        return _transition(actor=actor, application_id=application_id, action="object", method="uphold_objection",
                           comment=comment, decision="异议成立", task_nodes=("uphold_objection",),
                           checks=_check_notice_published)
    comment = (comment or "").strip()
    with transaction.atomic():
        application = _lock(application_id, actor)
        org_id, role = _authorize(actor, application, "object")
        if not comment:
            raise E.InvalidInput(E.MSG_OPINION_REQUIRED, errors={"comment": str(E.MSG_OPINION_REQUIRED)})
        _check_notice_published(application)
        event = _append_event(application, actor=actor, org_id=org_id, role=role, action="object",
                              from_status=application.status, comment=comment)
        _save(application)
        event.save()
        Opinion.objects.create(application_id=application.pk, revision=application.revision, stage=S.PUBLIC_NOTICE,
                               decision="异议不成立", text=comment, person=actor.user, role=role,
                               organization_id=org_id)
    return application


def _queue_certificate(application: Application) -> None:
    """The certificate is issued by a worker: an outbox effect in the approval's transaction."""
    effect_add(kind="certificate_issue", key=application.pk, args=[application.pk])


def _check_notice_published(application: Application) -> None:
    if application.notice_starts_on is None:
        raise E.WrongState(E.MSG_NOTICE_NOT_PUBLISHED)


def _check_notice_over(application: Application) -> None:
    _check_notice_published(application)
    if application.notice_ends_on >= timezone.localdate():
        raise E.RuleViolation(E.MSG_NOTICE_NOT_OVER, end=application.notice_ends_on)


def application_approve(*, actor: Actor, application_id: int, comment: str = "") -> Application:
    """After the notice period with no upheld objection: the sweeper does this with the system actor when
    the flow's timer is due; the province leader may do it too. Either way the timer task is fired here,
    and the certificate's outbox effect written, in the same transaction."""
    return _transition(actor=actor, application_id=application_id, action="approve", method="approve",
                       comment=comment, checks=_check_notice_over, task_nodes=("wait_notice",),
                       effects=_queue_certificate)


def application_issue_certificate(*, actor: Actor, application_id: int):
    """Reserve the certificate (number from the gap-free sequence) and complete the flow's issue step.
    Safe to run twice: an application that is already certified returns its certificate."""
    from printing.services import certificate_reserve

    with transaction.atomic():
        application = _lock(application_id, actor)
        # Only the system's retried task gets the issued certificate back; a person is checked (scope, state).
        if application.status == S.CERTIFIED and actor.user is None:
            return application.certificate
        org_id, role = _authorize(actor, application, "issue_certificate")
        certificate = certificate_reserve(application=application)
        from_status = application.status
        application.certify()
        event = _append_event(application, actor=actor, org_id=org_id, role=role, action="issue_certificate",
                              from_status=from_status, comment=certificate.number)
        _save(application)
        event.save()
        if application.process_id:
            from workflows.flows import ApplicationFlow

            task = ApplicationFlow.task_class._default_manager.filter(
                process_id=application.process_id, flow_task=ApplicationFlow.issue_certificate,
                status=STATUS.NEW,
            ).first()
            if task is not None:
                task.process = application.process
                activation = task.flow_task.activation_class(task)
                activation.run(None)
                activation.execute()
        queue_for_transition(application=application, action="issue_certificate")
        # The PDF is rendered by a worker after the commit (printing.tasks.render_certificate_task).
        effect_add(kind="certificate_render", key=certificate.pk, args=[certificate.pk])
    return certificate


def application_revoke(*, actor: Actor, application_id: int, comment: str) -> Application:
    def revoke_certificate(application):
        from printing.services import certificate_set_status

        certificate_set_status(application=application, status="revoked")

    return _transition(actor=actor, application_id=application_id, action="revoke", method="revoke",
                       comment=comment, decision="撤销", checks=revoke_certificate)


def application_expire(*, application_id: int) -> Application:
    def expire_certificate(application):
        from printing.services import certificate_set_status

        cert = getattr(application, "certificate", None)
        if cert is None or cert.valid_until >= timezone.localdate():
            raise E.WrongState(E.MSG_WRONG_STATE, status=application.get_status_display(), action=pgettext_lazy("action", "到期"))
        certificate_set_status(application=application, status="expired")

    return _transition(actor=SYSTEM_ACTOR, application_id=application_id, action="expire", method="expire",
                       checks=expire_certificate)


# -------------------------------------------------------------------------------------- attachments


def attachment_add(*, actor: Actor, application_id: int, kind: str, name: str, content: bytes) -> Attachment:
    """Store an attachment of a draft: type by content, size limit, SHA-256, generated name outside media."""
    from .attachments import store_file

    with transaction.atomic():
        application = _lock(application_id, actor)
        org_id, role = _authorize(actor, application, "edit")
        kinds = {k["code"] for k in application.program.attachment_kinds}
        if kind not in kinds:
            raise E.InvalidInput(E.MSG_ATTACHMENT_KIND, kind=kind, errors={"kind": str(E.MSG_ATTACHMENT_KIND % {"kind": kind})})
        if len(content) > ATTACHMENT_MAX_BYTES:
            raise E.InvalidInput(E.MSG_ATTACHMENT_SIZE, name=name, limit=ATTACHMENT_MAX_BYTES // (1024 * 1024))
        content_type = sniff_content_type(content)
        if content_type is None:
            raise E.InvalidInput(E.MSG_ATTACHMENT_TYPE, name=name)
        digest = hashlib.sha256(content).hexdigest()
        attachment = Attachment(
            application=application, revision=application.revision, kind=kind, original_name=name[:255],
            content_type=content_type, size=len(content), sha256=digest, storage_key=secrets.token_hex(16),
            uploaded_by=actor.user,
        )
        path = store_file(attachment, content)
        try:
            attachment.save()
        except IntegrityError:
            path.unlink(missing_ok=True)
            raise
        event = _append_event(application, actor=actor, org_id=org_id, role=role, action="attach",
                              from_status=application.status, comment=f"{kind}:{name}:{digest}")
        _save(application)
        event.save()
    return attachment


def attachment_remove(*, actor: Actor, attachment_id: int) -> None:
    attachment = Attachment.objects.filter(pk=attachment_id).first()
    if attachment is None:
        raise E.NotFound(E.MSG_NOT_FOUND)
    with transaction.atomic():
        application = _lock(attachment.application_id, actor)
        org_id, role = _authorize(actor, application, "edit")
        Attachment.objects.filter(pk=attachment.pk).update(removed_in=application.revision)
        event = _append_event(application, actor=actor, org_id=org_id, role=role, action="detach",
                              from_status=application.status, comment=f"{attachment.kind}:{attachment.original_name}")
        _save(application)
        event.save()

