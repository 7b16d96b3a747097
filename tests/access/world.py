"""The world of the access tests: a province P (city C with counties K1 and K2, and city C2) and another
province Q (city QC, county QK); a user in every role at every organization; applications of K1 in every
stage (the certified one with its certificate), one of K2, one of the city C and one in Q; users whose
membership expired yesterday or starts tomorrow, experts removed or expired after their assignment, and
delegates inside and after their delegation period.

Everything an application goes through is done by the services, as the people would do it. Two things are
set directly, because no service may do them today: a notice period that is already over (the notice may
only start from today) and a delegation that ended yesterday (the service refuses a period in the past).

Markers: every application's subject name holds an ASCII code (MXA01 …) and every expert comment one
(MXS-E1-A06 …), so that a test can tell from any page or document which applications and which expert
opinions it shows.
"""
import datetime as dt
from dataclasses import dataclass, field

from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.utils import timezone
from stdnum.cn import uscc as uscc_number

from approvals import services as svc
from approvals.models import Application, ExpertAssignment, Program
from designations.consequences import revocation_propose
from designations.models import AnnualReport, Rectification
from designations.renewals import renewal_open
from designations.reports import (
    report_city_accept,
    report_fields,
    report_grade,
    report_sign_off,
    report_submit,
    reporting_window_open,
)
from orgs.models import Level, Membership, OrgKind
from printing.services import certificate_render_and_store
from tests.approvals.conftest import base_form, minimal_pdf, region_form
from tests.factories import (
    BatchFactory,
    BatchQuotaFactory,
    DelegationFactory,
    DivisionFactory,
    IssueRunFactory,
    MembershipFactory,
    NotificationFactory,
    OrganizationFactory,
    UserFactory,
)

ROLES = ("clerk", "leader", "reviewer", "expert", "admin", "auditor", "secadmin")
# key: (name, division code, level, parent key)
ORGS = {
    "P": ("矩阵省", "340000", Level.PROVINCE, None),
    "C": ("矩阵甲市", "341100", Level.CITY, "P"),
    "K1": ("矩阵甲一县", "341102", Level.COUNTY, "C"),
    "K2": ("矩阵甲二县", "341103", Level.COUNTY, "C"),
    "C2": ("矩阵乙市", "340100", Level.CITY, "P"),
    "Q": ("矩阵丙省", "510000", Level.PROVINCE, None),
    "QC": ("矩阵丙市", "510100", Level.CITY, "Q"),
    "QK": ("矩阵丙一县", "510117", Level.COUNTY, "QC"),
}
COUNTY_PROGRAM = "collaborative-innovation-base"  # county applicant, city review, three attachments
CITY_PROGRAM = "innovation-driven-city"  # the city applies; no county and no city review in its chain
# Delegable roles (workflows/delegations.py): a delegation of each of these holders is in the world.
DELEGATORS = ("clerk@K1", "leader@K1", "reviewer@C", "reviewer@P", "leader@P")
# Holders whose membership ended yesterday ("expired") or starts tomorrow ("not_yet").
EXPIRED = ("clerk@K1", "leader@K1", "reviewer@C", "reviewer@P", "leader@P", "admin@P", "admin@K1", "auditor@P")
NOT_YET = ("clerk@K1", "reviewer@P")


# Organizations whose clerk has a marked event in the security log; the marker of one with no user.
SECURITY_EVENT_ORGS = ("K1", "C", "P")
UNKNOWN_NAME = "mx_no_such_name"


def security_marker(org: str | None) -> str:
    return f"MXSEC{org or 'NONE'}Z"


def uscc_for(n: int) -> str:
    """A valid 统一社会信用代码 (GB 32100 check character), different for every n."""
    body = f"9134110{n:04d}MA2N0X"
    return body + uscc_number.calc_check_digit(body)


@dataclass
class Subject:
    """Who asks: a role held at an organization in one way (kind), or nobody, the anonymous, a superuser.

    kind: member (current), expired, not_yet, removed (an expert whose membership was deleted after the
    assignment), delegate_in / delegate_after (acts for the holder of `role` at `org`, inside or after the
    period), nobody (logged in, no membership), anonymous, superuser.
    """

    key: str
    kind: str
    role: str | None = None
    org: str | None = None
    user: object = None


