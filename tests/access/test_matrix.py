"""The access matrix: every URL pattern of the project (viewflow's and the admin's included), asked by every
role at every relation to what the URL points at, with GET and with each POST it accepts.

The expected outcomes are the literal tables below, written from the rules of issue 10, not read from the
code: a class per URL pattern (URLS, VIEWFLOW_NODES, ADMIN_MODELS) and a grid per class (role × relation →
A allow, D deny, E either, - cannot happen). test_every_url_pattern_is_classified fails when the URL
configuration has a pattern that the tables do not name (or the tables name one that is gone).

Relations: how a subject's organization (a user in a role at an organization) stands to the target's (an
application's applicant, a batch's province, a city, an admin object's organization): own; parent and
ancestor (the subject's is above the target's, one or more levels); child and descendant (below it);
sibling (same parent); other_branch (same province); other_province; for experts assigned (not yet scored)
and scored; for a viewflow task or a notification its owner. Kinds that are not a relation to
anything: expired (membership ended yesterday), not_yet (starts tomorrow), removed (an assigned expert
whose membership was deleted), delegate_after (a delegation that ended yesterday), nobody (logged in, no
membership): these are "outsiders", refused wherever a role is needed. delegate_in (a delegation in force,
its last day today) is expected to get exactly what its delegator gets. anonymous and superuser have a
column of their own in each class.

A refused POST must leave the database as it was: every request runs in a savepoint that is rolled back,
so the world is the same for every case; when a POST ran any INSERT, UPDATE or DELETE (other than the
session's), every row of every table but the session ones is compared with the world's (matrix.fingerprint).
An allowed POST that should write must have changed it. Every response that shows something is
also read (HTML, JSON, PDF and Excel) for what the subject may not see: other applications' subject names,
expert scores and comments, API token keys, and in the admin other subtrees' users, organizations and
batches.

Set ACCESS_MATRIX_FULL=1 to ask every subject everywhere and to compare the rows after every POST; by
default the classes whose rule does not depend on the relation (superuser-only, viewflow, the admin site,
public pages, suffix variants of API routes) are asked by one subject per role and kind, which keeps the run
at about three minutes on SQLite. Each class writes test-artifacts/access-matrix/<class>.txt: its failures
grouped by route and problem, then every failing case.
"""
import datetime as dt
import os
import re
import time
from collections import Counter
from dataclasses import dataclass

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import resolve
from django.urls.exceptions import Resolver404
from rest_framework.authtoken.models import Token
from viewflow.workflow.models import Task

from approvals.models import Application, Program
from designations.renewals import renewal_fields
from designations.reports import report_fields
from orgs.models import Membership
from tests.approvals.conftest import minimal_pdf
from tests.factories import TEST_PASSWORD

from .matrix import Case, Runner, build_url, form_data, problems, resolves_to, url_patterns
from .world import ORGS, SECURITY_EVENT_ORGS, UNKNOWN_NAME, security_marker, uscc_for

pytestmark = pytest.mark.django_db

FULL = os.environ.get("ACCESS_MATRIX_FULL") == "1"
A, D, E = "A", "D", "E"
DELEGABLE = ("clerk", "leader", "reviewer")
OUTSIDERS = ("expired", "not_yet", "removed", "delegate_after", "nobody")


def grid(text: str) -> dict:
    """A table written as rows of a role and one cell per column: {(role, column): cell}."""
    lines = [line.split("#")[0].split() for line in text.strip().splitlines()]
    header, cells = lines[0], {}
    for row in lines[1:]:
        role, values = row[0], row[1:]
        assert len(values) == len(header), f"row {role}: {len(values)} cells for {len(header)} columns"
        cells.update({(role, column): value for column, value in zip(header, values, strict=True)})
    return cells


# =========================================================================================== the rules

# Who sees an application (web detail and form, API detail and sub-resources, print, certificate).
APPLICATION_READ = grid("""
          own parent ancestor child descendant sibling other_branch other_province assigned scored
clerk      A    A      A       D     D          D       D            D              -        -
leader     A    A      A       D     D          D       D            D              -        -
reviewer   A    A      A       D     D          D       D            D              -        -
expert     D    D      D       D     D          D       D            D              A        A
admin      A    A      A       D     D          D       D            D              -        -
auditor    A    A      A       D     D          D       D            D              -        -
""")

# Who sees a designation's annual report (its page, and the refusal of its POSTs to others): the staff of
# its applicant and above it; never an expert (issue 15).
DESIGNATION_READ = grid("""
          own parent ancestor child descendant sibling other_branch other_province assigned scored
clerk      A    A      A       D     D          D       D            D              -        -
leader     A    A      A       D     D          D       D            D              -        -
reviewer   A    A      A       D     D          D       D            D              -        -
expert     D    D      D       D     D          D       D            D              D        D
admin      A    A      A       D     D          D       D            D              -        -
auditor    A    A      A       D     D          D       D            D              -        -
""")

# Submitting the world's draft report (of K1): its own clerk only.
REPORT_SUBMIT = grid("""
          own parent ancestor child descendant sibling other_branch other_province assigned scored
clerk      A    D      D       D     D          D       D            D              -        -
leader     D    D      D       D     D          D       D            D              -        -
reviewer   D    D      D       D     D          D       D            D              -        -
expert     D    D      D       D     D          D       D            D              D        D
admin      D    D      D       D     D          D       D            D              -        -
auditor    D    D      D       D     D          D       D            D              -        -
""")

# Deciding the world's revocation proposal (of K1's designation): the province's leader only.
REVOCATION_DECIDE = grid("""
          own parent ancestor child descendant sibling other_branch other_province assigned scored
clerk      D    D      D       D     D          D       D            D              -        -
leader     D    D      A       D     D          D       D            D              -        -
reviewer   D    D      D       D     D          D       D            D              -        -
expert     D    D      D       D     D          D       D            D              D        D
admin      D    D      D       D     D          D       D            D              -        -
auditor    D    D      D       D     D          D       D            D              -        -
""")
# The item pages of designations (rectifications, revocation proposals, renewals) → the world's target kind.
CASE_TARGETS = {"rectifications": "rectification", "revocations": "revocation", "renewals": "renewal"}
CASE_ROUTES = {f"designations/{kind}/<int:pk>/<str:button>/": target for kind, target in CASE_TARGETS.items()}

# Who sees the experts' individual scores and comments, by the level at which the subject stands to the
# application (for a city's own application the applicant is the city). An expert sees their own, while
# their membership is current (SCORE_OWN).
SCORE_READ = grid("""
          applicant city province elsewhere
clerk      D         D    D        D
leader     D         D    A        D
reviewer   D         D    A        D
expert     D         D    D        D
admin      D         D    D        D
auditor    D         D    D        D
""")
SCORE_OWN = True

# 推荐函 and 推荐汇总表 of one city (?city=<id>): the city's own staff and the province's reviewers and
# leaders; never an expert, never another city, nor a county under the city.
CITY_DOCUMENT = grid("""
          own parent child sibling other_province
clerk      A    D      D     D       D
leader     A    A      D     D       D
reviewer   A    A      D     D       D
expert     D    D      D     D       D
admin      A    D      D     D       D
auditor    A    D      D     D       D
""")

# The batch's 公示名单 PDF (its content is public on /notice/<batch>/): anyone of the batch's province.
BATCH_NOTICE = grid("""
          own child descendant other_province
clerk      A    A     A          D
leader     A    A     A          D
reviewer   A    A     A          D
expert     E    E     E          D
admin      A    A     A          D
auditor    A    A     A          D
""")

# The province's copy of the 申报书 (form.pdf?copy=province), which prints every expert's score and comment,
# of the county's application A06: the province's reviewers and leaders (the ancestor of the county);
# everybody else is refused (403 to who sees the application, 404 to who does not). An allowed copy must
# show the scored expert's comment marker.
PROVINCE_COPY = grid("""
          own parent ancestor child descendant sibling other_branch other_province assigned scored
clerk      D    D      D       D     D          D       D            D              -        -
leader     D    D      A       D     D          D       D            D              -        -
reviewer   D    D      A       D     D          D       D            D              -        -
expert     D    D      D       D     D          D       D            D              D        D
admin      D    D      D       D     D          D       D            D              -        -
auditor    D    D      D       D     D          D       D            D              -        -
""")

# A batch through the API (its windows and quotas, its 公示名单 PDF): the staff of its province, of an
# organization under it or above it (approvals.access.may_see_batch); experts hold no scope.
BATCH_READ = grid("""
          own child descendant other_province
clerk      A    A     A          D
leader     A    A     A          D
reviewer   A    A     A          D
expert     D    D     D          D
admin      A    A     A          D
auditor    A    A     A          D
""")

# The experts a province may assign to an application (GET /api/v1/applications/<id>/experts/), asked of
# a county's application (A06): the owner of assign_experts, the province's reviewer (the ancestor); who
# sees the application otherwise is told 403, who does not 404.
EXPERT_CHOICE = grid("""
          own parent ancestor child descendant sibling other_branch other_province assigned scored
clerk      D    D      D       D     D          D       D            D              -        -
leader     D    D      D       D     D          D       D            D              -        -
reviewer   D    D      A       D     D          D       D            D              -        -
expert     D    D      D       D     D          D       D            D              D        D
admin      D    D      D       D     D          D       D            D              -        -
auditor    D    D      D       D     D          D       D            D              -        -
""")

# The city reviewer's page of a batch (quota, waiting applications, bulk recommend).
CITY_BATCH_PAGE = grid("""
          own child descendant other_province
clerk      D    D     D          D
leader     D    E     D          D
reviewer   D    A     D          D
expert     D    D     D          D
admin      D    D     D          D
auditor    D    D     D          D
""")

# Bulk issue of a batch's certificates and its progress: the province's officers.
ISSUE_OFFICER = grid("""
          own child descendant other_province
clerk      D    D     D          D
leader     E    D     D          D
reviewer   A    D     D          D
expert     D    D     D          D
admin      D    D     D          D
auditor    E    D     D          D
""")

