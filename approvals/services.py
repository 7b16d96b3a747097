"""Every write to an application. Each action runs in one transaction: lock the row, check state, role and
organization scope, transition, save, append the audit event, move the viewflow task, and queue background
work on commit. A refused action raises an ApprovalError and leaves everything as it was."""
import datetime as dt
import hashlib
import secrets
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from django.conf import settings
from django.contrib.auth.models import Permission
from django.db import IntegrityError, transaction
from django.db.models import Exists, OuterRef, Subquery
from django.utils import timezone
from django_fsm import ConcurrentTransition, can_proceed
from stdnum import exceptions as stdnum_exceptions
from stdnum.cn import uscc as uscc_validator
from viewflow.workflow.status import STATUS

from designations.services import designation_expire, designation_record, designation_revoke
from orgs.access import principal_of
from orgs.compiled import CompiledQuery
from orgs.models import Division, Level, Organization, Role
from orgs.selectors import users_with_role
from printing.services import certificate_reserve, certificate_set_status
from workflows.flows import ApplicationFlow
from workflows.notifications import queue_for_transition
from workflows.workdays import add_workdays, is_workday, workdays_between

from . import access, drafts
from . import errors as E
from .attachments import sniff_content_type, store_file
from .formspec import printable_problem, thresholds_unmet, validate_form_data
from .models import (
    RECOMMENDED_STATUSES,
    TERMINAL_STATUSES,
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
from .outbox import effect_add, effects_batched
from .stages import (
    ACTIONS,
    COMMENT_MAX_LENGTH,
    MIN_EXPERTS,
    NOTICE_START_MAX_DAYS_AHEAD,
    SCORE_MAX,
    SCORE_MIN,
    SCORE_PLACES,
    STAGES,
    Action,
)

S = Status

ATTACHMENT_MAX_BYTES = 20 * 1024 * 1024


@dataclass(frozen=True)
class Actor:
    """Who acts: a user (None for the system itself) and the client address for the audit trail."""

    user: object = None
    ip: str | None = None

    def principal(self, *, fresh: bool = False):
        return None if self.user is None else principal_of(self.user, fresh=fresh)


SYSTEM_ACTOR = Actor()


def _authorize(actor: Actor, application: Application, action: str) -> tuple[int | None, str]:
    """Ask the access layer (404, then 409 for the state, then 403 for the role); return (org, role).
    A delegated action's delegator is kept on the locked row for _append_event, which every action calls
    on it after authorizing."""
    grant = access.action_check(actor.principal(), application, action)
    if grant.on_behalf_of_id is not None:
        application._on_behalf_of_id = grant.on_behalf_of_id
    return grant.organization_id, grant.role


def _lock_query(pk):
    return (
        Application.objects.select_for_update(of=("self",))
        .select_related("program", "batch", "process", "division")
        .filter(pk=pk)
    )


# Every action runs these two statements; their SQL is compiled once per process (orgs.compiled).
_LOCK = CompiledQuery(_lock_query, pk=-987_654_322)


def _lock(application_id: int, actor: Actor | None = None) -> Application:
    """Lock the application row for this transaction (FOR UPDATE on PostgreSQL; SQLite's IMMEDIATE
    transaction already holds the write lock). The actor's memberships are read afresh for each action,
    so a role taken away since the user object was loaded no longer counts."""
    if actor is not None and actor.user is not None:
        actor.principal(fresh=True)
    try:
        (application,) = _LOCK.objects(pk=int(application_id))
    except (ValueError, TypeError):
        raise E.NotFound(E.MSG_NOT_FOUND) from None
    # The batch's program is the application's: share the loaded row instead of reading it again.
    application.batch.program = application.program
    _remember_loaded(application)
    return application


# --------------------------------------------------------------------------------------------- audit


def _append_event(
    application, *, actor, org_id, role, action, from_status, comment="", on_behalf_of_id=None, at=None
) -> AuditEvent:
    """Build the next link of the application's chain; the caller saves the application, then the event.
    `on_behalf_of` (the delegator) defaults to the one _authorize found for a delegated action."""
    event = AuditEvent(
        application_id=application.pk,
        seq=application.audit_seq + 1,
        actor=actor.user,
        on_behalf_of_id=on_behalf_of_id or getattr(application, "_on_behalf_of_id", None),
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


def _save(application: Application, *, unique: bool = False) -> None:
    loaded = getattr(application, "_loaded", None)
    fields = None
    if loaded is not None:
        fields = ["updated_at"] + [
            name for name, value in loaded.items()
            if (id(application.form_data) if name == "form_data" else application.__dict__.get(name)) != value
        ]
    try:
        if unique:
            _save_unique(application, update_fields=fields)
        else:
            application.save(update_fields=fields)
        if loaded is not None:
            _remember_loaded(application)
    except ConcurrentTransition:
        raise E.Conflict(E.MSG_CONFLICT) from None


# ---------------------------------------------------------------------------------------------- flow


def _open_task_query(*, process_id, owner_id, shape):
    nodes, with_owner = shape
    qs = ApplicationFlow.task_class._default_manager.filter(
        process_id=process_id, flow_task__in=[getattr(ApplicationFlow, name) for name in nodes],
        status__in=[STATUS.NEW, STATUS.ASSIGNED, STATUS.SCHEDULED],
    )
    if with_owner:
        qs = qs.filter(owner_id=owner_id)
    return qs.order_by("pk")[:1]


_OPEN_TASK = CompiledQuery(_open_task_query, optional=("owner_id",), process_id=-987_654_323, owner_id=-987_654_324)


def _open_task(application: Application, node_names: tuple, *, owner_id=None):
    found = _OPEN_TASK.objects(
        shape=(tuple(node_names), owner_id is not None), process_id=application.process_id, owner_id=owner_id
    )
    if not found:
        raise E.Conflict(E.MSG_CONFLICT)
    task = found[0]
    task.process = application.process
    return task


def _complete_task(application: Application, task, user) -> None:
    """Assign (if pooled) and execute a human task; the node then routes on the new status. A scheduled
    timer (the notice period) is fired now."""
    activation = task.flow_task.activation_class(task)
    if task.status == STATUS.SCHEDULED:
        # The timer's start (viewflow's own UPDATE) and its completion are written by one UPDATE.
        task.status, task.started = STATUS.STARTED, timezone.now()
        activation.execute()
        return
    if task.status == STATUS.NEW:
        task.owner = user
        task.assigned = timezone.now()
        task.status = STATUS.ASSIGNED
    activation.start(None)
    activation.execute()


def _task_nodes(spec, status: str) -> tuple:
    """The flow node whose task an action completes: its own, or the human task of the stage it leaves."""
    if spec.node:
        return (spec.node,)
    stage = STAGES.get(status)
    return (stage.node,) if stage and stage.node else ()


# ------------------------------------------------------------------------------------ the transition


def _check_printable_comment(comment: str) -> None:
    """Opinions and expert comments are printed on the 申报书: refuse a character that would be a box."""
    problem = printable_problem(comment)
    if problem:
        raise E.InvalidInput(problem, errors={"comment": problem})


def _clean_comment(spec, comment) -> str:
    comment = (comment or "").strip()
    if spec.opinion_required and not comment:
        raise E.InvalidInput(E.MSG_OPINION_REQUIRED, errors={"comment": str(E.MSG_OPINION_REQUIRED)})
    if len(comment) > COMMENT_MAX_LENGTH:
        raise E.InvalidInput(E.MSG_COMMENT_LENGTH, max=COMMENT_MAX_LENGTH,
                             errors={"comment": str(E.MSG_COMMENT_LENGTH % {"max": COMMENT_MAX_LENGTH})})
    _check_printable_comment(comment)
    return comment


def _transition(
    *, actor: Actor, application_id: int, action: str, comment: str = "", params: dict | None = None,
    checks=None, completes_task: bool = True, effects=None,
) -> Application:
    """Run one state change in one transaction (the pattern every action below follows): the FSM method of
    the action's name, its opinion and task from the stage table."""
    spec = ACTIONS[action]
    params = params or {}
    with transaction.atomic(), effects_batched():
        application = _lock(application_id, actor)
        org_id, role = _authorize(actor, application, action)
        comment = _clean_comment(spec, comment)
        if checks:
            checks(application)
        from_status, from_revision = application.status, application.revision
        nodes = _task_nodes(spec, from_status) if completes_task else ()
        task = _open_task(application, nodes) if nodes and application.process_id else None
        transition = getattr(application, Action(action).method)
        if not can_proceed(transition):
            raise E.WrongState(E.MSG_WRONG_STATE, status=application.get_status_display(), action=spec.label)
        transition(**params)
        event = _append_event(
            application, actor=actor, org_id=org_id, role=role, action=action, from_status=from_status,
            comment=comment,
        )
        _save(application)
        event.save()
        decision = spec.decision_for(**params)
        if decision and actor.user is not None:
            Opinion.objects.create(
                # The opinion is on the revision that was examined (a return starts the next one).
                application_id=application.pk, revision=from_revision, stage=from_status,
                decision=decision, text=comment, person=actor.user, role=role, organization_id=org_id,
            )
        if task is not None:
            _complete_task(application, task, actor.user)
        if spec.notifies and application.status != from_status:
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
    elif problem := printable_problem(subject_name):
        errors["subject_name"] = problem
    uscc = (uscc or "").strip().upper()
    if uscc:
        try:
            uscc = uscc_validator.validate(uscc)
        except stdnum_exceptions.ValidationError:
            errors["uscc"] = str(E.MSG_USCC_INVALID % {"value": uscc})
    elif program.requires_uscc:
        errors["uscc"] = str(E.MSG_USCC_REQUIRED)
    division_code = (division_code or "").strip()
    # A GB/T 2260 division within the applicant's own; functional areas are not divisions of the standard.
    if not Division.objects.subject_choices(applicant=applicant).filter(code=division_code).exists():
        errors["division_code"] = str(E.MSG_DIVISION_OUTSIDE % {"code": division_code, "org": applicant.name})
    return {"subject_name": subject_name, "uscc": uscc, "division_id": division_code, "errors": errors}


def _live_duplicate(application: Application) -> Application | None:
    """Another live application of the same batch and subject (by credit code, else by division)."""
    qs = Application.objects.filter(batch_id=application.batch_id).exclude(status__in=TERMINAL_STATUSES)
    if application.pk:
        qs = qs.exclude(pk=application.pk)
    qs = qs.filter(uscc=application.uscc) if application.uscc else qs.filter(uscc="", division_id=application.division_id)
    return qs.order_by("pk").first()


def _check_duplicate(application: Application) -> None:
    first = _live_duplicate(application)
    if first is None:
        return
    params = {"name": first.subject_name, "id": first.pk, "status": first.get_status_display()}
    if application.uscc:
        message = E.MSG_DUPLICATE_USCC
        params["uscc"] = application.uscc
        field = "uscc"
    else:
        message = E.MSG_DUPLICATE_DIVISION
        params["division"] = application.division_id
        field = "division_code"
    raise E.RuleViolation(message, errors={field: str(message % params)}, **params)


def _save_unique(application: Application, **kwargs) -> None:
    """Save; a concurrent request that made the same subject live first wins (the database's partial unique
    constraint), and this one is told which application that is."""
    try:
        with transaction.atomic():
            application.save(**kwargs)
    except IntegrityError:
        _check_duplicate(application)
        raise


def application_create(
    *, actor: Actor, batch: Batch, applicant: Organization, subject_name: str, uscc: str = "",
    division_code: str, form_data: dict | None = None,
) -> Application:
    """A clerk of the applicant organization starts a draft; the viewflow process starts with it."""
    program = batch.program
    if actor.user is None or not access.may_open_batch_form(actor.principal(fresh=True), applicant):
        raise E.NotAllowed(E.MSG_NOT_ALLOWED, action=Action.CREATE.label)
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
        _check_duplicate(application)
        _save_unique(application)
        seat = actor.principal().seat(applicant.pk, Role.CLERK)
        event = _append_event(
            application, actor=actor, org_id=applicant.pk, role=Role.CLERK, action=Action.CREATE, from_status="",
            at=now, on_behalf_of_id=seat.delegator_id,
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
    form_data_patch=None, expected_version: "int | drafts.IfMatch | None" = None,
) -> Application:
    """Save changes to a draft (partial form data is allowed until submission). `form_data` replaces the
    form data; `form_data_patch` merges into it by key (None removes a key). With `expected_version` (the
    web form and the API always send it) a draft changed since that version is refused (approvals.drafts);
    the edit event names the fields it changed."""
    with transaction.atomic():
        application = _lock(application_id, actor)
        org_id, role = _authorize(actor, application, Action.EDIT)
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
        if "uscc" in changes or "division_id" in changes:
            _check_duplicate(application)
        event = _append_event(application, actor=actor, org_id=org_id, role=role, action=Action.EDIT,
                              from_status=application.status, comment=drafts.changed_fields_comment(changed))
        _save(application, unique=True)
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
    return _transition(actor=actor, application_id=application_id, action=Action.SUBMIT, comment=comment,
                       checks=_check_submission)


def application_withdraw(*, actor: Actor, application_id: int, comment: str = "") -> Application:
    return _transition(actor=actor, application_id=application_id, action=Action.WITHDRAW, comment=comment)


def application_sign_off(*, actor: Actor, application_id: int, comment: str = "") -> Application:
    return _transition(actor=actor, application_id=application_id, action=Action.SIGN_OFF, comment=comment)


def application_return(*, actor: Actor, application_id: int, comment: str) -> Application:
    """Back to the applicant as a new revision; the submitted revision stays frozen."""
    return _transition(actor=actor, application_id=application_id, action=Action.RETURN, comment=comment)


def _check_quota(application: Application) -> None:
    """Lock the city's quota row, then count its recommended applications in a statement of its own: on
    PostgreSQL a count inside the locking statement would keep that statement's snapshot, taken before the
    wait for the lock, and miss what the holder of the lock had just recommended."""
    quota = (
        BatchQuota.objects.select_for_update()
        .filter(batch_id=application.batch_id, city_id=application.city_id)
        .first()
    )
    if quota is None:
        raise E.RuleViolation(E.MSG_NO_QUOTA, city=application.city.name)
    used = Application.objects.filter(
        batch_id=application.batch_id, city_id=application.city_id, status__in=list(RECOMMENDED_STATUSES),
    ).count()
    if used >= quota.quota:
        raise E.QuotaExceeded(E.MSG_QUOTA_EXCEEDED, used=used, quota=quota.quota)


def application_recommend(*, actor: Actor, application_id: int, comment: str = "") -> Application:
    return _transition(actor=actor, application_id=application_id, action=Action.RECOMMEND, comment=comment,
                       checks=_check_quota)


def application_decline(*, actor: Actor, application_id: int, comment: str) -> Application:
    return _transition(actor=actor, application_id=application_id, action=Action.DECLINE, comment=comment)


def application_accept(*, actor: Actor, application_id: int, comment: str = "") -> Application:
    return _transition(actor=actor, application_id=application_id, action=Action.ACCEPT, comment=comment)


SCORE_PERMISSION = "score_application"  # the guardian permission experts are granted


def _clean_expert_ids(expert_ids) -> list[int]:
    try:
        ids = sorted({int(pk) for pk in expert_ids or []})
    except (TypeError, ValueError):
        raise E.InvalidInput(E.MSG_EXPERTS_REQUIRED, min=MIN_EXPERTS,
                             errors={"expert_ids": str(E.MSG_EXPERTS_REQUIRED % {"min": MIN_EXPERTS})}) from None
    if len(ids) < MIN_EXPERTS:
        raise E.InvalidInput(E.MSG_EXPERTS_REQUIRED, min=MIN_EXPERTS,
                             errors={"expert_ids": str(E.MSG_EXPERTS_REQUIRED % {"min": MIN_EXPERTS})})
    return ids


def experts_assignable(*, province_id: int):
    """Users who may be assigned to score in a province today: its experts whose membership is in force."""
    return users_with_role(organization=Organization(pk=province_id), role=Role.EXPERT)


def application_assign_experts(*, actor: Actor, application_id: int, expert_ids: list[int]) -> Application:
    """Grant each expert this application and open one scoring task per expert."""
    with transaction.atomic(), effects_batched():
        application = _lock(application_id, actor)
        org_id, role = _authorize(actor, application, Action.ASSIGN_EXPERTS)
        expert_ids = _clean_expert_ids(expert_ids)
        # One statement: which of them may be assigned, whether this revision has experts already, and the
        # guardian permission to grant (read each time: a cached row would outlive a restored database).
        rows = list(
            experts_assignable(province_id=application.province_id).filter(pk__in=expert_ids)
            .annotate(
                assigned=Exists(ExpertAssignment.objects.filter(application_id=application.pk,
                                                                revision=application.revision)),
                permission_id=Subquery(Permission.objects.filter(
                    content_type__app_label="approvals", codename=SCORE_PERMISSION).values("pk")[:1]),
            )
            .values_list("pk", "assigned", "permission_id")
        )
        already = rows[0][1] if rows else ExpertAssignment.objects.filter(
            application=application, revision=application.revision).exists()
        if already:
            raise E.WrongState(E.MSG_EXPERTS_ASSIGNED)
        valid = {pk for pk, _assigned, _permission in rows}
        invalid = [pk for pk in expert_ids if pk not in valid]
        if invalid:
            raise E.InvalidInput(E.MSG_NOT_EXPERT, user=invalid[0],
                                 errors={"expert_ids": str(E.MSG_NOT_EXPERT % {"user": invalid[0]})})
        task = _open_task(application, (STAGES[S.EXPERT_REVIEW].node,))
        ExpertAssignment.objects.bulk_create(
            [ExpertAssignment(application=application, expert_id=pk, revision=application.revision)
             for pk in expert_ids]
        )
        permission_id = rows[0][2]
        ApplicationUserObjectPermission.objects.bulk_create(
            [ApplicationUserObjectPermission(content_object=application, user_id=pk, permission_id=permission_id)
             for pk in expert_ids],
            ignore_conflicts=True,
        )
        event = _append_event(application, actor=actor, org_id=org_id, role=role, action=Action.ASSIGN_EXPERTS,
                              from_status=application.status, comment=",".join(map(str, expert_ids)))
        _save(application)
        event.save()
        application._assigned_expert_ids = expert_ids  # the fan-out opens one task each, without a re-read
        _complete_task(application, task, actor.user)
        queue_for_transition(application=application, action=Action.ASSIGN_EXPERTS)
    return application


def clean_score(score) -> Decimal:
    """0 to 100 with at most one decimal place; anything else is refused, never rounded (the web form and
    the API both end here)."""
    error = E.InvalidInput(E.MSG_SCORE_RANGE, errors={"score": str(E.MSG_SCORE_RANGE)})
    if isinstance(score, bool) or score is None:
        raise error
    try:
        value = Decimal(str(score).strip())
    except InvalidOperation:
        raise error from None
    if not value.is_finite() or not (SCORE_MIN <= value <= SCORE_MAX) or value.as_tuple().exponent < -SCORE_PLACES:
        raise error
    return value


def application_score(*, actor: Actor, application_id: int, score, comment: str = "") -> Application:
    """An assigned expert whose expert membership in the province is in force scores; the last score
    closes the expert review."""
    spec = ACTIONS[Action.SCORE]
    with transaction.atomic(), effects_batched():
        application = _lock(application_id, actor)
        org_id, role = _authorize(actor, application, Action.SCORE)
        # Each assignment with whether its expert may still score (membership in force), in one statement.
        assignments = list(
            ExpertAssignment.objects.filter(application=application, revision=application.revision)
            .annotate(in_force=Exists(experts_assignable(province_id=application.province_id)
                                      .filter(pk=OuterRef("expert_id"))))
        )
        assignment = next((a for a in assignments if a.expert_id == actor.user.pk), None)
        if assignment is None:
            raise E.NotAllowed(E.MSG_NOT_ALLOWED, action=spec.label)
        if assignment.scored_at is not None:
            raise E.WrongState(E.MSG_ALREADY_SCORED)
        value = clean_score(score)
        comment = _clean_comment(spec, comment)
        task = _open_task(application, (spec.node,), owner_id=actor.user.pk)
        assignment.score, assignment.comment, assignment.scored_at = value, comment, timezone.now()
        assignment.save(update_fields=["score", "comment", "scored_at"])
        from_status = application.status
        # Only assignments whose expert may still score count as outstanding: an expert whose membership
        # ended can no longer score, and the others' scores close the review without them.
        remaining = any(a.scored_at is None and a.in_force for a in assignments if a is not assignment)
        if not remaining:
            application.close_expert_review()
        event = _append_event(application, actor=actor, org_id=org_id, role=role,
                              action=Action.SCORE, from_status=from_status, comment=f"{value} {comment}".strip())
        _save(application)
        event.save()
        _complete_task(application, task, actor.user)
        if not remaining and any(a.scored_at is None for a in assignments if a is not assignment):
            _cancel_outstanding_scores(application)  # the tasks of experts whose membership ended
        queue_for_transition(application=application, action=Action.SCORE)
    return application


def _cancel_outstanding_scores(application: Application) -> None:
    """Scoring tasks left open by experts whose membership ended are cancelled when the review closes."""
    open_tasks = ApplicationFlow.task_class._default_manager.filter(
        process_id=application.process_id, flow_task=getattr(ApplicationFlow, ACTIONS[Action.SCORE].node),
        status__in=[STATUS.NEW, STATUS.ASSIGNED],
    )
    open_tasks.update(status=STATUS.CANCELED, finished=timezone.now())


def application_decide(*, actor: Actor, application_id: int, approve: bool, comment: str) -> Application:
    return _transition(actor=actor, application_id=application_id, action=Action.DECIDE, comment=comment,
                       params={"approve": bool(approve)})


def notice_start_choices(*, today: dt.date | None = None) -> list[dt.date]:
    """The days a notice may start on: working days from today to NOTICE_START_MAX_DAYS_AHEAD ahead."""
    today = today or timezone.localdate()
    ahead = getattr(settings, "NOTICE_START_MAX_DAYS_AHEAD", NOTICE_START_MAX_DAYS_AHEAD)
    return [day for day in (today + dt.timedelta(days=n) for n in range(ahead + 1)) if is_workday(day)]


def _clean_notice_start(starts_on) -> dt.date:
    choices = notice_start_choices()
    start = choices[0] if starts_on in (None, "") and choices else starts_on
    if isinstance(start, str):
        try:
            start = dt.date.fromisoformat(start)
        except ValueError:
            start = None
    if not isinstance(start, dt.date) or isinstance(start, dt.datetime) or start not in choices:
        first, last = (choices[0], choices[-1]) if choices else (timezone.localdate(), timezone.localdate())
        message = E.MSG_NOTICE_START % {"first": first, "last": last}
        raise E.InvalidInput(E.MSG_NOTICE_START, first=first, last=last, errors={"starts_on": str(message)})
    return start


def application_publish_notice(*, actor: Actor, application_id: int, starts_on: dt.date | None = None) -> Application:
    """Publish the public notice on a working day from today to a few weeks ahead; its period of N working
    days is counted on the working-day calendar from that day."""
    with transaction.atomic(), effects_batched():
        application = _lock(application_id, actor)
        org_id, role = _authorize(actor, application, Action.PUBLISH_NOTICE)
        if application.notice_starts_on is not None:
            raise E.WrongState(E.MSG_NOTICE_PUBLISHED, start=application.notice_starts_on,
                               end=application.notice_ends_on)
        start = _clean_notice_start(starts_on)
        task = _open_task(application, (STAGES[S.PUBLIC_NOTICE].node,))
        application.notice_starts_on = start
        # N working days counted from the first day of the notice.
        application.notice_ends_on = add_workdays(start - dt.timedelta(days=1), application.batch.notice_workdays)
        event = _append_event(application, actor=actor, org_id=org_id, role=role, action=Action.PUBLISH_NOTICE,
                              from_status=application.status,
                              comment=f"{application.notice_starts_on}~{application.notice_ends_on}")
        _save(application)
        event.save()
        _complete_task(application, task, actor.user)
    return application


def application_object(*, actor: Actor, application_id: int, comment: str, upheld: bool) -> Application:
    """Record an objection raised during the notice; an upheld one sends the case back to the decision."""
    return _transition(actor=actor, application_id=application_id, action=Action.OBJECT, comment=comment,
                       params={"upheld": bool(upheld)}, checks=_check_notice_published, completes_task=bool(upheld))


def _queue_certificate(application: Application) -> None:
    """The certificate is issued by a worker: an outbox effect in the approval's transaction."""
    effect_add(kind="certificate_issue", key=application.pk, args=[application.pk])


def _check_notice_published(application: Application) -> None:
    if application.notice_starts_on is None:
        raise E.WrongState(E.MSG_NOTICE_NOT_PUBLISHED)


def _check_notice_over(application: Application) -> None:
    _check_notice_published(application)
    if not application.notice_over:
        raise E.RuleViolation(E.MSG_NOTICE_NOT_OVER, end=application.notice_ends_on)


def application_approve(*, actor: Actor, application_id: int, comment: str = "") -> Application:
    """After the notice period with no upheld objection: the sweeper does this with the system actor when
    the flow's timer is due; the province leader may do it too. Either way the timer task is fired here,
    and the certificate's outbox effect written, in the same transaction."""
    return _transition(actor=actor, application_id=application_id, action=Action.APPROVE, comment=comment,
                       checks=_check_notice_over, effects=_queue_certificate)


def application_issue_certificate(*, actor: Actor, application_id: int):
    """Reserve the certificate (number from the gap-free sequence) and complete the flow's issue step.
    Safe to run twice: an application that is already certified returns its certificate."""
    with transaction.atomic(), effects_batched():
        application = _lock(application_id, actor)
        # Only the system's retried task gets the issued certificate back; a person is checked (scope, state).
        if application.status == S.CERTIFIED and actor.user is None:
            return application.certificate
        org_id, role = _authorize(actor, application, Action.ISSUE_CERTIFICATE)
        # Authorized means approved (state is checked first), and a certificate is created only with the
        # move to certified: this locked, approved application has none.
        certificate = certificate_reserve(application=application, known_new=application.status == S.APPROVED)
        # A certificate reserved just now has no designation yet: it is written without looking first.
        designation_record(application=application, certificate=certificate,
                           fresh=getattr(certificate, "reserved_now", False))
        from_status = application.status
        application.issue_certificate()
        event = _append_event(application, actor=actor, org_id=org_id, role=role, action=Action.ISSUE_CERTIFICATE,
                              from_status=from_status, comment=certificate.number)
        _save(application)
        event.save()
        if application.process_id:
            task = ApplicationFlow.task_class._default_manager.filter(
                process_id=application.process_id, flow_task=ApplicationFlow.issue_certificate,
                status=STATUS.NEW,
            ).first()
            if task is not None:
                task.process = application.process
                activation = task.flow_task.activation_class(task)
                activation.run(None)
                activation.execute()
        queue_for_transition(application=application, action=Action.ISSUE_CERTIFICATE)
        # The PDF is rendered by a worker after the commit (printing.tasks.render_certificate_task).
        effect_add(kind="certificate_render", key=certificate.pk, args=[certificate.pk])
    return certificate


def application_revoke(*, actor: Actor, application_id: int, comment: str) -> Application:
    def revoke_certificate(application):
        certificate_set_status(application=application, status="revoked")
        designation_revoke(application_id=application.pk, reason=(comment or "").strip())

    return _transition(actor=actor, application_id=application_id, action=Action.REVOKE, comment=comment,
                       checks=revoke_certificate)


def application_expire(*, application_id: int) -> Application:
    def expire_certificate(application):
        cert = getattr(application, "certificate", None)
        if cert is None or cert.valid_until >= timezone.localdate():
            raise E.WrongState(E.MSG_WRONG_STATE, status=application.get_status_display(),
                               action=Action.EXPIRE.label)
        certificate_set_status(application=application, status="expired")
        designation_expire(application_id=application.pk)

    return _transition(actor=SYSTEM_ACTOR, application_id=application_id, action=Action.EXPIRE,
                       checks=expire_certificate)


# -------------------------------------------------------------------------------------- attachments


def attachment_add(*, actor: Actor, application_id: int, kind: str, name: str, content: bytes) -> Attachment:
    """Store an attachment of a draft: type by content, size limit, SHA-256, generated name outside media."""
    with transaction.atomic():
        application = _lock(application_id, actor)
        org_id, role = _authorize(actor, application, Action.EDIT)
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
        event = _append_event(application, actor=actor, org_id=org_id, role=role, action=Action.ATTACH,
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
        org_id, role = _authorize(actor, application, Action.EDIT)
        Attachment.objects.filter(pk=attachment.pk).update(removed_in=application.revision)
        event = _append_event(application, actor=actor, org_id=org_id, role=role, action=Action.DETACH,
                              from_status=application.status, comment=f"{attachment.kind}:{attachment.original_name}")
        _save(application)
        event.save()



# ------------------------------------------------------------------------ after designation: the chain


def application_record_event(*, actor: Actor, application_id: int, action: str, organization_id: int | None,
                             role: str, comment: str = "", on_behalf_of_id: int | None = None,
                             notify: bool = True) -> AuditEvent:
    """Append an event that does not change the application's status to its audit chain (the designation
    services' annual reports and their consequences: the application's chain is the designation's history),
    in the caller's transaction; with `notify`, the event is told by a worker (the `notify_event` effect,
    workflows.notifications). The caller has authorized the action."""
    application = _lock(application_id)
    event = _append_event(application, actor=actor, org_id=organization_id, role=role, action=action,
                          from_status=application.status, comment=comment, on_behalf_of_id=on_behalf_of_id)
    _save(application)
    event.save()
    if notify:
        effect_add(kind="notify_event", key=f"{application.pk}:{application.audit_seq}",
                   args=[application.pk, application.audit_seq])
    return event
