"""The one shape of every action on a designation's cases: its annual reports (designations.reports), its
rectifications (designations.consequences) and its renewals (designations.renewals).

An action runs in one transaction: read the actor's roles afresh, lock the case, ask the access layer
(approvals.access.report_action_check, the table approvals.stages.REPORT_ACTIONS), let the service check its
input and set its fields, move the case's FSM, save, and append the event to the designation's application
chain (approvals.services.application_record_event), whose `notify_event` effect tells whoever acts next.
A refused action raises an ApprovalError and leaves everything as it was.

The rules the cases share live here once:
- a case's FSM transition is named as its action (approvals.stages.ReportAction), and a sign-off's
  transition past the city's review adds `_to_province`;
- a sign-off of a city's own designation goes to the province (there is no city review) and clears the
  last return's reason; a return needs its reason, which the case keeps and the event says;
- reasons and comments are stripped and within the length limit (`clean_reason`);
- a form (the annual report's, the renewal's) is data per program (ProgramFollowUp): a draft is saved as
  filled so far, a submission checks every required field.
"""
from collections.abc import Callable
from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone

from approvals import access
from approvals import errors as E
from approvals import services as svc
from approvals.formspec import validate_form_data
from approvals.services import Actor
from approvals.stages import COMMENT_MAX_LENGTH, REPORT_ACTIONS

from .models import ProgramFollowUp

SYSTEM = "system"


@dataclass(frozen=True)
class CaseKind:
    model: type
    # The event's text before the action's label, e.g. "2025年度工作报告".
    title: Callable[[object], str]
    # The program's form of this kind of case (a ProgramFollowUp field) and the message when it is not valid.
    form: str = ""
    invalid: str = ""


def clean_reason(reason, *, required: bool) -> str:
    """A reason or comment: stripped, required where the action says so, within the length limit."""
    reason = (reason or "").strip()
    if required and not reason:
        raise E.InvalidInput(E.MSG_REASON_REQUIRED, errors={"reason": str(E.MSG_REASON_REQUIRED)})
    if len(reason) > COMMENT_MAX_LENGTH:
        raise E.InvalidInput(E.MSG_COMMENT_LENGTH, max=COMMENT_MAX_LENGTH,
                             errors={"reason": str(E.MSG_COMMENT_LENGTH % {"max": COMMENT_MAX_LENGTH})})
    return reason


def follow_up(program_id: int, field: str):
    """One of the program's after-designation settings (ProgramFollowUp): a form's fields (a list) or the
    rules (a dict); empty when the program has none."""
    empty = ProgramFollowUp._meta.get_field(field).get_default()
    row = ProgramFollowUp.objects.filter(program_id=program_id).only(field).first()
    return type(empty)(getattr(row, field)) if row is not None else empty


def system_event(application_id: int, action: str, comment: str) -> None:
    """An event the system appends without an actor (reminders, consequences)."""
    svc.application_record_event(actor=svc.SYSTEM_ACTOR, application_id=application_id, action=action,
                                 organization_id=None, role=SYSTEM, comment=comment)


def lock(kind: CaseKind, pk: int):
    """The case, locked (its designation joined, not locked), or NotFound."""
    case = (kind.model.objects.select_for_update(of=("self",)).select_related("designation")
            .filter(pk=pk).first())
    if case is None:
        raise E.NotFound(getattr(kind.model, "not_found_message", E.MSG_REPORT_NOT_FOUND))
    return case


def act(kind: CaseKind, *, actor: Actor, pk: int, action: str, prepare, comment: str = "", suffix=None,
        after=None):
    """One action: lock, authorize, `prepare(case)` (checks input, sets fields, returns the FSM transition
    to call), transition, save, record the event (`suffix(case)` adds to its text what the action made),
    then `after(case)` (what follows by the program's rules) in the same transaction."""
    with transaction.atomic():
        principal = actor.principal(fresh=True)
        case = lock(kind, pk)
        grant = access.report_action_check(principal, case, action)
        move = prepare(case)
        move()
        case.save()
        text = f"{kind.title(case)}：{REPORT_ACTIONS[action].label}" + (f"。{comment}" if comment else "")
        if suffix is not None:
            text += suffix(case)
        svc.application_record_event(actor=actor, application_id=case.designation.application_id,
                                     action=action, organization_id=grant.organization_id, role=grant.role,
                                     comment=text, on_behalf_of_id=grant.on_behalf_of_id)
        if after is not None:
            after(case)
    return case


def form_checked(kind: CaseKind, case, data: dict | None, *, partial: bool = False) -> dict:
    """The case's form data (`data`, or as saved when None) checked against its program's form."""
    fields = follow_up(case.designation.program_id, kind.form)
    cleaned, errors = validate_form_data(fields, (case.form_data if data is None else data) or {},
                                         partial=partial)
    if errors:
        raise E.InvalidInput(kind.invalid, errors=errors)
    return cleaned


def draft_save(kind: CaseKind, *, actor: Actor, pk: int, action: str, data: dict):
    """Save a draft as filled so far, by whoever may do `action` (its submission); required fields are
    checked on submission."""
    with transaction.atomic():
        principal = actor.principal(fresh=True)
        case = lock(kind, pk)
        access.report_action_check(principal, case, action)
        case.form_data = form_checked(kind, case, data or {}, partial=True)
        case.save(update_fields=["form_data", "updated_at"])
    return case


def submit(kind: CaseKind, *, actor: Actor, pk: int, action: str, data: dict | None, also=None, suffix=None):
    """The applicant's clerk submits the form (`data`, as filled now, or as saved) for the leader's
    sign-off; `also(case)` sets what this kind records besides."""
    def prepare(case):
        case.form_data = form_checked(kind, case, data)
        case.submitted_at = timezone.now()
        if also is not None:
            also(case)
        return getattr(case, action)

    return act(kind, actor=actor, pk=pk, action=action, prepare=prepare, suffix=suffix)


def sign_off(kind: CaseKind, *, actor: Actor, pk: int, action: str):
    """The applicant's leader signs it off: to the city, or to the province for a city's own designation."""
    def prepare(case):
        case.return_reason = ""
        own_city = case.designation.applicant_id == case.designation.city_id
        return getattr(case, f"{action}_to_province" if own_city else action)

    return act(kind, actor=actor, pk=pk, action=action, prepare=prepare)


def send_back(kind: CaseKind, *, actor: Actor, pk: int, action: str, reason: str):
    """A return for revision (to the applicant's clerk), with its reason, which the case keeps."""
    reason = clean_reason(reason, required=True)

    def prepare(case):
        case.return_reason = reason
        return getattr(case, action)

    return act(kind, actor=actor, pk=pk, action=action, prepare=prepare, comment=f"退回理由：{reason}")


def accept(kind: CaseKind, *, actor: Actor, pk: int, action: str, comment: str = ""):
    """An acceptance (the city's review), with an optional comment."""
    comment = clean_reason(comment, required=False)
    return act(kind, actor=actor, pk=pk, action=action, prepare=lambda case: getattr(case, action),
               comment=comment)