# Objects managed in the admin by a 管理员 of their own subtree (users, memberships, organizations,
# batches and quotas): the admin's organization is the object's, or above it (parent, ancestor).
ADMIN_SCOPED = grid("""
          own parent ancestor child descendant sibling other_branch other_province
clerk      D    D      D       D     D          D       D            D
leader     D    D      D       D     D          D       D            D
reviewer   D    D      D       D     D          D       D            D
expert     D    D      D       D     D          D       D            D
admin      A    A      A       D     D          D       D            D
auditor    D    D      D       D     D          D       D            D
secadmin   D    D      D       D     D          D       D            D
""")
# 三员分立: roles, memberships and delegations are the security administrator's (安全管理员), of their
# subtree; the system administrator (管理员) and the auditor are refused them.
SECURITY_SCOPED = grid("""
          own parent ancestor child descendant sibling other_branch other_province
clerk      D    D      D       D     D          D       D            D
leader     D    D      D       D     D          D       D            D
reviewer   D    D      D       D     D          D       D            D
expert     D    D      D       D     D          D       D            D
admin      D    D      D       D     D          D       D            D
auditor    D    D      D       D     D          D       D            D
secadmin   A    A      A       D     D          D       D            D
""")
# The security log (security.log_views, its export): every audit administrator (审计员, own membership in
# force, any level) gets the page, everybody else is refused, the other administrators and the superuser
# included. What it shows of an event of a clerk at the target organization (A shown, D not): the
# auditor's subtree only. An event of a name that is no account: to a province's auditor only.
SECURITY_LOG_SHOWN = grid("""
          own parent ancestor child descendant sibling other_branch other_province
auditor    A    A      A       D     D          D       D            D
""")
SCOPED_ADMIN_CLASSES = {"admin-scoped": "admin", "security-scoped": "secadmin"}
ADMIN_SITE_ROLES = ("admin", "secadmin")

# Who acts, by stage (the stage labels of the world): (role, level). Level: applicant (the applicant
# organization itself), city (the applicant's city, the applicant when it is a city), province, assigned
# (an expert assigned to the application who has not scored yet).
ACTION_OWNERS = {
    "edit": {"draft": ("clerk", "applicant")},
    "submit": {"draft": ("clerk", "applicant")},
    "withdraw": {s: ("clerk", "applicant") for s in ("draft", "applicant_signoff", "city_review")},
    "sign_off": {"applicant_signoff": ("leader", "applicant")},
    "return": {"applicant_signoff": ("leader", "applicant"), "city_review": ("reviewer", "city"),
               "province_check": ("reviewer", "province")},
    "recommend": {"city_review": ("reviewer", "city")},
    "decline": {"city_review": ("reviewer", "city")},
    "accept": {"province_check": ("reviewer", "province")},
    "assign_experts": {"expert_review": ("reviewer", "province")},
    "score": {"expert_review:assigned": ("expert", "assigned")},
    "decide": {"decision": ("leader", "province")},
    "publish_notice": {"public_notice": ("reviewer", "province")},
    "object": {"public_notice:published": ("reviewer", "province")},
    "approve": {"public_notice:over": ("leader", "province")},
    "issue_certificate": {"approved": ("reviewer", "province")},
    "revoke": {"certified": ("leader", "province")},
    "create": {"batch": ("clerk", "applicant")},
}
# Where each action is tried although its stage is another one: refused for everybody.
WRONG_STAGE = {
    "edit": "applicant_signoff", "submit": "applicant_signoff", "withdraw": "province_check",
    "sign_off": "city_review", "return": "expert_review", "recommend": "province_check",
    "decline": "province_check", "accept": "expert_review", "assign_experts": "decision",
    "score": "decision", "decide": "public_notice", "publish_notice": "public_notice:published",
    "object": "public_notice", "approve": "public_notice:published", "issue_certificate": "certified",
    "revoke": "approved",
}
# The world's applications in each stage (world.py builds them).
STAGE_APPS = {
    "draft": ("A01", "A16"), "applicant_signoff": ("A02", "A15"), "city_review": ("A03",),
    "province_check": ("A04", "A14"), "expert_review": ("A05",), "expert_review:assigned": ("A06",),
    "decision": ("A07",), "public_notice": ("A08",), "public_notice:published": ("A09",),
    "public_notice:over": ("A10",), "approved": ("A11",), "certified": ("A12",),
}
# Targets of the read classes: an application of a county (experts assigned, one has scored) and the
# city's own application (a county under it is then a child).
READ_APPS = ("A06", "A15")


@dataclass(frozen=True)
class Klass:
    """How a class of URL patterns is judged."""

    grid: dict | None = None  # (role, relation) → cell; None: `member` for every member
    member: str = D
    outsider: str = D
    anonymous: str = D
    superuser: str = D
    owner: str = D  # the owner of a viewflow task
    per_role: bool = False  # the rule ignores the relation: one subject per role and kind is enough
    # Roles whose relation to the target matters (the others are asked once per role and kind); None: all.
    relation_roles: tuple | None = None
    by_level: bool = False  # the grid's columns are the level of the subject's organization, not a relation


CLASSES = {
    "public": Klass(member=A, outsider=A, anonymous=A, superuser=A, per_role=True),
    "public-either": Klass(member=E, outsider=E, anonymous=E, superuser=E, per_role=True),
    "login": Klass(member=A, outsider=A, anonymous=D, superuser=A, per_role=True),
    "application": Klass(grid=APPLICATION_READ, superuser=E),
    "designation": Klass(grid=DESIGNATION_READ, superuser=E),
    "report-submit": Klass(grid=REPORT_SUBMIT, superuser=E),
    # The other actions on the world's draft report: nobody may do them now (409 or 403/404).
    "report-not-now": Klass(superuser=E),
    "revocation-decide": Klass(grid=REVOCATION_DECIDE, superuser=E),
    "province-copy": Klass(grid=PROVINCE_COPY, superuser=A),
    "city-document": Klass(grid=CITY_DOCUMENT, superuser=E),
    "batch-notice": Klass(grid=BATCH_NOTICE, superuser=E),
    "city-batch": Klass(grid=CITY_BATCH_PAGE, superuser=E),
    "batch-read": Klass(grid=BATCH_READ, superuser=E),
    "expert-choice": Klass(grid=EXPERT_CHOICE, superuser=E),
    # Claiming an open task of a pool through the API (the world's A03 in 城市审核, the pool of C's
    # reviewers): a member of the pool (own or delegated), nobody else.
    "claim": Klass(grid={("reviewer", "own"): A}, superuser=D),
    "issue-officer": Klass(grid=ISSUE_OFFICER, superuser=E),
    "viewflow": Klass(superuser=E, per_role=True),
    "viewflow-task": Klass(superuser=E, owner=E, per_role=True),
    "pool-task": Klass(superuser=E, owner=E),
    "admin-site": Klass(grid={(role, r): A for role in ADMIN_SITE_ROLES for r in
                              ("own", "parent", "ancestor", "child", "descendant", "sibling", "other_branch",
                               "other_province")}, superuser=A),
    "admin-scoped": Klass(grid=ADMIN_SCOPED, superuser=A, relation_roles=("admin",)),
    "security-scoped": Klass(grid=SECURITY_SCOPED, superuser=A, relation_roles=("secadmin",)),
    "superuser-only": Klass(superuser=A, per_role=True),
    # Admin URLs that only redirect or need parameters (view on site, autocomplete): a 管理员 and the
    # superuser may get anything but an error; everybody else is refused.
    "admin-shortcut": Klass(grid={(role, r): E for role in ADMIN_SITE_ROLES for r in
                                  ("own", "parent", "ancestor", "child", "descendant", "sibling", "other_branch",
                                   "other_province")}, superuser=E, per_role=True),
    # API tokens: never in the admin, the superuser included (a token admin, if one is registered again,
    # takes this class; test_regressions checks that no page of the admin shows a token).
    "tokens": Klass(superuser=E, per_role=True),
    # Reference data (the divisions) that a 管理员 may read for the pickers of their forms (the issue is
    # silent: E) and only the superuser changes.
    "reference-data": Klass(grid={(role, r): E for role in ADMIN_SITE_ROLES for r in
                                  ("own", "parent", "ancestor", "child", "descendant", "sibling", "other_branch",
                                   "other_province")}, superuser=A, per_role=True),
    # The signed audit digests and their public key (docs/audit.md): auditors and administrators of a
    # province, and the superuser. Judged by the level of the subject's own organization.
    "audit-digests": Klass(grid={("auditor", "province"): A}, superuser=A,
                           by_level=True),
    "security-log": Klass(grid={("auditor", r): A for r in ("own", "parent", "ancestor", "child", "descendant",
                                                            "sibling", "other_branch", "other_province")},
                          relation_roles=("auditor",)),
    "none": Klass(per_role=True),  # answers 404 (or a login page) to everybody
    "notification-owner": Klass(superuser=D, owner=A),
    "create-form": Klass(grid={("clerk", "own"): A}, superuser=E),
    "action": Klass(superuser=D),  # judged by ACTION_OWNERS
}

# ================================================================================ the URL patterns

