"""The one answer to "may this person see or do this": applications, their parts (expert scores, events),
actions, batches, cities' documents and the workflow engine's own pages.

It reads a Principal (orgs.access: memberships and delegations in force, built once per request) and the
stage/action table (approvals.stages). Every entry point asks here: the REST API, the web pages, the print
views and Excel exports, the reports, notifications, viewflow's pages and the admin.

The rules:
- An application is seen by whoever holds a role other than expert, today, at the applicant organization or
  above it (own membership or a delegation in force). An expert sees what they are assigned to score, and
  only while their expert membership in the application's province is in force: when it ends the grant ends.
- An action is done by the role that owns it at the stage the application is in (approvals.stages), in the
  organization that is the applicant or its ancestor at the owner's level. After the row is locked the state
  is checked before the role: whoever could have done this action at another stage of it (a page that went
  stale, a race lost) is told 409, whoever never could is told 403, and whoever may not see it 404.
- Expert scores and comments are seen by the province's reviewers and leaders; an expert sees their own.
"""
from dataclasses import dataclass
from enum import Enum

from django.db.models import Q, QuerySet

from orgs.access import SCOPE_ROLES, Principal, organization_in_scope
from orgs.models import Level, Organization, Role

from . import errors as E
from .models import (
    APPLICANT,
    Application,
    ApplicationUserObjectPermission,
    AuditEvent,
    Batch,
    ExpertAssignment,
    Stage,
)
from .stages import ACTIONS, REPORT_ACTIONS, Action, ActionSpec

# ------------------------------------------------------------------------------------------ seeing


def _expert_provinces(principal: Principal) -> set[int]:
    return principal.organizations(Role.EXPERT, level=Level.PROVINCE, own=True)


def granted_application_ids(principal: Principal) -> list[int]:
    """Applications granted to the principal as an expert whose expert membership there is in force
    (read once per Principal: a page asks for every list it shows)."""
    provinces = _expert_provinces(principal)
    if not provinces or not principal.authenticated:
        return []
    if "granted_application_ids" not in principal.memo:
        principal.memo["granted_application_ids"] = list(
            ApplicationUserObjectPermission.objects.filter(
                user_id=principal.user_id, content_object__province_id__in=provinces
            ).values_list("content_object_id", flat=True)
        )
    return list(principal.memo["granted_application_ids"])


def application_scope_q(principal: Principal, prefix: str = "") -> Q:
    """The condition on Application (or on a model whose `prefix` leads to one, e.g. the task lists'
    "process__application__") for what the principal sees: one indexed prefix condition per scope path,
    plus the granted ids as a list (OR-ed with a subquery, PostgreSQL would stop using the index)."""
    if not principal.authenticated:
        return Q(pk__in=[])
    if principal.is_superuser:
        return Q()
    granted = granted_application_ids(principal)
    condition = Q(**{f"{prefix}pk__in": granted}) if granted else Q(pk__in=[])
    for path in sorted(principal.scope_paths()):
        condition |= Q(**{f"{prefix}applicant_path__under": path})
    return condition


def applications_visible(principal: Principal) -> QuerySet[Application]:
    return Application.objects.filter(application_scope_q(principal))


def may_see_application(principal: Principal, application: Application) -> bool:
    if not principal.authenticated:
        return False
    if principal.is_superuser or principal.sees_path(application.applicant_path):
        return True
    if application.province_id not in _expert_provinces(principal):
        return False
    return ApplicationUserObjectPermission.objects.filter(
        user_id=principal.user_id, content_object_id=application.pk
    ).exists()


# ------------------------------------------------------------------------------------------ acting


def acting_organization_id(application: Application, level: str) -> int:
    """The organization that acts at `level`: the applicant itself or its ancestor at that level."""
    if level == APPLICANT:
        return application.applicant_id
    return application.city_id if level == Level.CITY else application.province_id


@dataclass(frozen=True)
class Grant:
    """Who acts for an allowed action: the organization, the role and, for a delegated seat, the delegator."""

    organization_id: int | None
    role: str
    on_behalf_of_id: int | None = None


SYSTEM = "system"
SYSTEM_GRANT = Grant(None, SYSTEM)


def _seat_for(principal: Principal, application: Application, owner) -> Grant | None:
    role, level = owner
    org_id = acting_organization_id(application, level)
    seat = principal.seat(org_id, role)
    if seat is None:
        return None
    return Grant(org_id, role, seat.delegator_id)


