"""Every URL pattern of the project asked what an outsider would ask, complementing the access matrix
(test_matrix.py, which judges who may see and do what, by role and relation):

- hostile query strings on every GET route (a NUL character, digits that are not ASCII, a 5,000-digit
  number, an impossible date, long text with bytes that are not UTF-8), as the superuser (who reaches
  the deepest code), a province's reviewer and the anonymous: never a 5xx; a NUL in a web page's query is
  refused with 400 and its message (config.hardening);
- hostile bodies on every POST route (empty, NUL, such digits, a huge number), as the people who act
  there: never a 5xx, a NUL refused with 400, and no refused request leaves a row behind;
- the anonymous on every route: what answers them with content is in PUBLIC_PAGES, and the public pages
  that show applications and designations show only public fields: no phone, e-mail, contact or
  responsible person, no full 统一社会信用代码;
- every answer to someone logged in is kept out of caches (Cache-Control private, no-store or no-cache)
  and carries X-Frame-Options, X-Content-Type-Options and Referrer-Policy.

The routes, their targets and their POST variants are the matrix's tables (URLS, POSTS and the targets
of the world): a new URL pattern nobody classified fails test_every_url_pattern_is_classified there, and
a new page the anonymous may open fails test_anonymous_sees_only_public_pages here until PUBLIC_PAGES
names it (and says whether it shows records of applications or designations).
"""
import re
from urllib.parse import quote

import pytest
from django.db import connection, transaction
from django.test import Client
from django.test.utils import CaptureQueriesContext

from .matrix import WRITE_SQL, _session_write, build_url, fingerprint, fingerprint_diff, response_text
from .test_matrix import (
    CASE_ROUTES,
    POSTS,
    QUERIES,
    Context,
    action_targets,
    project_patterns,
    table_keys,
    targets_for,
)

pytestmark = pytest.mark.django_db

# Query parameters the pages and the API read (and a few they do not): each hostile query sets them all.
PARAMS = ("q", "status", "page", "year", "city", "number", "revision", "copy", "old", "new", "unread", "program",
          "province", "county", "batch", "org", "next", "purpose", "box", "search", "ordering", "created",
          "created_after", "created_before", "flow_task", "level", "parent", "read", "grade", "o", "p")
HOSTILE_QUERIES = {
    "nul": {name: "a\x00b" for name in PARAMS},
    "unicode-digits": dict.fromkeys(PARAMS, "1²"),
    "huge-number": dict.fromkeys(PARAMS, "9" * 5000),
    "big-id": dict.fromkeys(PARAMS, "9" * 25),  # beyond 64 bits: SQLite cannot bind it
    "bad-date": dict.fromkeys(PARAMS, "2026-02-30"),
    # The admin's lookups on a field of the model (any local field may be filtered on), one at a time: the
    # admin sends a query with any lookup it does not know back to the list (?e=1) before reading the rest.
    **{f"admin-{name}": {name: "9" * 25} for name in ("organization", "id__exact", "user", "application")},
}
ADMIN_QUERIES = tuple(name for name in HOSTILE_QUERIES if name.startswith("admin-"))
# Raw: bytes that are not UTF-8, and a query string longer than a redirect may carry (16,384 characters).
RAW_QUERY = "&".join(f"{name}=%FF%FE{'x' * 700}" for name in PARAMS)
# Form fields the POST routes read (the report and renewal forms add their own, read from the world).
FIELDS = ("comment", "reason", "text", "grade", "expert_score", "score", "starts_on", "experts", "applications",
          "upheld", "version", "subject_name", "uscc", "division_code", "kind", "email", "language", "next",
          "code", "username", "password", "new_password1", "new_password2", "old_password", "purpose")
HOSTILE_BODIES = {"empty": None, "nul": "a\x00b", "unicode-digits": "1²", "huge-number": "9" * 5000}
# Who asks which: the superuser everything (the deepest code), a province's reviewer the numbers (read
# against their own seats), the anonymous what reaches the login redirect (a NUL, a query too long for it).
# The scoped administrators ask the admin's pages only.
GET_SUBJECTS = {"superuser": ("nul", "unicode-digits", "huge-number", "big-id", "bad-date", "raw"),
                "reviewer@P": ("unicode-digits", "big-id"), "anonymous": ("nul", "huge-number", "raw"),
                "admin@P": ("big-id", "unicode-digits"), "secadmin@P": ("big-id", "unicode-digits")}