# route → (class, target). Targets: none; app (pk); attachment (web); app+attachment (API); certificate;
# token (verify); batch; city (batch and ?city=); issue-run; notification; process; reset (bogus
# uid and token); create (?batch=&org=); unreachable (shadowed by an earlier pattern of the same route).
# POSTs are listed in POSTS; a route not there is asked with GET only.
URLS = {
    "healthz": ("public", "none"),
    "i18n/setlang/": ("public-either", "none"),
    "accounts/login/": ("public", "none"),
    "accounts/logout/": ("public-either", "none"),
    "accounts/password_change/": ("login", "none"),
    "accounts/password_change/done/": ("login", "none"),
    "accounts/password_reset/": ("public", "none"),
    "accounts/password_reset/done/": ("public", "none"),
    "accounts/reset/<uidb64>/<token>/": ("public", "reset"),
    "accounts/reset/done/": ("public", "none"),
    # The second factor (security.two_factor): anyone logged in enrols, verifies, renews recovery codes.
    "accounts/2fa/verify/": ("login", "none"),
    "accounts/2fa/setup/": ("login", "none"),
    "accounts/2fa/recovery/": ("login", "none"),
    "api/v1/schema/": ("public-either", "none"),
    "api/v1/docs/": ("public-either", "none"),
    "api/v1/redoc/": ("public-either", "none"),
    "api/v1/auth/token/": ("public-either", "none"),
    "api/v1/": ("public-either", "none"),
    "api/v1/^applications/$": ("login", "none"),
    r"api/v1/^applications/(?P<pk>\d+)/$": ("application", "app"),
    r"api/v1/^applications/(?P<pk>\d+)/events/$": ("application", "app"),
    r"api/v1/^applications/(?P<pk>\d+)/opinions/$": ("application", "app"),
    r"api/v1/^applications/(?P<pk>\d+)/revisions/$": ("application", "app"),
    r"api/v1/^applications/(?P<pk>\d+)/revisions/diff/$": ("application", "app"),
    r"api/v1/^applications/(?P<pk>\d+)/attachments/$": ("application", "app"),
    r"api/v1/^applications/(?P<pk>\d+)/attachments/(?P<attachment_id>\d+)/$": ("application", "app+attachment"),
    r"api/v1/^applications/(?P<pk>\d+)/attachments/(?P<attachment_id>\d+)/download/$":
        ("application", "app+attachment"),
    **{rf"api/v1/^applications/(?P<pk>\d+)/{route}/$": ("application", "app") for route in (
        "submit", "withdraw", "sign-off", "return", "recommend", "decline", "accept", "assign-experts", "score",
        "decide", "publish-notice", "object", "approve", "issue-certificate", "revoke")},
    r"api/v1/^applications/(?P<pk>\d+)/experts/$": ("expert-choice", "app:one"),  # A06, a county's
    r"api/v1/^applications/(?P<pk>\d+)/certificate-pdf/$": ("application", "app:certified"),
    r"api/v1/^applications/(?P<pk>\d+)/form-pdf/$": ("application", "app:one"),  # a render each: one target
    "api/v1/^programs/$": ("login", "none"),
    "api/v1/^batches/$": ("login", "none"),
    r"api/v1/^batches/(?P<pk>\d+)/$": ("batch-read", "batch"),
    r"api/v1/^batches/(?P<pk>\d+)/notice-pdf/$": ("batch-read", "batch"),
    r"api/v1/^batches/(?P<pk>\d+)/recommendation-pdf/$": ("city-document", "city"),
    r"api/v1/^batches/(?P<pk>\d+)/summary-pdf/$": ("city-document", "city"),
    r"api/v1/^batches/(?P<pk>\d+)/summary-xlsx/$": ("city-document", "city"),
    "api/v1/^organizations/$": ("login", "none"),
    "api/v1/^tasks/$": ("login", "none"),
    r"api/v1/^tasks/(?P<pk>\d+)/claim/$": ("claim", "open-task"),  # POST only: see POSTS
    "api/v1/^notifications/$": ("login", "none"),
    r"api/v1/^notifications/(?P<pk>\d+)/read/$": ("notification-owner", "notification"),  # POST only
    "": ("public", "none"),  # redirects to /approvals/
    "verify/": ("public", "none"),
    "verify/<str:token>/": ("public", "token"),
    "notice/<int:batch_id>/": ("public", "batch"),
    "registry/": ("public", "none"),
    "designations/reports/": ("login", "none"),
    "designations/reports/<int:pk>/": ("designation", "report"),
    "designations/reports/<int:pk>/<str:action>/": ("designation", "report"),  # POST only: see POSTS
    "designations/cases/": ("login", "none"),
    "designations/rectifications/<int:pk>/notice.pdf": ("designation", "rectification"),
    # The world's proposal is not decided: its 摘牌决定 does not exist yet (ALLOWED_MAY_BE_MISSING).
    "designations/revocations/<int:pk>/decision.pdf": ("designation", "revocation"),
    # A province's 评定结果通知: its staff and those under it, as the batch's notice.
    "designations/evaluation/<int:province_id>/<int:year>.pdf": ("batch-notice", "province-year"),
    # Aggregates within the person's own scope (nothing outside it is counted or named).
    "designations/dashboard/": ("login", "none"),
    "designations/dashboard/<str:name>.xlsx": ("login", "dashboard"),
    **{f"designations/{kind}/<int:pk>/{tail}": ("designation", target) for kind, target in CASE_TARGETS.items()
       for tail in ("", "<str:button>/")},  # the button routes are POST only: see POSTS
    "certificates/<int:pk>/pdf": ("application", "certificate"),
    "print/applications/<int:pk>/form.pdf": ("application", "app:one"),  # a render each: one target
    "print/batches/<int:batch_id>/recommendation.pdf": ("city-document", "city"),
    "print/batches/<int:batch_id>/summary.pdf": ("city-document", "city"),
    "print/batches/<int:batch_id>/summary.xlsx": ("city-document", "city"),
    "print/batches/<int:batch_id>/notice.pdf": ("batch-notice", "batch"),
    "print/batches/<int:batch_id>/issue-all": ("issue-officer", "batch"),
    "print/batches/<int:batch_id>/issue-runs/<int:run_id>/": ("issue-officer", "issue-run"),
    "print/batches/<int:batch_id>/issue-runs/<int:run_id>/progress.json": ("issue-officer", "issue-run"),
    "notifications/": ("login", "none"),
    "notifications/unread.json": ("login", "none"),
    "notifications/<int:pk>/read/": ("notification-owner", "notification"),
    "notifications/read-all/": ("login", "none"),
    "notifications/preferences/": ("login", "none"),
    # The menu entries of the sections (config/site.py), shadowed by the pages of the same path.
    "designations/reports/ #designations:index": ("login", "unreachable"),
    "notifications/ #workflows:index": ("login", "unreachable"),
    " #index": ("public", "unreachable"),  # viewflow's site index, shadowed by the redirect above
    "approvals/": ("login", "none"),
    "approvals/ #approvals:index": ("login", "unreachable"),  # shadowed by the dashboard
    "approvals/applications/": ("login", "none"),
    "approvals/applications/new/": ("create-form", "create"),
    "approvals/applications/<int:pk>/": ("application", "app"),
    "approvals/applications/<int:pk>/edit/": ("application", "app"),
    "approvals/applications/<int:pk>/attachments/": ("application", "app"),
    "approvals/applications/<int:pk>/<str:action>/": ("application", "app"),  # POST only: see POSTS
    "approvals/attachments/<int:pk>/": ("application", "attachment"),
    "approvals/audit-digests/": ("audit-digests", "none"),
    "approvals/audit-digests/<int:number>/": ("audit-digests", "digest"),
    "approvals/audit-digests/public-key.pem": ("audit-digests", "none"),
    "security/log/": ("security-log", "security-event"),
    "api/v1/^security-events/$": ("security-log", "security-event"),
    "security/log.xlsx": ("security-log", "security-event"),
    "approvals/reports/": ("login", "none"),
    "approvals/reports.xlsx": ("login", "none"),
    "approvals/batches/<int:batch_id>/city/": ("city-batch", "batch"),
    "workflow/": ("login", "none"),
    "workflow/queue/assign/": ("pool-task", "none"),
    "workflow/inbox/unassign/": ("pool-task", "none"),
    "workflow/inbox/": ("login", "none"),
    "workflow/queue/": ("login", "none"),
    "workflow/archive/": ("login", "none"),
    "workflow/flows/": ("viewflow", "none"),
    "workflow/flows/application/": ("viewflow", "none"),
    "workflow/flows/application/flows/": ("viewflow", "none"),
    "workflow/flows/application/tasks/": ("viewflow", "none"),
    "workflow/flows/application/chart/": ("viewflow", "none"),
    "workflow/flows/application/<int:process_pk>/": ("viewflow", "process"),
    "workflow/flows/application/<int:process_pk>/cancel/": ("viewflow", "process"),
    "workflow/flows/application/<int:process_pk>/chart/": ("viewflow", "process"),
    "admin/": ("admin-site", "none"),
    "admin/login/": ("public", "none"),
    "admin/logout/": ("public-either", "none"),
    "admin/password_change/": ("admin-site", "none"),
    "admin/password_change/done/": ("admin-site", "none"),
    "admin/autocomplete/": ("admin-shortcut", "none"),
    "admin/jsi18n/": ("admin-site", "none"),
    "admin/r/<path:content_type_id>/<path:object_id>/": ("admin-shortcut", "view-on-site"),
    "admin/^(?P<app_label>…)/$": ("admin-site", "app-label"),
    "admin/(?P<url>.*)$": ("none", "catch-all"),
    "admin/workflows/calendaryear/import-notice/": ("superuser-only", "none"),
}
# The views of each node of the application flow (viewflow's task pages, /workflow/flows/application/
# <process>/<node>/<task>/<view>/); every one is a viewflow-task page.
VIEWFLOW_NODES = {
    "start": ("undo", "index", "detail"),
    "edit": ("revive", "undo", "cancel", "index", "detail", "execute", "assign", "unassign"),
    "sign_off": ("revive", "undo", "cancel", "index", "detail", "execute", "assign", "unassign"),
    "review_in_city": ("revive", "undo", "cancel", "index", "detail", "execute", "assign", "unassign"),
    "check_in_province": ("revive", "undo", "cancel", "index", "detail", "execute", "assign", "unassign"),
    "assign_experts": ("revive", "undo", "cancel", "index", "detail", "execute", "assign", "unassign"),
    "score": ("revive", "undo", "cancel", "index", "detail", "execute", "assign", "unassign"),
    "decide": ("revive", "undo", "cancel", "index", "detail", "execute", "assign", "unassign"),
    "publish_notice": ("revive", "undo", "cancel", "index", "detail", "execute", "assign", "unassign"),
    "notice_period": ("revive", "index", "detail"),
    "wait_notice": ("revive", "cancel", "index", "detail"),
    "uphold_objection": ("revive", "undo", "cancel", "index", "detail", "execute", "assign", "unassign"),
    "issue_certificate": ("revive", "undo", "cancel", "index", "detail"),
    "end": ("revive", "undo", "index", "detail"),
}
# Models in the admin (app_label/model) and their class; each has a changelist, add, history, delete,
# change and an object URL that redirects to change.
ADMIN_MODELS = {
    "auth/user": "admin-scoped",
    "orgs/organization": "admin-scoped",
    "orgs/membership": "security-scoped",
    "approvals/batch": "admin-scoped",
    "auth/group": "superuser-only",
    "viewflow/process": "superuser-only",
    "viewflow/task": "superuser-only",
    "axes/accessattempt": "superuser-only",
    "axes/accesslog": "superuser-only",
    "axes/accessfailurelog": "superuser-only",
    "orgs/division": "reference-data",
    "approvals/program": "superuser-only",
    "approvals/bannedsubject": "superuser-only",
    "approvals/application": "superuser-only",
    "approvals/auditevent": "superuser-only",
    "approvals/effect": "superuser-only",  # the outbox of effects after commit
    "workflows/calendaryear": "superuser-only",
    "workflows/calendarday": "superuser-only",
    "workflows/taskdeadline": "superuser-only",
    "workflows/notification": "superuser-only",
    "workflows/emailoutbox": "superuser-only",
    "orgs/delegation": "security-scoped",
}
# Admin models whose rows nobody deletes (a delegation is cancelled, and stays on record).
ADMIN_NO_DELETE = {"orgs/delegation"}
ADMIN_VIEWS = ("changelist", "add", "history", "delete", "change", "object")
# Routes of the admin that belong to one model besides ADMIN_VIEWS.
ADMIN_EXTRA = {"admin/auth/user/<id>/password/": ("auth/user", "password")}