def action_check(principal: Principal | None, application: Application, action: str, *, visible=None) -> Grant:
    """Raise NotFound (may not see it), WrongState (not at a stage where this action is possible for this
    person, or for anyone) or NotAllowed (sees it, never may do this); return who acts. A None principal is
    the system itself (a timer, a worker). `visible` skips the visibility query when the caller knows."""
    spec = ACTIONS[action]
    if principal is not None:
        if not (visible if visible is not None else may_see_application(principal, application)):
            raise E.NotFound(E.MSG_NOT_FOUND)
    owner = spec.owner_at(application.status)
    if principal is None:
        if owner is None:
            raise E.WrongState(E.MSG_WRONG_STATE, status=application.get_status_display(), action=spec.label)
        if not spec.system:
            raise E.NotAllowed(E.MSG_NOT_ALLOWED, action=spec.label)
        return SYSTEM_GRANT
    if not spec.persons:
        raise E.NotAllowed(E.MSG_NOT_ALLOWED, action=spec.label)
    grant = _seat_for(principal, application, owner) if owner is not None else None
    if grant is not None:
        return grant
    if owner is None or any(_seat_for(principal, application, spec.owner_at(s))
                            for s in spec.sources if _in_chain(application, s)):
        # At another stage this person could have done it: the page they acted from went stale.
        raise E.WrongState(E.MSG_WRONG_STATE, status=application.get_status_display(), action=spec.label)
    raise E.NotAllowed(E.MSG_NOT_ALLOWED, action=spec.label)


def _in_chain(application: Application, status: str) -> bool:
    """The application's program passes through `status` (a city's own application has no city review)."""
    return status not in Stage.values or status in application.program.chain


def _ready(spec: ActionSpec, application: Application, principal: Principal) -> bool:
    """Conditions besides stage and role under which a button is offered (the service checks them too)."""
    if spec.action == Action.PUBLISH_NOTICE:
        return application.notice_starts_on is None
    if spec.action == Action.OBJECT:
        return application.notice_starts_on is not None
    if spec.action == Action.APPROVE:
        return application.notice_over
    if spec.action == Action.SCORE:
        return ExpertAssignment.objects.filter(
            application=application, expert_id=principal.user_id, revision=application.revision,
            scored_at__isnull=True,
        ).exists()
    if spec.action == Action.ASSIGN_EXPERTS:
        return not ExpertAssignment.objects.filter(application=application, revision=application.revision).exists()
    return True


def actions_allowed(principal: Principal, application: Application) -> list[str]:
    """The actions this person may do on this application now (the application is known to be visible)."""
    allowed = []
    for action, spec in ACTIONS.items():
        owner = spec.owner_at(application.status)
        if owner is None or not spec.persons or _seat_for(principal, application, owner) is None:
            continue
        if _ready(spec, application, principal):
            allowed.append(action)
    return allowed


# ----------------------------------------------------------------------------------- parts of one


class ScoreView(Enum):
    ALL = "all"
    OWN = "own"
    NONE = "none"


def expert_scores_view(principal: Principal, application: Application) -> ScoreView:
    """The province's reviewers and leaders see every expert's score and comment; an expert their own;
    nobody else (the applicant and the city never see individual scores)."""
    if principal.is_superuser or any(
        principal.holds(role, organization_id=application.province_id) for role in (Role.REVIEWER, Role.LEADER)
    ):
        return ScoreView.ALL
    if principal.holds(Role.EXPERT, organization_id=application.province_id, own=True):
        return ScoreView.OWN
    return ScoreView.NONE


# Roles that act on an application's contacts: they see its phones, e-mail addresses, USCC and ID numbers
# in full (个人信息保护法, docs/security.md).
PERSONAL_DATA_ROLES = (Role.CLERK, Role.LEADER, Role.REVIEWER)


def personal_data_in_full_q(principal: Principal, prefix: str = "") -> Q:
    """The condition on Application for personal_data_in_full: the applications whose applicant, city or
    province the principal acts for in one of PERSONAL_DATA_ROLES (own or delegated); all for a superuser."""
    if principal.is_superuser:
        return Q()
    ids = sorted({s.organization_id for s in principal.seats if s.role in PERSONAL_DATA_ROLES})
    if not ids:
        return Q(pk__in=[])
    return Q(**{f"{prefix}applicant_id__in": ids}) | Q(**{f"{prefix}city_id__in": ids}) \
        | Q(**{f"{prefix}province_id__in": ids})