ADMIN_ONLY = ("admin@P", "secadmin@P")
# Who acts on the POST routes: the applicant's clerk and leader, the city's and the province's reviewers,
# the province's leader, an assigned expert, the superuser.
POST_SUBJECTS = ("clerk@K1", "leader@K1", "reviewer@C", "reviewer@P", "leader@P", "expert@P#2", "superuser")
# Routes not asked here: the viewflow task pages (superuser only, one per node and view: the matrix asks
# them) and the admin's object pages (the changelist is where the admin reads a query).
SKIPPED = re.compile(r"^workflow/flows/application/<int:process_pk>/\w+/<int:task_pk>/|^admin/.+/<path:object_id>/"
                     r"|^admin/auth/user/<id>/password/$")

# The pages the anonymous may open (an answer with content; a redirect to the login page is no answer),
# and whether each shows records of applications or designations (then only their public fields).
PUBLIC_PAGES = {
    "healthz": False, "accounts/login/": False, "accounts/password_reset/": False,
    "accounts/password_reset/done/": False, "accounts/reset/<uidb64>/<token>/": False,
    "accounts/reset/done/": False, "admin/login/": False, "api/v1/schema/": False, "api/v1/docs/": False,
    "api/v1/redoc/": False,
    "verify/": True, "verify/<str:token>/": True, "notice/<int:batch_id>/": True, "registry/": True,
}
# What a public page may never show of an application (tests/approvals/conftest.py's forms): the
# contact and responsible person, phone, e-mail; and no full credit code (world.uscc_for).
PRIVATE_FORM_FIELDS = ("responsible_person", "contact_person", "phone", "email", "address")


def _client(world, key):
    client = Client(raise_request_exception=False)
    user = world.subjects[key].user
    if user is not None:
        client.force_login(user, backend="django.contrib.auth.backends.ModelBackend")
    return client


@pytest.fixture(scope="module")
def routes(world, django_db_blocker):
    """(table key, route, a concrete URL) of every GET route, with the world's first target."""
    with django_db_blocker.unblock():
        ctx = Context(world)
        patterns, found = project_patterns(), []
        for key, (klass, target_kind) in table_keys().items():
            route = key.split(" #")[0]
            if target_kind == "unreachable" or key not in patterns or SKIPPED.search(route) or "(?P<url>" in route:
                continue
            targets = targets_for(ctx, target_kind, klass)
            if not targets:
                continue
            target = targets[0]
            values = {"action": "submit", "button": "x", **target.values}
            found.append((key, route, build_url(route, values) + target.query + QUERIES.get(key, "")))
        posts = []
        for key, variants in POSTS.items():
            route = key.split(" #")[0]
            for method, variant, spec in variants:
                if method != "POST":
                    continue
                if spec.startswith("action:") and spec != "action:create":
                    _stage, app = next(action_targets(ctx, spec.split(":")[1]))
                    values = {"pk": app.pk, "batch_id": app.application.batch_id}
                    query = ""
                else:
                    klass, target_kind = table_keys()[key]
                    target = targets_for(ctx, "create" if spec == "action:create" else target_kind, klass)[0]
                    values, query = dict(target.values), target.query
                if route == "approvals/applications/<int:pk>/<str:action>/":
                    values["action"] = variant
                elif route == "designations/reports/<int:pk>/<str:action>/":
                    values["action"] = "save" if variant == "save" else variant
                elif route in CASE_ROUTES:
                    values["button"] = variant
                posts.append((key, build_url(route, values) + query))
        return found, posts, ctx


def _with_query(url: str, query: str) -> str:
    return url + ("&" if "?" in url else "?") + query


def _status(client, method, url, **kwargs):
    try:
        return getattr(client, method)(url, **kwargs)
    except Exception as exc:  # noqa: BLE001 - an exception is what this test looks for
        return f"{type(exc).__name__}: {exc}"[:300]