# POSTs (and PATCH, DELETE) per route: (variant, class or action, target). An action's targets are the
# world's applications in its stages (ACTION_OWNERS) and one in another stage (WRONG_STAGE).
WEB_ACTIONS = {  # the web's action names → the action they are
    "submit": "submit", "sign_off": "sign_off", "recommend": "recommend", "accept": "accept",
    "assign_experts": "assign_experts", "score": "score", "decide_approve": "decide", "decide_reject": "decide",
    "publish_notice": "publish_notice", "object": "object", "approve": "approve",
    "issue_certificate": "issue_certificate", "return": "return", "decline": "decline", "withdraw": "withdraw",
    "revoke": "revoke",
}
API_ACTIONS = {
    "submit": "submit", "withdraw": "withdraw", "sign-off": "sign_off", "return": "return",
    "recommend": "recommend", "decline": "decline", "accept": "accept", "assign-experts": "assign_experts",
    "score": "score", "decide": "decide", "publish-notice": "publish_notice", "object": "object",
    "approve": "approve", "issue-certificate": "issue_certificate", "revoke": "revoke",
}
POSTS = {
    "approvals/applications/new/": [("POST", "create", "action:create")],
    "approvals/applications/<int:pk>/edit/": [("POST", "edit", "action:edit")],
    "approvals/applications/<int:pk>/attachments/": [("POST", "upload", "action:edit")],
    "approvals/applications/<int:pk>/<str:action>/": [("POST", name, f"action:{action}")
                                                      for name, action in WEB_ACTIONS.items()]
    + [("POST", "no-such-action", "none")],
    "approvals/batches/<int:batch_id>/city/": [("POST", "bulk-recommend", "action:recommend")],
    "api/v1/^applications/$": [("POST", "create", "action:create")],
    r"api/v1/^applications/(?P<pk>\d+)/$": [("PATCH", "edit", "action:edit")],
    r"api/v1/^applications/(?P<pk>\d+)/attachments/$": [("POST", "upload", "action:edit")],
    r"api/v1/^applications/(?P<pk>\d+)/attachments/(?P<attachment_id>\d+)/$": [("DELETE", "remove", "action:edit")],
    **{rf"api/v1/^applications/(?P<pk>\d+)/{route}/$": [("POST", route, f"action:{action}")]
       for route, action in API_ACTIONS.items()},
    "api/v1/auth/token/": [("POST", "token", "public-either")],
    r"api/v1/^tasks/(?P<pk>\d+)/claim/$": [("POST", "claim", "claim")],
    r"api/v1/^notifications/(?P<pk>\d+)/read/$": [("POST", "read", "notification-owner")],
    "i18n/setlang/": [("POST", "setlang", "public")],
    "accounts/logout/": [("POST", "logout", "public-either")],
    # New recovery codes: whoever is logged in (unverified, as everyone here, is sent to enrol first).
    "accounts/2fa/recovery/": [("POST", "renew", "login")],
    "admin/logout/": [("POST", "logout", "public-either")],
    "verify/<str:token>/": [("POST", "compare", "public")],
    "designations/reports/<int:pk>/<str:action>/": [("POST", "report_submit", "report-submit"),
                                                    ("POST", "save", "report-submit"),
                                                    ("POST", "report_sign_off", "report-not-now"),
                                                    ("POST", "report_grade", "report-not-now")],
    # The world's open rectification (K1's clerk submits), revocation proposal (the province's leader decides)
    # and draft renewal (K1's clerk fills and submits); the other buttons are for nobody now.
    "designations/rectifications/<int:pk>/<str:button>/": [("POST", "rectify_submit", "report-submit"),
                                                           ("POST", "rectify_pass", "report-not-now")],
    "designations/revocations/<int:pk>/<str:button>/": [("POST", "revocation_keep", "revocation-decide")],
    "designations/renewals/<int:pk>/<str:button>/": [("POST", "renewal_submit", "report-submit"),
                                                     ("POST", "renewal_save", "report-submit"),
                                                     ("POST", "renewal_approve", "report-not-now")],
    "print/batches/<int:batch_id>/issue-all": [("POST", "issue-all", "issue-officer")],
    "notifications/<int:pk>/read/": [("POST", "read", "notification-owner")],
    "notifications/read-all/": [("POST", "read-all", "login")],
    "notifications/preferences/": [("POST", "preferences", "login")],
    "workflow/queue/assign/": [("POST", "assign", "pool-task")],
    "workflow/inbox/unassign/": [("POST", "unassign", "pool-task")],
    "workflow/flows/application/<int:process_pk>/cancel/": [("POST", "cancel", "viewflow")],
}
VIEWFLOW_POST_VIEWS = ("revive", "undo", "cancel", "execute", "assign", "unassign")
# POSTs of every admin model: add (a new object at the target organization), change (one field), delete,
# and the changelist's delete action.
ADMIN_POST_VIEWS = ("add", "change", "delete", "changelist")
ADMIN_CHANGED_FIELD = {
    "auth/user": ("first_name", "矩阵改名"), "orgs/organization": ("name", "矩阵改名科协"),
    "orgs/membership": ("valid_from", "2020-01-01"), "approvals/batch": ("name", "矩阵改名批次"),
    "orgs/delegation": ("reason", "矩阵改写理由"),  # read-only after recording: saving changes nothing
}


# ======================================================================================= the cases


SUFFIX = r"\.(?P<format>[a-z0-9]+)/?$"  # DRF's format suffix of a route


def route_key(route: str) -> str:
    """The table key of a route: the route itself, but the admin's app list without its list of app labels
    (it changes with every app registered). A later pattern of a route already seen (shadowed) is keyed
    as the route plus " #name" (project_patterns)."""
    if route.startswith("admin/^(?P<app_label>"):
        return "admin/^(?P<app_label>…)/$"
    return route


def table_keys() -> dict:
    """Every key the tables name → (class, target)."""
    keys = dict(URLS)
    suffix = SUFFIX
    from config.api_urls import router

    if router.include_format_suffixes:  # DRF's ".json" twins of the routes, when the router makes them
        for route, entry in list(URLS.items()):
            if route.startswith("api/v1/^") and route.endswith("/$"):
                keys[route[:-2] + suffix] = (entry[0], entry[1] + ":format")
            elif route == "api/v1/^applications/$":
                keys[r"api/v1/^applications" + suffix] = (entry[0], "none:format")
        keys["api/v1/<drf_format_suffix:format>"] = ("public-either", "root:format")
    for node, views in VIEWFLOW_NODES.items():
        for view in views:
            tail = "" if view == "index" else f"{view}/"
            keys[f"workflow/flows/application/<int:process_pk>/{node}/<int:task_pk>/{tail}"] = (
                "viewflow-task", f"task:{node}")
    for model, klass in ADMIN_MODELS.items():
        for view, tail in zip(ADMIN_VIEWS, ("", "add/", "<path:object_id>/history/", "<path:object_id>/delete/",
                                            "<path:object_id>/change/", "<path:object_id>/"), strict=True):
            keys[f"admin/{model}/{tail}"] = (klass, f"admin:{model}:{view}")
    for route, (model, view) in ADMIN_EXTRA.items():
        keys[route] = (ADMIN_MODELS[model], f"admin:{model}:{view}")
    return keys


def project_patterns() -> dict:
    """Table key → Pattern, for every URL pattern of the project."""
    found = {}
    for pattern in url_patterns():
        key = route_key(pattern.route)
        if key in found:
            key = f"{pattern.route} #{pattern.name}"
        found[key] = pattern
    return found


def level_of(world, subject_org: str, app) -> str:
    """applicant, city, province or elsewhere: where the subject's organization stands to an application."""
    if subject_org is None:
        return "elsewhere"
    app_org = app.org
    city = app_org if ORGS[app_org][2] == "city" else world.parent[app_org]
    province = world.parent[city]
    if subject_org == app_org:
        return "applicant"
    if subject_org == city:
        return "city"
    if subject_org == province:
        return "province"
    return "elsewhere"


def relation(world, subject, target) -> tuple[str, str | None]:
    """(relation, the delegator's relation for a delegate in force)."""
    if subject.kind in ("anonymous", "superuser") or subject.kind in OUTSIDERS:
        return subject.kind, None
    org_relation = world.org_relation(subject.org, target.org) if target.org else "own"
    if subject.kind == "delegate_in":
        return "delegate_in", org_relation
    if target.task is not None and target.task.owner_id == subject.user.pk:
        return "owner", None
    if target.app is not None and subject.role == "expert" and subject.key in target.app.experts:
        return target.app.experts[subject.key], None
    return org_relation, None


def expected(klass: Klass, subject, rel: str, delegator_rel: str | None) -> str:
    if rel == "anonymous":
        return klass.anonymous
    if rel == "superuser":
        return klass.superuser
    if rel in OUTSIDERS:
        return klass.outsider
    if rel == "owner":
        return klass.owner
    if rel == "delegate_in":
        if subject.role not in DELEGABLE:
            return klass.outsider
        rel = delegator_rel
    if klass.grid is None:
        return klass.member
    if klass.by_level:
        rel = ORGS[subject.org][2]
    return klass.grid.get((subject.role, rel), D)


def stands_at(world, org: str | None, applicant: str, level: str) -> bool:
    """Whether an organization is the applicant's, its city's or its province's (level)."""
    if org is None:
        return False
    city = applicant if ORGS[applicant][2] == "city" else world.parent[applicant]
    return org == {"applicant": applicant, "city": city, "province": world.parent[city]}[level]


def action_expected(world, action: str, stage: str, applicant: str, subject, rel: str) -> str:
    """A for the owner of the action at this stage (and a delegate of the owner), D for everybody else."""
    owner = ACTION_OWNERS[action].get(stage)
    if owner is None or subject.kind not in ("member", "delegate_in"):
        return D
    role, level = owner
    if subject.role != role:
        return D
    if level == "assigned":
        return A if subject.kind == "member" and rel == "assigned" else D
    if subject.kind == "delegate_in" and role not in DELEGABLE:
        return D
    return A if stands_at(world, subject.org, applicant, level) else D