def application_search_q(principal: Principal, text: str) -> Q:
    """The search of the web list and the API (?q=, ?search=): the subject's name, or the USCC, but the
    USCC only of applications whose personal data the principal sees in full. Someone who sees a USCC
    masked may not find an application by typing it (or a part of it): the search would confirm what the
    mask hides."""
    text = text.strip()
    if not text:
        return Q()
    return Q(subject_name__icontains=text) | (Q(uscc__icontains=text) & personal_data_in_full_q(principal))


def personal_data_in_full(principal: Principal, application: Application) -> bool:
    """Whoever acts on the application (a clerk, leader or reviewer seat, own or delegated, at its applicant,
    city or province) and system administrators see its personal data in full; everyone else who sees it
    (auditors, administrators, experts, organizations further up) sees it masked (security.masking), on
    pages, in lists and in exports."""
    if principal.is_superuser:
        return True
    chain = {application.applicant_id, application.city_id, application.province_id}
    return any(s.organization_id in chain and s.role in PERSONAL_DATA_ROLES for s in principal.seats)


def may_see_province_copy(principal: Principal, application: Application) -> bool:
    """The province's copy of the 申报书 prints every expert's score and comment: for those who see them
    all (the province's reviewers and leaders, system administrators)."""
    return expert_scores_view(principal, application) is ScoreView.ALL


def assignments_visible(principal: Principal, application: Application) -> list[ExpertAssignment]:
    view = expert_scores_view(principal, application)
    if view is ScoreView.NONE:
        return []
    qs = application.expert_assignments.select_related("expert").order_by("revision", "pk")
    if view is ScoreView.OWN:
        qs = qs.filter(expert_id=principal.user_id)
    return list(qs)


# Events whose comment names experts or carries a score.
_EXPERT_EVENTS = frozenset({Action.SCORE, Action.ASSIGN_EXPERTS})


def events_visible(principal: Principal, application: Application, events) -> list[AuditEvent]:
    """The audit trail as this person may read it: an expert's score event shows its score, comment and
    author only to those who see that score; the assignment event names the experts only to the
    province's reviewers and leaders. The event objects are copies for display, never saved."""
    view = expert_scores_view(principal, application)
    shown = []
    for event in events:
        hide = event.action in _EXPERT_EVENTS and not (
            view is ScoreView.ALL or (view is ScoreView.OWN and event.actor_id == principal.user_id)
        )
        if hide:
            event.comment = ""
            event.actor = None
            event.actor_id = None
            event.redacted = True
        shown.append(event)
    return shown


# ------------------------------------------------------------------------------ batches and cities


def may_see_batch(principal: Principal, batch: Batch) -> bool:
    """Staff (not experts) of the batch's province, of an organization under it, or above it."""
    if principal.is_superuser:
        return True
    province_path = batch.province.path
    return any(path.startswith(province_path) or province_path.startswith(path)
               for path in principal.scope_paths())


def batch_scope_q(principal: Principal) -> Q:
    """The condition on Batch for may_see_batch: batches of a province the principal's scope lies in, or of
    one below it (a path's prefixes are its ancestors' paths)."""
    if not principal.authenticated:
        return Q(pk__in=[])
    if principal.is_superuser:
        return Q()
    condition = Q(pk__in=[])
    for path in sorted(principal.scope_paths()):
        parts = path.strip("/").split("/")
        ancestors = ["/" + "/".join(parts[:n]) + "/" for n in range(1, len(parts) + 1)]
        condition |= Q(province__path__under=path) | Q(province__path__in=ancestors)
    return condition


def may_see_quota_of(principal: Principal, city: Organization) -> bool:
    """A city's quota and how much of it is used: the city's own staff and those above it."""
    return principal.is_superuser or organization_in_scope(principal, city)


def may_see_city_documents(principal: Principal, city: Organization) -> bool:
    """A city's recommendation letter and summary table list every county's applications with their
    contacts: the city's own staff, and the reviewers and leaders above it (the province that receives
    them); never a county under it, a sibling city, an expert, or the province's other roles."""
    if principal.is_superuser:
        return True
    return any(
        (seat.organization_id == city.pk and seat.role in SCOPE_ROLES)
        or (seat.role in (Role.REVIEWER, Role.LEADER) and city.path.startswith(seat.path))
        for seat in principal.seats
    )


def may_issue_certificates(principal: Principal, batch: Batch) -> bool:
    role, level = ACTIONS[Action.ISSUE_CERTIFICATE].owner_at(ACTIONS[Action.ISSUE_CERTIFICATE].sources[0])
    assert level == Level.PROVINCE
    return principal.holds(role, organization_id=batch.province_id)