def test_hostile_queries_never_fail(world, routes):
    """Every GET route with the hostile queries, as the superuser, a reviewer, the anonymous and (the admin's
    pages) the scoped administrators (GET_SUBJECTS)."""
    found, _posts, _ctx = routes
    clients = {key: _client(world, key) for key in GET_SUBJECTS}
    problems = []
    for _key, route, url in found:
        base = url.split("?")[0]
        for who, client in clients.items():
            if who in ADMIN_ONLY and not route.startswith("admin/"):
                continue
            for name in GET_SUBJECTS[who] + (ADMIN_QUERIES if route.startswith("admin/") and who in (
                    *ADMIN_ONLY, "superuser") else ()):
                query = RAW_QUERY if name == "raw" else "&".join(
                    f"{p}={quote(v)}" for p, v in HOSTILE_QUERIES[name].items())
                hostile = _with_query(url, query)
                with transaction.atomic():
                    response = _status(client, "get", hostile)
                    transaction.set_rollback(True)
                if isinstance(response, str) or response.status_code >= 500:
                    problems.append(f"GET {base} ?{name} as {who}: {getattr(response, 'status_code', response)}")
                elif name == "nul" and not route.startswith("api/") and response.status_code != 400:
                    problems.append(f"GET {base} ?{name} as {who}: {response.status_code}, not 400")
                elif name == "nul" and not route.startswith("api/") and "NUL" not in response.content.decode():
                    problems.append(f"GET {base} ?{name} as {who}: 400 without its message")
    assert not problems, f"{len(problems)} hostile queries failed:\n" + "\n".join(problems)


def test_ids_beyond_the_integer_never_fail(world, routes):
    """Every route with a number in its path, that number 25 digits long (beyond what SQLite binds), as the
    superuser and a reviewer, GET and POST: 404 or another refusal, never a 5xx."""
    found, _posts, _ctx = routes
    clients = {key: _client(world, key) for key in ("superuser", "reviewer@P")}
    big, problems = "9" * 25, []
    for _key, route, _url in found:
        if "<int:" not in route and r"\d+" not in route:
            continue
        path = "/" + re.sub(r"<int:\w+>", big, re.sub(r"\(\?P<\w+>\\d\+\)", big, route))
        path = re.sub(r"<(?:\w+:)?\w+>", "x", path).replace("^", "").replace("$", "").replace("\\.", ".")
        for who, client in clients.items():
            for method in ("get", "post"):
                with transaction.atomic():
                    response = _status(client, method, path)
                    transaction.set_rollback(True)
                if isinstance(response, str) or response.status_code >= 500:
                    problems.append(f"{method.upper()} {path} as {who}: {getattr(response, 'status_code', response)}")
    assert not problems, "\n".join(problems)


def _form_names(world):
    from designations.renewals import renewal_fields
    from designations.reports import report_fields

    program = world.report.designation.program_id
    return FIELDS + tuple(f["name"] for f in report_fields(program)) + tuple(f["name"] for f in renewal_fields(program))


def test_hostile_bodies_never_fail(world, routes):
    """Every POST route with each hostile body, as the people who act on it: never a 5xx; a NUL refused
    with 400 before any view (so nothing is written); a request refused with 4xx writes nothing."""
    _found, posts, _ctx = routes
    names = _form_names(world)
    clients = {key: _client(world, key) for key in POST_SUBJECTS}
    baseline = fingerprint()
    problems = []
    for key, url in posts:
        for who, client in clients.items():
            for name, value in HOSTILE_BODIES.items():
                data = {} if value is None else dict.fromkeys(names, value)
                if name == "nul" and who != "superuser":
                    continue  # refused before any view: one subject is enough
                with transaction.atomic():
                    with CaptureQueriesContext(connection) as queries:
                        response = _status(client, "post", url, data=data)
                    status = getattr(response, "status_code", 500)
                    wrote = any(WRITE_SQL.match(q["sql"]) and not _session_write(q["sql"]) for q in queries)
                    diff = fingerprint_diff(baseline, fingerprint()) if wrote and 400 <= status < 500 else ""
                    transaction.set_rollback(True)
                client.cookies.pop("messages", None)
                if status >= 500:
                    problems.append(f"POST {url} [{name}] as {who}: {getattr(response, 'status_code', response)}")
                elif name == "nul" and not key.startswith("api/") and status != 400:
                    problems.append(f"POST {url} [{name}] as {who}: {status}, not 400")
                elif diff:
                    problems.append(f"POST {url} [{name}] as {who}: refused ({status}) but changed {diff}")
    assert not problems, f"{len(problems)} hostile bodies failed:\n" + "\n".join(problems)


def _private_values(world) -> set[str]:
    """The personal data of the world's applications, and their full credit codes."""
    values = set()
    for app in world.apps.values():
        application = app.application
        values |= {str(application.form_data.get(name)) for name in PRIVATE_FORM_FIELDS
                   if application.form_data.get(name)}
        if application.uscc:
            values.add(application.uscc)
    return values