@dataclass
class Target:
    label: str
    values: dict
    org: str | None = None  # the organization the relation is taken to
    app: object = None  # an App of the world
    task: object = None
    query: str = ""
    stage: str = ""


def subjects_for(world, klass: Klass, target: Target, *, per_role=False):
    """The subjects to ask about a target: one per (role, relation) (every relation of every role), or
    with per_role one per (role, kind)."""
    seen = set()
    for subject in world.subjects.values():
        rel, delegator_rel = relation(world, subject, target)
        key = (subject.role, rel, delegator_rel)
        by_kind = per_role or (klass.relation_roles is not None and subject.role not in klass.relation_roles)
        if by_kind and not FULL:
            # One member per role; of the other kinds one in all (the admin's own kinds count: an expired
            # 管理员 still has the staff flag).
            key = (subject.role, subject.kind) if subject.kind == "member" or subject.role in ADMIN_SITE_ROLES \
                else (subject.kind,)
        if klass.by_level and subject.org:
            key = (*key, ORGS[subject.org][2])
        if rel == "owner":
            key = ("owner",)
        if key in seen:
            continue
        seen.add(key)
        yield subject, rel, delegator_rel


def visible_apps(world, subject) -> set:
    """Keys of the applications the subject may see (APPLICATION_READ)."""
    keys = set()
    for key, app in world.apps.items():
        target = Target(key, {}, org=app.org, app=app)
        rel, delegator_rel = relation(world, subject, target)
        if expected(CLASSES["application"], subject, rel, delegator_rel) == A:
            keys.add(key)
    return keys


def visible_scores(world, subject) -> set:
    markers = set()
    for app in world.apps.values():
        for expert, marker in app.score_markers.items():
            if subject.kind in ("anonymous", "superuser") or subject.kind in OUTSIDERS:
                continue
            if SCORE_OWN and subject.key == expert and subject.kind == "member":
                markers.add(marker)
                continue
            if subject.kind == "delegate_in" and subject.role not in DELEGABLE:
                continue
            level = level_of(world, subject.org, app)
            cells = [SCORE_READ.get((subject.role, level), D)]
            if level == "applicant" and ORGS[app.org][2] == "city":
                cells.append(SCORE_READ.get((subject.role, "city"), D))
            if A in cells:
                markers.add(marker)
    return markers


class Context:
    """What the case builders share: the world, markers, tokens, forms read once."""

    def __init__(self, world):
        self.world = world
        self.tokens = {Token.objects.get_or_create(user=world.user(k))[0].key for k in ("reviewer@P", "admin@P")}
        self.all_app_markers = {a.marker for a in world.apps.values()}
        self.all_score_markers = {m for a in world.apps.values() for m in a.score_markers.values()}
        self._forbidden, self._required, self._admin_foreign = {}, {}, {}

    def forbidden(self, subject, extra_allowed=frozenset(), *, public=False) -> frozenset:
        """Markers the subject may not see: applications it may not see, scores, API tokens, and (but on
        public pages) the names of the organizations of a province it holds no role in."""
        if subject.key not in self._forbidden:
            apps = visible_apps(self.world, subject)
            shown = {self.world.apps[k].marker for k in apps} | visible_scores(self.world, subject)
            self._forbidden[subject.key] = frozenset(
                (self.all_app_markers | self.all_score_markers | self.tokens) - shown)
            self._required[subject.key] = frozenset(self.world.apps[k].marker for k in apps)
        names = frozenset() if public else self.other_province_names(subject)
        return (self._forbidden[subject.key] | names) - extra_allowed

    def other_province_names(self, subject) -> frozenset:
        w = self.world
        if subject.org is None:
            return frozenset()
        own = w.province_of(subject.org)
        return frozenset(w.org[o].name for o in ORGS if w.province_of(o) != own)

    def required(self, subject) -> frozenset:
        self.forbidden(subject)
        return self._required[subject.key]

    def _superuser_get(self, url) -> str:
        from django.db import transaction
        from django.test import Client

        client = Client()
        client.force_login(self.world.user("superuser"), backend="django.contrib.auth.backends.ModelBackend")
        with transaction.atomic():
            response = client.get(url)
            transaction.set_rollback(True)
        assert response.status_code == 200, f"{url}: {response.status_code}"
        return response.content.decode()

    def edit_form(self, app) -> dict:
        """The web form of a draft of the application's program as its clerk fills it, with a new address
        (what a clerk would post; only a draft has the form)."""
        from django.db import transaction
        from django.test import Client

        draft = self.world.apps["A16" if ORGS[app.org][2] == "city" else "A01"]
        client = Client()
        client.force_login(self.world.user(f"clerk@{draft.org}"), backend="django.contrib.auth.backends.ModelBackend")
        with transaction.atomic():
            response = client.get(f"/approvals/applications/{draft.pk}/edit/")
            transaction.set_rollback(True)
        assert response.status_code == 200, response.status_code
        data = form_data(response.content.decode(), "application-form")
        data["f_address"] = "矩阵新地址"
        return data

    def admin_change_form(self, model, pk) -> dict:
        """The admin's change form of an object as the superuser sees it, with one field changed."""
        data = form_data(self._superuser_get(f"/admin/{model}/{pk}/change/"), f"{model.split('/')[1]}_form")
        field, value = ADMIN_CHANGED_FIELD[model]
        data[field] = value
        return data

    def admin_add_form(self, model, org) -> dict:
        """The admin's add form as the superuser sees it, filled in for a new object at `org`."""
        w = self.world
        data = form_data(self._superuser_get(f"/admin/{model}/add/"), f"{model.split('/')[1]}_form")
        if model == "auth/user":
            data.update(username="mx_added_z", password1="Matrix-pass-2026", password2="Matrix-pass-2026",
                        usable_password="true")
        elif model == "orgs/organization":
            data.update(name="矩阵新学会", kind="society", level="county", parent=w.org[org].pk, active="on")
        elif model == "orgs/membership":
            data.update(user=w.user("nobody").pk, organization=w.org[org].pk, role="auditor")
        elif model == "orgs/delegation":
            delegator = {"K1": "clerk@K1", "C": "reviewer@C", "P": "reviewer@P"}[org]
            data.update(delegator=w.user(delegator).pk, delegate=w.user("nobody").pk, organization=w.org[org].pk,
                        role=delegator.split("@")[0], starts_on=w.today.isoformat(),
                        ends_on=(w.today + dt.timedelta(days=5)).isoformat(), reason="矩阵代办理由")
        elif model == "approvals/batch":
            today = w.today
            data.update(program=Program.objects.get(code="collaborative-innovation-base").pk,
                        province=w.org[org].pk, year=today.year, name="矩阵新批次",
                        opens_on=(today + dt.timedelta(days=1)).isoformat(),
                        closes_on=(today + dt.timedelta(days=40)).isoformat(), notice_workdays=5, thresholds="[]")
        return data

    def admin_foreign(self, subject) -> frozenset:
        """What a 管理员 of X must not see in the admin: users, organizations and batches outside X's
        subtree (organizations above X may appear, as the parent of X)."""
        if subject.key in self._admin_foreign:
            return self._admin_foreign[subject.key]
        w = self.world
        inside = {o for o in ORGS if w.org_relation(subject.org, o) in ("own", "parent", "ancestor")}
        above = set(w.ancestors(subject.org))
        org_keys = {o.pk: k for k, o in w.org.items()}
        member_of = {}  # a user belongs where they hold a membership or act as a delegate
        from orgs.models import Delegation

        for user_id, org_id in [*Membership.objects.values_list("user_id", "organization_id"),
                                *Delegation.objects.values_list("delegate_id", "organization_id")]:
            member_of.setdefault(user_id, set()).add(org_keys.get(org_id))
        users = {s.user.username for s in w.subjects.values()
                 if s.user is not None and not member_of.get(s.user.pk, set()) & inside}
        orgs = {w.org[o].name for o in ORGS if o not in inside and o not in above}
        batches = {b.name for b in w.batch.values() if org_keys[b.province_id] not in inside}
        self._admin_foreign[subject.key] = frozenset(users | orgs | batches)
        return self._admin_foreign[subject.key]

    def public_markers(self) -> frozenset:
        """Applications whose 公示 is published: on the public notice page and in the notice list."""
        return frozenset(self.world.apps[k].marker for k in ("A09", "A10", "A11", "A12"))


# ------------------------------------------------------------------------------------------- targets