def may_open_batch_form(principal: Principal, applicant: Organization) -> bool:
    """Start an application for `applicant`: its clerk (own membership or a delegation in force)."""
    return principal.seat(applicant.pk, Role.CLERK) is not None


def clerk_organizations(principal: Principal) -> set[int]:
    return principal.organizations(Role.CLERK)


def city_reviewer_cities(principal: Principal) -> set[int]:
    return principal.organizations(Role.REVIEWER, level=Level.CITY)


def may_choose_experts(principal: Principal, application: Application) -> bool:
    return _seat_for(principal, application, ACTIONS[Action.ASSIGN_EXPERTS].owner) is not None


# --------------------------------------------------------------------------- the engine's own pages


def may_use_engine_pages(principal: Principal) -> bool:
    """viewflow's process lists, charts and details list every province's processes: system
    administrators only. People work from the approvals pages and the task lists, which are scoped."""
    return principal.is_superuser


def may_download_audit_digests(principal: Principal) -> bool:
    """The signed digests of the audit trail: a province's auditors (the audit administrator of 三员分立,
    own membership in force), and system administrators (superusers); not the 管理员 or the security
    administrator."""
    return principal.is_superuser or principal.holds(Role.AUDITOR, level=Level.PROVINCE, own=True)


# ------------------------------------------------------------------------- after designation: reports


def may_see_designation(principal: Principal, designation) -> bool:
    """A designation and its annual reports: whoever holds a role other than expert at its applicant or
    above it (the same scope as its application)."""
    return principal.authenticated and (principal.is_superuser or principal.sees_path(designation.applicant_path))


def designation_scope_q(principal: Principal, prefix: str = "") -> Q:
    """The condition on Designation (or a model whose `prefix` leads to one, or one that carries its
    designation's `applicant_path`, as AnnualReport) for what the principal sees."""
    if not principal.authenticated:
        return Q(pk__in=[])
    if principal.is_superuser:
        return Q()
    condition = Q(pk__in=[])
    for path in sorted(principal.scope_paths()):
        condition |= Q(**{f"{prefix}applicant_path__under": path})
    return condition


def may_see_evaluation_notice(principal: Principal, province: Organization) -> bool:
    """A province's 评定结果通知 of a year (published to its cities): staff (not experts) of the province, of
    an organization under it, or above it, as the batch's documents."""
    if principal.is_superuser:
        return True
    return any(path.startswith(province.path) or province.path.startswith(path) for path in principal.scope_paths())


def may_open_reporting_window(principal: Principal, province: Organization) -> bool:
    """The province's reviewers (own or delegated seat) open its annual reporting window for a year."""
    return principal.seat(province.pk, Role.REVIEWER) is not None


def report_action_check(principal: Principal | None, report, action: str) -> Grant:
    """As action_check, for an annual report, a rectification or a revocation proposal (its `designation`
    carries the applicant and its ancestors; approvals.stages.REPORT_ACTIONS): 404 if it is not visible,
    403 if the person never may do this, 409 if they may but not at its present status. A None principal
    is the system, which does the actions without an owner (reminders, consequences) and only those."""
    spec = REPORT_ACTIONS[action]
    designation = report.designation
    if principal is None or spec.owner is None:
        if principal is None and spec.owner is None:
            return SYSTEM_GRANT
        raise E.NotAllowed(E.MSG_NOT_ALLOWED, action=spec.label)
    if not may_see_designation(principal, designation):
        raise E.NotFound(getattr(report, "not_found_message", E.MSG_REPORT_NOT_FOUND))
    role, level = spec.owner
    org_id = acting_organization_id(designation, level)
    seat = principal.seat(org_id, role)
    if seat is None:
        raise E.NotAllowed(E.MSG_NOT_ALLOWED, action=spec.label)
    if report.status not in spec.sources:
        raise E.WrongState(getattr(report, "wrong_state_message", E.MSG_REPORT_WRONG_STATE),
                           status=report.get_status_display(), action=spec.label)
    return Grant(org_id, role, seat.delegator_id)


def report_actions_allowed(principal: Principal, report) -> list[str]:
    """The report actions this person may do now (the report is known to be visible)."""
    allowed = []
    for action, spec in REPORT_ACTIONS.items():
        if spec.owner is None or report.status not in spec.sources:
            continue
        role, level = spec.owner
        if principal.seat(
                acting_organization_id(report.designation, level), role) is not None:
            allowed.append(action)
    return allowed