def test_anonymous_sees_only_public_pages(world, routes):
    """The anonymous on every GET route: an answer with content only from PUBLIC_PAGES; those that show
    applications or designations show none of their personal data."""
    found, _posts, _ctx = routes
    client = _client(world, "anonymous")
    private = _private_values(world)
    assert private, "the world's applications hold no personal data to look for"
    pages = {key for key, _route, _url in found}
    # The public pages with every record they can show: the certificate (verify by token and by number),
    # the notice of the batch in public notice, the registry.
    extra = [("verify/", f"/verify/?number={quote(world.certificate.number)}"),
             ("notice/<int:batch_id>/", f"/notice/{world.batch['B'].pk}/")]
    problems, shown = [], set()
    for key, url in [*((key, url) for key, _route, url in found), *extra]:
        response = _status(client, "get", url)
        if isinstance(response, str) or response.status_code >= 500:
            problems.append(f"GET {url}: {getattr(response, 'status_code', response)}")
            continue
        answered = 200 <= response.status_code < 300
        if answered and key not in PUBLIC_PAGES:
            problems.append(f"GET {url}: {response.status_code} to the anonymous, not in PUBLIC_PAGES")
            continue
        if answered and PUBLIC_PAGES.get(key):
            text = response_text(response)
            leaked = sorted(value for value in private if value in text)
            if leaked:
                problems.append(f"GET {url} shows {', '.join(leaked)}")
            shown |= {app.marker for app in world.apps.values() if app.marker in text}
    assert not problems, "\n".join(problems)
    assert shown, "the public pages showed no application at all: nothing was checked"
    assert set(PUBLIC_PAGES) <= set(pages), f"PUBLIC_PAGES names routes gone: {set(PUBLIC_PAGES) - set(pages)}"


SECURITY_HEADERS = {"X-Frame-Options": "DENY", "X-Content-Type-Options": "nosniff", "Referrer-Policy": "same-origin"}


def test_answers_to_the_logged_in_are_not_cached(world, routes):
    """Every GET route as a province's reviewer: no answer may be kept by a cache (a page, a PDF, an
    attachment, an export all hold personal data), and every one carries the security headers."""
    found, _posts, _ctx = routes
    client = _client(world, "reviewer@P")
    problems = []
    for _key, _route, url in found:
        with transaction.atomic():
            response = _status(client, "get", url)
            transaction.set_rollback(True)
        if isinstance(response, str):
            problems.append(f"GET {url}: {response}")
            continue
        cache = response.get("Cache-Control", "")
        if response.status_code < 300 and not ("no-store" in cache or "no-cache" in cache) or "public" in cache:
            problems.append(f"GET {url}: {response.status_code}, Cache-Control {cache!r}")
        for header, value in SECURITY_HEADERS.items():
            if response.get(header) != value:
                problems.append(f"GET {url}: {header} {response.get(header)!r}")
    assert not problems, "\n".join(problems)


# ------------------------------------------------------------------------------------ single cases


def test_a_session_cookie_that_holds_no_key_is_no_session(world):
    """A session cookie with a NUL character (PostgreSQL cannot compare it) or a megabyte: logged out."""
    for value in ('"abcdefghij\\000klmnop"', "x" * 5000, "abc-def_ghi!"):
        client = Client(raise_request_exception=False, HTTP_COOKIE=f"sessionid={value}")
        response = client.get("/approvals/")
        assert response.status_code == 302 and response["Location"].startswith("/accounts/login/"), value


def test_a_second_factor_of_unicode_digits_is_a_wrong_code(world):
    """"²²²²²²" is six digits to str.isdigit, not to int: the enrolment says the code is wrong."""
    client = _client(world, "clerk@K1")
    assert client.get("/accounts/2fa/setup/").status_code == 200
    response = client.post("/accounts/2fa/setup/", {"code": "²²²²²²"})
    assert response.status_code == 400
    response = client.post("/accounts/2fa/verify/", {"code": "²²²²²²"})
    assert response.status_code < 500


def test_a_refusal_of_a_long_query_still_sends_the_anonymous_to_log_in(world):
    """The engine pages refuse the anonymous through the 403 handler, which sends them to log in and back;
    with a query too long for a redirect they come back to the page without it."""
    response = Client(raise_request_exception=False).get(f"/workflow/inbox/?q={'x' * 20000}")
    assert response.status_code == 302
    assert response["Location"] == "/accounts/login/?next=/workflow/inbox/"