def targets_for(ctx: Context, target_kind: str, klass_name: str) -> list[Target]:
    w = ctx.world
    kind = target_kind.split(":")[0] if not target_kind.startswith(("task:", "admin:")) else target_kind
    fmt = {"format": "json"} if target_kind.endswith(":format") else {}
    if kind == "none":
        return [Target("-", fmt)]
    if kind == "root":
        return [Target("-", {"format": ".json"})]
    if kind == "digest":
        return [Target("digest 1", {"number": 1})]
    if target_kind == "app:certified":
        return [Target("A12", {"pk": w.apps["A12"].pk}, org=w.apps["A12"].org, app=w.apps["A12"])]
    if kind == "app":
        keys = READ_APPS[:1] if target_kind == "app:one" else READ_APPS
        return [Target(k, {"pk": w.apps[k].pk, **fmt}, org=w.apps[k].org, app=w.apps[k]) for k in keys]
    if kind == "app+attachment":
        return [Target(k, {"pk": w.apps[k].pk, "attachment_id": w.attachment[k].pk, **fmt}, org=w.apps[k].org,
                       app=w.apps[k]) for k in READ_APPS]
    if kind == "attachment":
        return [Target(k, {"pk": w.attachment[k].pk}, org=w.apps[k].org, app=w.apps[k]) for k in READ_APPS]
    if kind == "certificate":
        return [Target("A12", {"pk": w.certificate.pk}, org="K1", app=w.apps["A12"])]
    if kind == "token":
        return [Target("A12", {"token": w.certificate.token})]
    if kind == "report":
        return [Target("A12 report", {"pk": w.report.pk}, org="K1", app=w.apps["A12"])]
    if kind == "province-year":
        return [Target(p, {"province_id": w.org[p].pk, "year": dt.date.today().year}, org=p) for p in ("P", "Q")]
    if kind == "security-event":  # the log filtered to one marked event (world._build_security_events)
        # By the user name (the marker is the event's target: a text filter would echo it in its field).
        return [Target(f"event of clerk@{o or 'none'}", {}, org=o,
                       query=f"?user={w.user(f'clerk@{o}').username if o else UNKNOWN_NAME}")
                for o in (*SECURITY_EVENT_ORGS, None)]
    if kind == "dashboard":
        return [Target(name, {"name": name}) for name in ("reports", "renewals")]
    if kind in CASE_TARGETS.values():
        item = {"rectification": w.rectification, "revocation": w.proposal, "renewal": w.renewal}[kind]
        return [Target(f"A12 {kind}", {"pk": item.pk}, org="K1", app=w.apps["A12"])]
    if kind == "reset":
        return [Target("-", {"uidb64": "MQ", "token": "set-password"})]
    if kind == "batch":
        return [Target(b, {"batch_id": w.batch[b].pk, "pk": w.batch[b].pk}, org="P" if b == "B" else "Q")
                for b in ("B", "BQ")]
    if kind == "city":
        return [Target(f"B?city={c}", {"batch_id": w.batch["B"].pk, "pk": w.batch["B"].pk}, org=c,
                       query=f"?city={w.org[c].pk}")
                for c in ("C", "C2")]
    if kind == "issue-run":
        return [Target("run", {"batch_id": w.batch["B"].pk, "run_id": w.issue_run.pk}, org="P")]
    if kind == "notification":
        return [Target("note", {"pk": w.notification.pk}, org="K1",
                       task=_Owned(w.notification.user_id))]
    if kind == "open-task":  # A03's task in 城市审核, open in the pool of C's reviewers
        task = w.apps["A03"].application.process.task_set.filter(status="NEW", flow_task_type="HUMAN").first()
        return [Target(f"open task #{task.pk}", {"pk": task.pk}, org="C", task=task)]
    if kind == "process":
        return [Target("A12", {"process_pk": w.apps["A12"].application.process_id}, org="K1", app=w.apps["A12"])]
    if kind == "create":
        return [Target(f"{b}/{o}", {}, org=o, query=f"?batch={w.batch[b].pk}&org={w.org[o].pk}", stage="batch")
                for b, o in (("B", "K1"), ("BC2", "C2"))]
    if kind == "view-on-site":
        from django.contrib.contenttypes.models import ContentType

        ct = ContentType.objects.get_for_model(Application)
        return [Target("A06", {"content_type_id": ct.pk, "object_id": w.apps["A06"].pk})]
    if kind == "app-label":
        return [Target("orgs", {"app_label": "orgs"})]
    if kind == "catch-all":
        return [Target("-", {"url": "no-such-page/"})]
    if kind.startswith("task:"):
        node = kind.split(":")[1]
        task = _task_of(w, node)
        return [Target(f"{node}#{task.pk}", {"process_pk": task.process_id, "task_pk": task.pk}, org="K1",
                       task=task)]
    if kind.startswith("admin:"):
        _, model, view = kind.split(":")
        return _admin_targets(ctx, model, view, klass_name)
    if kind == "unreachable":
        return []
    raise KeyError(target_kind)


@dataclass
class _Owned:
    owner_id: int


def _task_of(world, node):
    """A task of the node: the certified application's if it has one, else the newest of any."""
    task = Task.objects.filter(process_id=world.apps["A12"].application.process_id,
                               flow_task=_flow_task(node)).order_by("pk").first()
    if task is None:
        task = Task.objects.filter(flow_task=_flow_task(node)).order_by("-pk").first()
    assert task is not None, f"the world has no task of node {node}"
    return task


def _flow_task(node):
    from workflows.flows import ApplicationFlow

    return getattr(ApplicationFlow, node)


# Objects at K1, C and P give a 管理员 of every organization every relation (own, parent, ancestor,
# child, descendant, sibling, other_branch, other_province).
ADMIN_ANCHORS = ("K1", "C", "P")


def _admin_object(ctx, model, org):
    w = ctx.world
    if model == "auth/user":
        return w.user(f"clerk@{org}").pk
    if model == "orgs/organization":
        return w.org[org].pk
    if model == "orgs/membership":
        return Membership.objects.get(user=w.user(f"clerk@{org}"), organization=w.org[org]).pk
    if model == "approvals/batch":
        return w.batch["B" if org == "P" else "BQ"].pk
    if model == "orgs/delegation":
        from orgs.models import Delegation

        return Delegation.objects.filter(organization=w.org[org]).order_by("pk").first().pk
    raise KeyError(model)


def _admin_targets(ctx, model, view, klass_name):
    from django.apps import apps

    app_label, model_name = model.split("/")
    if klass_name in SCOPED_ADMIN_CLASSES:
        anchors = ("P", "Q") if model == "approvals/batch" else ADMIN_ANCHORS
        if view in ("changelist", "add"):
            return [Target(f"{model}:{view}", {}, org=None)]
        return [Target(f"{model}@{org}", {"object_id": _admin_object(ctx, model, org), "id": _admin_object(
            ctx, model, org)}, org=org) for org in anchors]
    if view in ("changelist", "add"):
        return [Target(f"{model}:{view}", {})]
    model_class = apps.get_model(app_label, model_name)
    first = model_class._base_manager.order_by("pk").first()
    pk = first.pk if first is not None else 1
    return [Target(f"{model}#{pk}", {"object_id": pk, "id": pk})]


# ---------------------------------------------------------------------------------------- GET cases

# Variants of a GET route that a query string selects, each judged by a class of its own: route →
# [(query, class)]. Their cases carry the query as their variant.
GET_VARIANTS = {
    "print/applications/<int:pk>/form.pdf": [("copy=province", "province-copy")],
}
# Classes whose allowed answers must show the target's expert comment markers.
SHOWS_SCORES = ("province-copy",)

# Routes whose object the world does not have: who is allowed may get a 404 too.
ALLOWED_MAY_BE_MISSING = {"approvals/audit-digests/<int:number>/": "the world has signed no audit digest",
                         "designations/revocations/<int:pk>/decision.pdf": "the world's proposal is not decided"}
# Query strings a GET needs (the diff of revision 1 with itself: every application here has one).
QUERIES = {r"api/v1/^applications/(?P<pk>\d+)/revisions/diff/$": "?old=1&new=1",
           # Every Excel export states its purpose (security.exports); without one it asks for it.
           r"api/v1/^batches/(?P<pk>\d+)/summary-xlsx/$": "&purpose=核对",
           "print/batches/<int:batch_id>/summary.xlsx": "&purpose=核对",
           "designations/dashboard/<str:name>.xlsx": "?purpose=核对", "approvals/reports.xlsx": "?purpose=核对",
           "security/log.xlsx": "&purpose=核对"}
# Listings that show every application the subject may see (one page holds the whole world).
COMPLETE_LISTS = ("approvals/applications/", "api/v1/^applications/$")
# Routes that only take POST (or PATCH, DELETE): a GET may not show anything ("N": refused or 405).
POST_ONLY = {
    "approvals/applications/<int:pk>/<str:action>/", "designations/reports/<int:pk>/<str:action>/", "approvals/applications/<int:pk>/attachments/",
    *CASE_ROUTES,
    "notifications/<int:pk>/read/", "notifications/read-all/", "accounts/logout/",
    r"api/v1/^applications/(?P<pk>\d+)/attachments/(?P<attachment_id>\d+)/$",
    *(rf"api/v1/^applications/(?P<pk>\d+)/{route}/$" for route in API_ACTIONS),
    r"api/v1/^tasks/(?P<pk>\d+)/claim/$", r"api/v1/^notifications/(?P<pk>\d+)/read/$",
}


def get_cases(ctx: Context, key: str, pattern, klass_name: str, target_kind: str, variant: str = ""):
    klass = CLASSES[klass_name]
    per_role = klass.per_role or target_kind.endswith(":format")
    route = key.split(" #")[0]
    for target in targets_for(ctx, target_kind, klass_name):
        values = dict(target.values)
        if route == "approvals/applications/<int:pk>/<str:action>/":
            values["action"] = "submit"
        if route == "designations/reports/<int:pk>/<str:action>/":
            values["action"] = "report_submit"
        if route in CASE_ROUTES:
            values["button"] = POSTS[route][0][1]
        url = build_url(route, values) + target.query + QUERIES.get(key.replace(SUFFIX, "/$"), "")
        if variant:
            url += ("&" if "?" in url else "?") + variant
        assert resolves_to(url, pattern.route), f"{url} does not resolve to {key}"
        base_key = key.replace(SUFFIX, "/$")
        for subject, rel, delegator_rel in subjects_for(ctx.world, klass, target, per_role=per_role):
            if base_key in POST_ONLY:
                want = "N"
            elif klass_name == "pool-task":
                want = E if subject.kind != "anonymous" else D  # a GET only says "nothing selected"
            elif target_kind.startswith("admin:") and target_kind.endswith((":object", ":add", ":delete")) \
                    and subject.kind == "superuser":
                # The object URL redirects to the change page; read-only models have no add or delete.
                want = E
            elif target_kind.startswith("admin:") and target_kind.endswith(":object"):
                want = E if subject.kind != "anonymous" else D
            elif klass_name == "admin-site":
                want = _admin_site_expected(subject)
            elif klass_name in SCOPED_ADMIN_CLASSES and target.org is None:
                want = _admin_site_expected(subject, roles=(SCOPED_ADMIN_CLASSES[klass_name],))
            else:
                want = expected(klass, subject, rel, delegator_rel)
            if target_kind.startswith("admin:") and target_kind.endswith(":delete") and \
                    target_kind.split(":")[1] in ADMIN_NO_DELETE:
                want = D
            if want == A and base_key in ALLOWED_MAY_BE_MISSING:
                want = E
            # The published notice list is public: on its page, in its PDF.
            allowed = ctx.public_markers() if klass_name in ("public", "batch-notice") else frozenset()
            if subject.kind == "superuser":
                forbidden = frozenset(ctx.tokens)
            else:
                forbidden = ctx.forbidden(subject, allowed, public=klass_name in ("public", "public-either"))
            if klass_name in ("admin-site", *SCOPED_ADMIN_CLASSES) and subject.role in ADMIN_SITE_ROLES \
                    and subject.kind == "member":
                forbidden = forbidden | ctx.admin_foreign(subject)
            required = ctx.required(subject) if key in COMPLETE_LISTS and subject.kind not in (
                "superuser", "anonymous") else frozenset()
            if klass_name in SHOWS_SCORES and want == A:
                required = frozenset(target.app.score_markers.values())
            if klass_name == "security-log" and want == A:
                marker = frozenset({security_marker(target.org)})
                if _security_event_shown(subject, rel, target):
                    required = marker
                else:
                    forbidden = forbidden | marker
            yield Case(klass_name, key, "GET", url, subject.key, target.label, _rel_label(rel, delegator_rel),
                       want, forbidden=forbidden, required=required, variant=variant,
                       invisible=bool(variant) and want == D and not _sees_app(subject, rel, delegator_rel))