@dataclass
class App:
    key: str
    stage: str  # a label: the status, or e.g. "public_notice:published"
    org: str  # the applicant
    application: Application
    marker: str
    experts: dict = field(default_factory=dict)  # subject key -> "assigned" | "scored"
    score_markers: dict = field(default_factory=dict)  # subject key of the expert -> marker of their comment

    @property
    def pk(self) -> int:
        return self.application.pk


class World:
    """Build once per test module (see conftest.py); read-only afterwards (tests roll back their writes)."""

    def __init__(self, storage_root):
        self.storage_root = storage_root
        self.today = timezone.localdate()
        self.org, self.division, self.subjects, self.apps = {}, {}, {}, {}
        self._users_by_key = {}
        self._build_orgs()
        self._build_people()
        call_command("loaddata", "programs", verbosity=0)
        self._build_batches()
        self._build_applications()
        self._expire_after_assignment()
        self._build_delegations()
        self._build_misc()

    # ------------------------------------------------------------------------------------------ build

    def _build_orgs(self):
        self.root = OrganizationFactory(name="矩阵全国科协", level=Level.NATIONAL)
        for key, (name, code, level, parent) in ORGS.items():
            self.division[key] = DivisionFactory(
                code=code, name=name, level=level, parent=self.division[parent] if parent else None,
            )
            self.org[key] = OrganizationFactory(
                name=f"{name}科协", kind=OrgKind.KEXIE, level=level, division=self.division[key],
                parent=self.org[parent] if parent else self.root,
            )
        self.parent = {key: spec[3] for key, spec in ORGS.items()}

    def _user(self, username, **extra):
        return UserFactory(username=username, first_name=f"矩阵{username}", **extra)

    def _build_people(self):
        yesterday, tomorrow = self.today - dt.timedelta(days=1), self.today + dt.timedelta(days=1)
        for org in ORGS:
            for role in ROLES:
                key = f"{role}@{org}"
                user = self._user(f"mx_{role}_{org}_z", is_staff=role in ("admin", "secadmin"))
                # The last day of the membership is today: it still counts.
                MembershipFactory(user=user, organization=self.org[org], role=role,
                                  valid_from=self.today - dt.timedelta(days=400), valid_until=self.today)
                self._add(Subject(key, "member", role, org, user))
        for n in (2, 3):  # two more experts of P: the second is assigned with the first, the third never
            user = self._user(f"mx_expert{n}_P_z")
            MembershipFactory(user=user, organization=self.org["P"], role="expert")
            self._add(Subject(f"expert@P#{n}", "member", "expert", "P", user))
        for tag in ("removed", "expired"):  # assigned, then the membership ends (_expire_after_assignment)
            user = self._user(f"mx_expert_{tag}_P_z")
            MembershipFactory(user=user, organization=self.org["P"], role="expert")
            self._add(Subject(f"expert@P:{tag}", tag, "expert", "P", user))
        for holder in EXPIRED:
            role, org = holder.split("@")
            user = self._user(f"mx_{role}_{org}_expired_z", is_staff=role in ("admin", "secadmin"))
            MembershipFactory(user=user, organization=self.org[org], role=role,
                              valid_from=self.today - dt.timedelta(days=400), valid_until=yesterday)
            self._add(Subject(f"{holder}:expired", "expired", role, org, user))
        for holder in NOT_YET:
            role, org = holder.split("@")
            user = self._user(f"mx_{role}_{org}_notyet_z")
            MembershipFactory(user=user, organization=self.org[org], role=role, valid_from=tomorrow)
            self._add(Subject(f"{holder}:not_yet", "not_yet", role, org, user))
        self._add(Subject("nobody", "nobody", user=self._user("mx_nobody_z")))
        self._add(Subject("superuser", "superuser", user=self._user("mx_superuser_z", is_staff=True,
                                                                    is_superuser=True)))
        self._add(Subject("anonymous", "anonymous"))

    def _add(self, subject: Subject):
        self.subjects[subject.key] = subject

    def user(self, key):
        return self.subjects[key].user

    def actor(self, key):
        return svc.Actor(user=self.user(key), ip="127.0.0.1")

    def _build_batches(self):
        county, city = Program.objects.get(code=COUNTY_PROGRAM), Program.objects.get(code=CITY_PROGRAM)
        self.batch = {
            "B": BatchFactory(program=county, province=self.org["P"], name="矩阵批次MXB1"),
            "BC": BatchFactory(program=city, province=self.org["P"], name="矩阵批次MXB2"),
            "BQ": BatchFactory(program=county, province=self.org["Q"], name="矩阵批次MXB3"),
            # A second batch of the city program: a city has one live application per batch.
            "BC2": BatchFactory(program=city, province=self.org["P"], name="矩阵批次MXB4"),
        }
        for batch, cities in (("B", ("C", "C2")), ("BC", ("C", "C2")), ("BQ", ("QC",)), ("BC2", ("C", "C2"))):
            for city in cities:
                BatchQuotaFactory(batch=self.batch[batch], city=self.org[city], quota=20)

    def _create(self, code, org, batch, n):
        program = self.batch[batch].program
        clerk = self.actor(f"clerk@{org}")
        application = svc.application_create(
            actor=clerk, batch=self.batch[batch], applicant=self.org[org],
            subject_name=f"矩阵{code}公司", uscc=uscc_for(n) if program.requires_uscc else "",
            division_code=self.division[org].code,
            form_data=base_form() if program.code == COUNTY_PROGRAM else region_form(),
        )
        for kind in program.attachment_kinds:
            svc.attachment_add(actor=clerk, application_id=application.pk, kind=kind["code"],
                               name=f"{code}-{kind['code']}.pdf", content=minimal_pdf(kind["code"]))
        return application

    def _build_applications(self):
        # (key, stage label, applicant, batch): K1's applications in chain order, then the others.
        plan = [
            ("A01", "draft", "K1", "B"), ("A02", "applicant_signoff", "K1", "B"),
            ("A03", "city_review", "K1", "B"), ("A04", "province_check", "K1", "B"),
            ("A05", "expert_review", "K1", "B"), ("A06", "expert_review:assigned", "K1", "B"),
            ("A07", "decision", "K1", "B"), ("A08", "public_notice", "K1", "B"),
            ("A09", "public_notice:published", "K1", "B"), ("A10", "public_notice:over", "K1", "B"),
            ("A11", "approved", "K1", "B"), ("A12", "certified", "K1", "B"),
            ("A13", "city_review", "K2", "B"), ("A14", "province_check", "C2", "BC"),
            ("A15", "applicant_signoff", "C", "BC"), ("A16", "draft", "C", "BC2"),
            ("A17", "city_review", "QK", "BQ"),
        ]
        for n, (key, stage, org, batch) in enumerate(plan, start=1):
            code = f"MX{key}"
            application = self._create(code, org, batch, n)
            app = App(key, stage, org, application, code)
            self._advance(app, stage)
            app.application = Application.objects.select_related("process").get(pk=application.pk)
            self.apps[key] = app

    def _advance(self, app: App, stage: str):
        steps = ["draft", "applicant_signoff", "city_review", "province_check", "expert_review",
                 "expert_review:assigned", "decision", "public_notice", "public_notice:published",
                 "public_notice:over", "approved", "certified"]
        city = self.parent[app.org] if ORGS[app.org][2] == Level.COUNTY else app.org
        province = self.parent[city]
        pk = app.pk
        for step in steps[1:steps.index(stage) + 1]:
            status = Application.objects.get(pk=pk).status
            if step == "applicant_signoff":
                svc.application_submit(actor=self.actor(f"clerk@{app.org}"), application_id=pk)
            elif step == "city_review":
                svc.application_sign_off(actor=self.actor(f"leader@{app.org}"), application_id=pk, comment="同意上报")
            elif step == "province_check" and status == "city_review":
                svc.application_recommend(actor=self.actor(f"reviewer@{city}"), application_id=pk,
                                          comment="同意推荐")
            elif step == "expert_review":
                svc.application_accept(actor=self.actor(f"reviewer@{province}"), application_id=pk,
                                       comment="材料齐全")
            elif step == "expert_review:assigned":
                experts = ["expert@P", "expert@P#2"] + (
                    ["expert@P:removed", "expert@P:expired"] if stage == "expert_review:assigned" else [])
                svc.application_assign_experts(actor=self.actor(f"reviewer@{province}"), application_id=pk,
                                               expert_ids=[self.user(k).pk for k in experts])
                app.experts = dict.fromkeys(experts, "assigned")
                self._score(app, "expert@P", "E1", 86.5)
            elif step == "decision":
                self._score(app, "expert@P#2", "E2", 91)
            elif step == "public_notice":
                svc.application_decide(actor=self.actor(f"leader@{province}"), application_id=pk, approve=True,
                                       comment="予以认定")
            elif step == "public_notice:published":
                svc.application_publish_notice(actor=self.actor(f"reviewer@{province}"), application_id=pk)
            elif step == "public_notice:over":
                # The notice ran from 20 to 10 days ago (no service may publish a notice in the past).
                Application.objects.filter(pk=pk).update(
                    notice_starts_on=self.today - dt.timedelta(days=20),
                    notice_ends_on=self.today - dt.timedelta(days=10),
                )
            elif step == "approved":
                svc.application_approve(actor=self.actor(f"leader@{province}"), application_id=pk)
            elif step == "certified":
                certificate = svc.application_issue_certificate(actor=self.actor(f"reviewer@{province}"),
                                                                application_id=pk)
                self.certificate = certificate_render_and_store(certificate_id=certificate.pk)
                # Its designation's annual report of this year, due (a draft of K1's clerk).
                call_command("loaddata", "follow_up", verbosity=0)
                window = reporting_window_open(actor=self.actor(f"reviewer@{province}"),
                                               province_id=certificate.application.province_id,
                                               year=self.today.year, due_on=self.today + dt.timedelta(days=30))
                self.report = AnnualReport.objects.get(window=window)
                self._build_follow_ups(province, window)

    def _build_follow_ups(self, province, window):
        """Next year's report of the same designation graded 不合格 (its rectification, open), a revocation
        proposal and the renewal opened by the reminder: the targets of their pages."""
        next_window = reporting_window_open(actor=self.actor(f"reviewer@{province}"), province_id=window.province_id,
                                            year=window.year + 1, due_on=window.due_on)
        report = AnnualReport.objects.get(window=next_window)
        data = {f["name"]: 1 if f.get("type") in ("int", "decimal") else "矩阵报告"
                for f in report_fields(report.designation.program_id)}
        report_submit(actor=self.actor("clerk@K1"), report_id=report.pk, data=data)
        report_sign_off(actor=self.actor("leader@K1"), report_id=report.pk)
        report_city_accept(actor=self.actor("reviewer@C"), report_id=report.pk)
        report_grade(actor=self.actor(f"reviewer@{province}"), report_id=report.pk, grade="fail", comment="矩阵评定")
        self.rectification = Rectification.objects.get(report=report)
        self.proposal = revocation_propose(designation_id=report.designation_id, reasons="矩阵摘牌理由")
        self.renewal = renewal_open(designation_id=report.designation_id)

    def _score(self, app: App, expert: str, tag: str, score):
        marker = f"MXS-{tag}-{app.key}"
        svc.application_score(actor=self.actor(expert), application_id=app.pk, score=score,
                              comment=f"评审意见{marker}")
        app.experts[expert] = "scored"
        app.score_markers[expert] = marker

    def _expire_after_assignment(self):
        Membership.objects.filter(user=self.user("expert@P:removed")).delete()
        Membership.objects.filter(user=self.user("expert@P:expired")).update(
            valid_until=self.today - dt.timedelta(days=1))

    def _build_delegations(self):
        for holder in DELEGATORS:
            role, org = holder.split("@")
            delegator = self.user(holder)
            inside = self._user(f"mx_dlg_{role}_{org}_in_z")
            # Inside the period: it ends today, the last day on which it counts.
            svc_delegation = DelegationFactory(
                delegator=delegator, delegate=inside, organization=self.org[org], role=role,
                starts_on=self.today - dt.timedelta(days=5), ends_on=self.today,
            )
            self._add(Subject(f"{holder}:delegate_in", "delegate_in", role, org, inside))
            after = self._user(f"mx_dlg_{role}_{org}_after_z")
            DelegationFactory(
                delegator=delegator, delegate=after, organization=self.org[org], role=role,
                starts_on=self.today - dt.timedelta(days=20), ends_on=self.today - dt.timedelta(days=1),
            )
            self._add(Subject(f"{holder}:delegate_after", "delegate_after", role, org, after))
            assert svc_delegation.pk

    def _build_misc(self):
        self.notification = NotificationFactory(user=self.user("clerk@K1"), application=self.apps["A02"].application,
                                                title="矩阵通知MXN1", url=f"/approvals/applications/{self.apps['A02'].pk}/")
        self.issue_run = IssueRunFactory(batch=self.batch["B"], requested_by=self.user("reviewer@P"),
                                         application_ids=[self.apps["A11"].pk])
        self.attachment = {key: app.application.attachments.order_by("pk").first() for key, app in self.apps.items()}
        self._build_admin_rows()
        self.expert_assignment = ExpertAssignment.objects.filter(application=self.apps["A06"].application).first()
        self._build_security_events()

    def _build_security_events(self):
        """A marked security event of the clerk of K1, C and P, and a failed login of a name that is no
        account (the security log page: who reads which)."""
        from security.models import Kind
        from security.services import security_record

        for org in SECURITY_EVENT_ORGS:
            security_record(Kind.EXPORT, actor=self.user(f"clerk@{org}"), ip="192.0.2.10",
                            target=security_marker(org))
        security_record(Kind.LOGIN_FAILED, username=UNKNOWN_NAME, ip="192.0.2.11",
                        target=security_marker(None))

    def _build_admin_rows(self):
        """One row of each model the admin shows that the chain above leaves empty, so that every admin page
        of an object has a real object (a missing one redirects before the permission is checked)."""
        from axes.models import AccessAttempt, AccessFailureLog, AccessLog
        from django.contrib.auth.models import Group

        from approvals.models import BannedSubject
        from workflows.models import EmailOutbox
        from workflows.workdays import CalendarDay, CalendarYear, clear_cache

        Group.objects.create(name="矩阵用户组")
        BannedSubject.objects.create(uscc=uscc_for(9999), name="矩阵MXBAN公司", reason="材料造假",
                                     barred_until=self.today + dt.timedelta(days=365))
        EmailOutbox.objects.create(notification=self.notification, to_email="mx@test.kexie.example",
                                   subject="矩阵邮件", body="正文")
        # A year far from every date the tests count working days in; the calendar cache is cleared
        # when it is created and when the world is rolled back (conftest.py).
        year = CalendarYear.objects.create(year=2031, complete=False, source="矩阵")
        CalendarDay.objects.create(date=dt.date(2031, 1, 1), year=year, is_workday=False, name="元旦", note="")
        clear_cache()
        now = timezone.now()
        common = {"user_agent": "matrix", "ip_address": "127.0.0.1", "username": "mx_nobody_z",
                  "http_accept": "*/*", "path_info": "/accounts/login/", "attempt_time": now}
        AccessAttempt.objects.create(get_data="", post_data="", failures_since_start=1, **common)
        AccessLog.objects.create(**common)
        AccessFailureLog.objects.create(**common)

    # --------------------------------------------------------------------------------------- relations

    def ancestors(self, org):
        """Organization keys above `org`, nearest first."""
        chain, parent = [], self.parent[org]
        while parent is not None:
            chain.append(parent)
            parent = self.parent[parent]
        return chain

    def province_of(self, org):
        return ([org] + self.ancestors(org))[-1]

    def org_relation(self, user_org: str, target_org: str) -> str:
        """How an organization stands to the target organization in the tree."""
        if user_org == target_org:
            return "own"
        above = self.ancestors(target_org)
        if user_org in above:
            return "parent" if above[0] == user_org else "ancestor"
        below = self.ancestors(user_org)
        if target_org in below:
            return "child" if below[0] == target_org else "descendant"
        if self.province_of(user_org) != self.province_of(target_org):
            return "other_province"
        if self.parent[user_org] == self.parent[target_org]:
            return "sibling"
        return "other_branch"

    def users_of(self):
        return get_user_model().objects.filter(username__startswith="mx_")