def _security_event_shown(subject, rel, target) -> bool:
    """Whether the security log shows an auditor the target's marked event (SECURITY_LOG_SHOWN)."""
    if target.org is None:
        return ORGS[subject.org][2] == "province"
    return SECURITY_LOG_SHOWN.get((subject.role, rel), D) == A


def _sees_app(subject, rel, delegator_rel) -> bool:
    """Whether the subject may see the application (a variant's refusal then may say 403)."""
    return expected(CLASSES["application"], subject, rel, delegator_rel) in (A, E)


def _rel_label(rel, delegator_rel):
    return f"{rel}:{delegator_rel}" if delegator_rel else rel


def _admin_site_expected(subject, roles=ADMIN_SITE_ROLES) -> str:
    """The admin's own pages and a model's list and add form: every current 管理员, the superuser."""
    if subject.kind == "superuser":
        return A
    return A if subject.kind == "member" and subject.role in roles else D


# --------------------------------------------------------------------------------------- POST cases

COMMENT = "矩阵意见"


def _json_body(ctx, action, app):
    w = ctx.world
    body = {"comment": COMMENT}
    if action == "assign_experts":
        body = {"expert_ids": [w.user("expert@P#2").pk, w.user("expert@P#3").pk]}
    elif action == "score":
        body = {"score": "88.0", "comment": COMMENT}
    elif action == "decide":
        body = {"approve": True, "comment": COMMENT}
    elif action == "publish_notice":
        body = {}
    elif action == "object":
        body = {"comment": COMMENT, "upheld": False}
    elif action == "issue_certificate":
        body = {}
    return body


def _web_body(ctx, name, app):
    w = ctx.world
    body = {"comment": COMMENT}
    if name == "assign_experts":
        body["experts"] = [w.user("expert@P#2").pk, w.user("expert@P#3").pk]
    elif name == "score":
        body["score"] = "88"
    elif name == "object":
        body["upheld"] = "0"
    return body


def _upload():
    return SimpleUploadedFile("矩阵附件.pdf", minimal_pdf("matrix"), content_type="application/pdf")


def action_targets(ctx, action):
    """(stage, app) to try the action on: every application in its stages, one in another stage."""
    stages = list(ACTION_OWNERS[action]) + [WRONG_STAGE[action]]
    for stage in stages:
        keys = STAGE_APPS[stage] if stage != WRONG_STAGE[action] else STAGE_APPS[stage][:1]
        for key in keys:
            yield stage, ctx.world.apps[key]


def post_cases(ctx: Context, key: str, pattern, method: str, variant: str, spec: str):
    route = key.split(" #")[0]
    if spec.startswith("action:"):
        yield from _action_cases(ctx, key, route, pattern, method, variant, spec.split(":")[1])
    else:
        yield from _class_post_cases(ctx, key, route, pattern, method, variant, spec)


def _action_cases(ctx, key, route, pattern, method, variant, action):
    w = ctx.world
    is_api = route.startswith("api/v1/")
    from config.api_urls import router

    fmt = ["", "json"] if is_api and router.include_format_suffixes else [""]
    if action == "create":
        # A draft of K1 in its own province's batch, of the city C2 in a batch where it has none yet, and
        # of K1 in another province's batch (refused to everybody). The collection's suffix route takes the
        # same POST.
        for batch, org in (("B", "K1"), ("BC2", "C2"), ("BQ", "K1")):
            stage = "batch" if w.batch[batch].province_id == w.org[w.province_of(org)].pk else "wrong-batch"
            target = Target(f"{batch}/{org}", {}, org=org, stage=stage)
            body = {"subject_name": "矩阵MXNEW公司", "division_code": w.division[org].code,
                    "uscc": uscc_for(999) if w.batch[batch].program.requires_uscc else ""}
            if is_api:
                url = build_url(route, {})
                data, ctype = {**body, "batch": w.batch[batch].pk, "applicant": w.org[org].pk, "form_data": {}}, "json"
            else:
                url = build_url(route, {}) + f"?batch={w.batch[batch].pk}&org={w.org[org].pk}"
                data, ctype = body, None
            assert resolves_to(url, pattern.route), url
            for subject, rel, delegator_rel in subjects_for(w, CLASSES["action"], target):
                yield Case(f"action:{action}", key, method, url, subject.key, target.label,
                           _rel_label(rel, delegator_rel), action_expected(w, "create", stage, org, subject, rel),
                           data=data, content_type=ctype, writes=True, variant=variant)
        return
    for stage, app in action_targets(ctx, action):
        target = Target(app.key, {"pk": app.pk}, org=app.org, app=app, stage=stage)
        for suffix in fmt:
            values = {"pk": app.pk}
            if "batch_id" in route:
                values = {"batch_id": app.application.batch_id}
            if "attachment_id" in route:
                values["attachment_id"] = w.attachment[app.key].pk
            if "<str:action>" in route:
                values["action"] = variant
            url_route = route
            if suffix:
                url_route = route[:-2] + SUFFIX
                values["format"] = suffix
            url = build_url(url_route, values)
            assert resolves_to(url, url_route), url
            data, ctype = _action_data(ctx, route, variant, action, app)
            for subject, rel, delegator_rel in subjects_for(w, CLASSES["action"], target, per_role=bool(suffix)):
                want = action_expected(w, action, stage, app.org, subject, rel)
                # The city's batch page is the subject's own page: its refusal need not be a 404.
                invisible = expected(CLASSES["application"], subject, rel, delegator_rel) == D \
                    and subject.kind != "anonymous" and variant != "bulk-recommend"
                yield Case(f"action:{action}", key if not suffix else key + " .json", method, url, subject.key,
                           f"{app.key} ({stage})", _rel_label(rel, delegator_rel), want, data=data,
                           content_type=ctype, writes=True, variant=variant, invisible=invisible)


def _action_data(ctx, route, variant, action, app):
    """(data, content type) of the POST of an action on an application."""
    if route.startswith("api/v1/"):
        if variant == "upload":
            return (lambda: {"kind": app.application.program.attachment_kinds[0]["code"], "file": _upload()}), None
        if variant == "remove":
            return None, None
        if variant == "edit":
            return {"subject_name": app.application.subject_name}, "json"
        return _json_body(ctx, action, app), "json"
    if variant == "upload":
        return (lambda: {"kind": app.application.program.attachment_kinds[0]["code"], "file": _upload()}), None
    if variant == "edit":
        return ctx.edit_form(app), None
    if variant == "bulk-recommend":
        return {"applications": [app.pk], "comment": COMMENT}, None
    return _web_body(ctx, variant, app), None


def _class_post_cases(ctx, key, route, pattern, method, variant, klass_name):
    w = ctx.world
    klass = CLASSES[klass_name]
    targets = [Target("-", {})]
    if route == "approvals/applications/<int:pk>/<str:action>/":
        app = w.apps["A06"]
        targets = [Target(app.key, {"pk": app.pk, "action": variant}, org=app.org, app=app)]
    elif route == "verify/<str:token>/":
        targets = [Target("A12", {"token": w.certificate.token})]
    elif route == "designations/reports/<int:pk>/<str:action>/":
        targets = [Target("A12 report", {"pk": w.report.pk, "action": variant}, org="K1", app=w.apps["A12"])]
    elif route in CASE_ROUTES:
        targets = [Target(t.label, {**t.values, "button": variant}, org=t.org, app=t.app)
                   for t in targets_for(ctx, CASE_ROUTES[route], klass_name)]
    elif route == "print/batches/<int:batch_id>/issue-all":
        targets = targets_for(ctx, "batch", klass_name)
    elif route in ("notifications/<int:pk>/read/", r"api/v1/^notifications/(?P<pk>\d+)/read/$"):
        targets = targets_for(ctx, "notification", klass_name)
    elif route == r"api/v1/^tasks/(?P<pk>\d+)/claim/$":
        targets = targets_for(ctx, "open-task", klass_name)
    elif route == "workflow/flows/application/<int:process_pk>/cancel/":
        targets = targets_for(ctx, "process", klass_name)
    elif route == "workflow/queue/assign/":
        task = w.apps["A03"].application.process.task_set.filter(status="NEW", flow_task_type="HUMAN").first()
        targets = [Target(f"open task #{task.pk}", {}, org="C", task=task)]
    elif route == "workflow/inbox/unassign/":
        task = Task.objects.filter(process_id=w.apps["A06"].application.process_id, status="ASSIGNED",
                                   owner=w.user("expert@P#2")).first()
        targets = [Target(f"assigned task #{task.pk}", {}, org="P", task=task)]
    for target in targets:
        url = build_url(route, target.values)
        assert resolves_to(url, pattern.route), url
        for subject, rel, delegator_rel in subjects_for(w, klass, target, per_role=klass.per_role):
            want = expected(klass, subject, rel, delegator_rel)
            data, writes, fresh = _class_post_data(ctx, route, variant, subject, target)
            if route == "workflow/queue/assign/" and subject.role == "reviewer" and rel in ("own", "delegate_in") \
                    and (rel == "own" or delegator_rel == "own"):
                want = E  # a member of the task's pool may take it (or the page may be gone)
            yield Case(klass_name, key, method, url, subject.key, target.label, _rel_label(rel, delegator_rel),
                       want, data=data, writes=writes if want == A else None, variant=variant, fresh_client=fresh)


def _class_post_data(ctx, route, variant, subject, target):
    """(data, writes, fresh client) of a POST that is not an application's action."""
    if variant == "token":
        username = subject.user.username if subject.user else "nobody-at-all"
        return {"username": username, "password": TEST_PASSWORD}, None, False
    if variant == "setlang":  # a client of its own: the language cookie would change later answers
        return {"language": "en", "next": "/"}, False, True
    if variant == "logout":
        return {}, None, True
    if variant == "renew":
        return {}, None, False
    if variant == "compare":
        return (lambda: {"pdf": SimpleUploadedFile("c.pdf", minimal_pdf("c"), content_type="application/pdf")}), \
            False, False
    if variant == "issue-all":
        return {}, True, False
    if variant == "claim":
        return {}, True, False
    if variant in ("read", "read-all"):
        return {}, True if variant == "read" else None, False
    if variant == "preferences":
        return {"email_task": "on"}, True, False
    if variant in ("assign", "unassign"):
        return {"pk": target.task.pk, "_confirm": "1"}, None, False
    if variant == "cancel":
        return {"_cancel_process": "1"}, None, False
    if variant in ("report_submit", "save"):
        # A complete report by its program's form (data): a number for each number, text for the rest.
        fields = report_fields(ctx.world.report.designation.program_id)
        return {f["name"]: "1" if f.get("type") in ("int", "decimal") else "矩阵报告" for f in fields}, True, False
    if variant in ("renewal_submit", "renewal_save"):
        fields = renewal_fields(ctx.world.renewal.designation.program_id)
        return {f["name"]: "矩阵续期" for f in fields}, True, False
    if variant == "rectify_submit":
        return {"text": "矩阵整改报告"}, True, False
    if variant == "revocation_keep":
        return {"comment": COMMENT}, True, False
    if variant in ("rectify_pass", "renewal_approve"):
        return {"comment": COMMENT}, False, False
    if variant in ("report_sign_off", "report_grade"):
        return {"grade": "pass", "reason": COMMENT}, False, False
    if variant == "no-such-action":
        return {"comment": COMMENT}, False, False
    raise KeyError(variant)


def viewflow_post_cases(ctx, key, pattern, node, view):
    klass = CLASSES["viewflow-task"]
    for target in targets_for(ctx, f"task:{node}", "viewflow-task"):
        url = build_url(key, target.values)
        for subject, rel, delegator_rel in subjects_for(ctx.world, klass, target, per_role=True):
            yield Case("viewflow-task", key, "POST", url, subject.key, target.label, rel,
                       expected(klass, subject, rel, delegator_rel), data={"_confirm": "1"}, variant=view)


def admin_post_cases(ctx, key, pattern, model, view, klass_name):
    """The add, change and delete POSTs of an admin model and its changelist's delete action."""
    klass = CLASSES[klass_name]
    w = ctx.world
    if klass_name not in SCOPED_ADMIN_CLASSES:
        target = _admin_targets(ctx, model, view, klass_name)[0]
        url = build_url(key, target.values)
        data = {"post": "yes"} if view == "delete" else (
            {"action": "delete_selected", "_selected_action": [target.values.get("object_id", 1)], "post": "yes"}
            if view == "changelist" else {})
        for subject, rel, delegator_rel in subjects_for(w, klass, target, per_role=True):
            want = expected(klass, subject, rel, delegator_rel)
            yield Case(klass_name, key, "POST", url, subject.key, target.label, rel, E if want == A else want,
                       data=data, variant=view)
        return
    anchors = ("P", "Q") if model == "approvals/batch" else ADMIN_ANCHORS
    for org in anchors:
        pk = _admin_object(ctx, model, org)
        if view == "add":
            url = build_url(key, {})
            data = ctx.admin_add_form(model, org)
        elif view == "change":
            url = build_url(key, {"object_id": pk})
            data = ctx.admin_change_form(model, pk)
        elif view == "delete":
            url = build_url(key, {"object_id": pk})
            data = {"post": "yes"}
        else:
            url = build_url(key, {})
            data = {"action": "delete_selected", "_selected_action": [pk], "post": "yes"}
        target = Target(f"{model}@{org}", {}, org=org)
        for subject, rel, delegator_rel in subjects_for(w, klass, target):
            want = expected(klass, subject, rel, delegator_rel)
            if model == "auth/user" and view == "add" and subject.role == "admin" and subject.kind == "member":
                want = E  # a new user belongs to no organization yet
            if view in ("delete", "changelist") and want == A:
                want = E  # a protected object cannot be deleted by anybody
            if view == "delete" and model in ADMIN_NO_DELETE:
                want = D
            yield Case(klass_name, key, "POST", url, subject.key, target.label, _rel_label(rel, delegator_rel),
                       want, data=data, writes=True if want == A else None, variant=view)


# ---------------------------------------------------------------------------------------- the cases


class Cases:
    """Every case of the matrix, by class, built once per module."""

    def __init__(self, world):
        self.ctx = Context(world)
        self.patterns = project_patterns()
        self.keys = table_keys()
        self.by_class = {}
        for key, (klass_name, target_kind) in self.keys.items():
            pattern = self.patterns.get(key)
            if pattern is None:
                continue  # reported by test_every_url_pattern_is_classified
            if target_kind == "unreachable":
                continue
            self._add(get_cases(self.ctx, key, pattern, klass_name, target_kind))
            for query, variant_class in GET_VARIANTS.get(key, ()):
                self._add(get_cases(self.ctx, key, pattern, variant_class, target_kind, variant=query))
            if target_kind.startswith("task:"):
                node, view = target_kind.split(":")[1], key.rstrip("/").split("/")[-1]
                if view in VIEWFLOW_POST_VIEWS:
                    self._add(viewflow_post_cases(self.ctx, key, pattern, node, view))
            if target_kind.startswith("admin:"):
                _, model, view = target_kind.split(":")
                if view in ADMIN_POST_VIEWS:
                    self._add(admin_post_cases(self.ctx, key, pattern, model, view, klass_name))
            for method, variant, spec in POSTS.get(key, ()):
                self._add(post_cases(self.ctx, key, pattern, method, variant, spec))

    def _add(self, cases):
        for case in cases:
            self.by_class.setdefault(case.klass, []).append(case)

    def count(self) -> Counter:
        return Counter({k: len(v) for k, v in self.by_class.items()})


# Pages a refused request may be sent back to (a redirect there shows nothing of what was asked for).
BOUNCE_CLASSES = ("public", "public-either", "login", "admin-site")
CLASS_NAMES = [k for k in CLASSES if k != "action"] + [f"action:{a}" for a in ACTION_OWNERS]


@pytest.fixture(scope="module")
def cases(world):
    return Cases(world)


@pytest.fixture(scope="module")
def runner(world):
    """Clients log in here, outside the tests' own transactions, so that their sessions last the module."""
    # The resolver spells routes without the anchors of regular expressions.
    classes = {key.replace("^", ""): klass for key, (klass, _target) in table_keys().items()}

    def bounce(path):
        try:
            route = resolve(path).route
        except Resolver404:
            return False
        if route.startswith("admin/(?P<app_label>"):
            route = "admin/(?P<app_label>…)/$"
        return classes.get(route) in BOUNCE_CLASSES

    runner = Runner(world, every_post=FULL, bounce=bounce)
    runner.prepare()
    return runner


def test_every_url_pattern_is_classified(cases):
    """A URL pattern that the tables do not name fails here: classify it in URLS, VIEWFLOW_NODES or
    ADMIN_MODELS (and POSTS when it takes a POST). A table entry whose pattern is gone fails too."""
    missing = sorted(set(cases.patterns) - set(cases.keys))
    stale = sorted(set(cases.keys) - set(cases.patterns))
    assert not missing, "URL patterns without a class in tests/access/test_matrix.py:\n" + "\n".join(missing)
    assert not stale, "classified URL patterns that no longer exist:\n" + "\n".join(stale)
    for key, (_klass, target_kind) in cases.keys.items():
        if target_kind == "unreachable":  # really shadowed: its URL resolves to an earlier pattern
            pattern = cases.patterns[key]
            assert resolve(build_url(key.split(" #")[0], {})).func is not pattern.callback, f"{key} is reachable"


def test_the_matrix_has_enough_cases(cases, request):
    """At least 2,000 cases; the count by class and method is printed and kept in
    test-artifacts/access-matrix/COUNTS.txt."""
    counts = cases.count()
    total = sum(counts.values())
    methods = Counter(c.method for cs in cases.by_class.values() for c in cs)
    lines = [f"access matrix: {total} cases ({', '.join(f'{m} {n}' for m, n in methods.most_common())})"]
    lines += [f"  {klass:28s} {n:6d}" for klass, n in sorted(counts.items())]
    print("\n" + "\n".join(lines))
    folder = request.config.rootpath / "test-artifacts" / "access-matrix"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "COUNTS.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")
    assert total >= 2000


@pytest.mark.parametrize("klass", CLASS_NAMES)
def test_access(klass, cases, runner, world, request):
    """Every case of one class meets its expectation (see problems() in matrix.py)."""
    selected = cases.by_class.get(klass, [])
    if not selected:
        pytest.skip(f"no URL pattern of class {klass}")
    started = time.perf_counter()
    failures = []
    for case in selected:
        result = runner.run(case)
        found = problems(result)
        if found:
            failures.append((case, "; ".join(found)))
    write_report(request.config, klass, len(selected), failures, runner, time.perf_counter() - started)
    lines = [f"{case.label}: {found}" for case, found in failures]
    assert not failures, f"{len(failures)} of {len(selected)} cases of {klass} fail:\n" + "\n".join(lines[:300])


def summarize(failures) -> list[str]:
    """Failures grouped by route and problem (numbers blanked), with the subjects that met them."""
    groups = {}
    for case, found in failures:
        route = case.route + (f" [{case.variant}]" if case.variant else "")
        problem = re.sub(r"(?<![A-Za-z-])\d+", "#", found)[:160]
        groups.setdefault((case.method, route, problem), []).append(case.subject)
    lines = []
    for (method, route, problem), subjects in sorted(groups.items(), key=lambda g: -len(g[1])):
        shown = ", ".join(sorted(set(subjects))[:8]) + (" …" if len(set(subjects)) > 8 else "")
        lines.append(f"{len(subjects):5d}  {method} {route}: {problem}\n         {shown}")
    return lines


def write_report(config, klass, total, failures, runner, seconds):
    """test-artifacts/access-matrix/<class>.txt: the failures grouped, where the time went, every case."""
    folder = config.rootpath / "test-artifacts" / "access-matrix"
    folder.mkdir(parents=True, exist_ok=True)
    slowest = "\n".join(f"  {s:7.2f} s  {route}" for route, s in runner.seconds.most_common(8))
    runner.seconds.clear()
    text = [f"{klass}: {total} cases, {len(failures)} failing, {seconds:.1f} s", "slowest routes:", slowest,
            "", "failures by route and problem:", *summarize(failures), "", "every failing case:",
            *(f"{case.label}: {found}" for case, found in failures)]
    (folder / f"{klass.replace(':', '-')}.txt").write_text("\n".join(text) + "\n", encoding="utf-8")
