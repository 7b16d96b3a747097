"""The machinery of the access matrix (test_matrix.py holds the expected outcomes): the URL patterns of the
project, concrete URLs for them, one logged-in client per subject, a request run in a savepoint that is
rolled back, the outcome of a response, what a page or document shows, and a fingerprint of the database.

Outcomes of a request:
    ALLOW  2xx, or a redirect that is not to a login page
    DENY   401, 403, 404, or a redirect to a login page (a refused POST must also leave the database as it
           was; a web form may answer a refused POST by sending the user back with an error message)
    OTHER  any other 4xx (400, 405, 409, 413, 422 …)
    ERROR  5xx, or an exception: never acceptable
Expected values: "A" (must be ALLOW), "D" (must be DENY, or OTHER for a POST that changed nothing),
"E" (either, but never ERROR), "N" (a GET of a POST-only route: anything but ALLOW and ERROR), "-" (the
case does not exist).
"""
import hashlib
import io
import re
import time
from collections import Counter
from dataclasses import dataclass, field
from html.parser import HTMLParser

from django.apps import apps
from django.conf import settings
from django.contrib.messages import constants as message_levels
from django.db import connection, transaction
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import URLPattern, URLResolver, get_resolver, resolve
from django.urls.exceptions import Resolver404

LOGIN_PATHS = ("/accounts/login/", "/admin/login/")
# Tables whose rows change by logging in and out (sessions, last_login, django-axes' logs, the security
# log and its head); they are left out of the fingerprint: a refused request may log in, it may not change
# the data.
UNFINGERPRINTED = {"django_session", "axes_accessattempt", "axes_accesslog", "axes_accessfailurelog",
                   "django_content_type", "auth_permission", "security_securityevent",
                   "security_securitychainhead"}
UNFINGERPRINTED_COLUMNS = {"auth_user": {"last_login"}}
WRITE_SQL = re.compile(r"^\s*(INSERT|UPDATE|DELETE|REPLACE)\b", re.IGNORECASE)


# ------------------------------------------------------------------------------------------ patterns


@dataclass(frozen=True)
class Pattern:
    route: str  # the route as the resolver spells it, prefixes joined: the key of the table
    name: str  # namespaced name, "" when the pattern has none
    callback: object


def url_patterns(resolver=None, prefix="", namespace=()):
    """Every URL pattern reachable from the root URLconf, depth first, in resolution order."""
    resolver = resolver or get_resolver()
    for entry in resolver.url_patterns:
        if isinstance(entry, URLResolver):
            ns = namespace + ((entry.namespace,) if entry.namespace else ())
            yield from url_patterns(entry, prefix + str(entry.pattern), ns)
        elif isinstance(entry, URLPattern):
            name = ":".join(namespace + (entry.name,)) if entry.name else ""
            yield Pattern(prefix + str(entry.pattern), name, entry.callback)


_ROUTE_PARAM = re.compile(r"<(?:(?P<converter>[^>:]+):)?(?P<name>\w+)>")
_REGEX_PARAM = re.compile(r"\(\?P<(?P<name>\w+)>[^)]*\)")


def build_url(route: str, values: dict) -> str:
    """A concrete URL for `route` with `values` for its parameters (route syntax or regular expression)."""
    missing = []

    def value(match):
        name = match.group("name")
        if name not in values:
            missing.append(name)
            return ""
        return str(values[name])

    path = _REGEX_PARAM.sub(value, route)
    path = _ROUTE_PARAM.sub(value, path)
    if missing:
        raise KeyError(f"{route}: no value for {', '.join(missing)}")
    # What is left of a regular expression: anchors, optional slashes and escaped dots.
    path = path.replace("^", "").replace("/?$", "").replace("$", "").replace("\\.", ".")
    return "/" + path


def resolves_to(url: str, route: str) -> bool:
    """Whether `url` is answered by the pattern of `route` (and not by an earlier one)."""
    try:
        match = resolve(url.split("?")[0])
    except Resolver404:
        return False
    return match.route == route.replace("^", "")  # the resolver drops the anchors of regular expressions


# -------------------------------------------------------------------------------------------- cases


@dataclass
class Case:
    klass: str
    route: str
    method: str  # GET, POST, PATCH, DELETE
    url: str
    subject: str
    target: str  # what the URL points at (an application, a batch, an object …)
    relation: str  # how the subject stands to it
    expected: str  # A, D, E
    data: object = None
    content_type: str | None = None  # "json" or None (form / multipart)
    writes: bool | None = None  # an allowed POST must change the database (True), must not (False), either
    forbidden: frozenset = frozenset()  # markers the response must not show
    required: frozenset = frozenset()  # markers an allowed response must show
    variant: str = ""  # the POST variant (an action name)
    fresh_client: bool = False  # the request ends the session (log out): use a client of its own
    # The subject may not see the object: a refusal must not tell it exists (404 or a login page, not 403/409).
    invisible: bool = False

    @property
    def label(self) -> str:
        variant = f" [{self.variant}]" if self.variant else ""
        return f"{self.method} {self.url}{variant} as {self.subject} ({self.relation}) on {self.target}"


@dataclass
class Result:
    case: Case
    status: int
    outcome: str
    location: str = ""
    changed: bool = False
    leaked: list = field(default_factory=list)
    missing: list = field(default_factory=list)
    error: str = ""
    diff: str = ""
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return not problems(self)


def problems(result: Result) -> list[str]:
    """Why a result does not meet its case's expectation (empty when it does)."""
    case, found = result.case, []
    if result.outcome == "ERROR":
        return [f"error {result.status} {result.error}".strip()]
    is_write = case.method != "GET"
    if case.expected == "A":
        if result.outcome != "ALLOW":
            found.append(f"expected ALLOW, got {result.status}{' → ' + result.location if result.location else ''}")
        elif is_write and case.writes is True and not result.changed:
            found.append("allowed but the database did not change")
        elif is_write and case.writes is False and result.changed:
            found.append(f"the database changed: {result.diff}")
        if result.missing:
            found.append(f"does not show {', '.join(sorted(result.missing))}")
    elif case.expected == "N":
        if result.outcome == "ALLOW":
            found.append(f"a {case.method} of a route that takes no {case.method} answered {result.status}")
    elif case.expected == "D":
        if is_write:
            if result.changed:
                found.append(f"refusal expected, but the database changed ({result.status}): {result.diff}")
            elif result.outcome == "ALLOW" and not result.location and case.route.startswith("api/v1/"):
                # A web form may answer a refused POST with the form and its error (200); the API may not.
                found.append(f"refusal expected, got {result.status}")
        elif result.outcome == "ALLOW":
            found.append(f"expected DENY, got {result.status}{' → ' + result.location if result.location else ''}")
        elif result.outcome == "OTHER":
            found.append(f"expected DENY (401/403/404/login), got {result.status}")
    if case.invisible and case.expected == "D" and result.outcome != "ERROR" \
            and result.status not in (401, 404) and not (result.outcome == "DENY" and result.location):
        found.append(f"refused with {result.status}, which tells someone outside the scope that it exists")
    if result.leaked:
        found.append(f"shows {', '.join(sorted(result.leaked))}")
    return found


def outcome_of(status: int, location: str) -> str:
    if status >= 500:
        return "ERROR"
    if status in (401, 403, 404):
        return "DENY"
    if 300 <= status < 400:
        return "DENY" if any(location.startswith(p) or f"://testserver{p}" in location for p in LOGIN_PATHS) \
            else "ALLOW"
    if 200 <= status < 300:
        return "ALLOW"
    return "OTHER"


# ------------------------------------------------------------------------------------------ content


def response_text(response) -> str:
    """What a response shows, as text: HTML and JSON as they are, PDF and Excel read out."""
    body = b"".join(response.streaming_content) if response.streaming else response.content
    kind = response.get("Content-Type", "")
    if "pdf" in kind:
        from pypdf import PdfReader
        from pypdf.errors import PdfReadError

        try:
            return "".join(page.extract_text() or "" for page in PdfReader(io.BytesIO(body)).pages)
        except (PdfReadError, ValueError):  # an uploaded attachment is served as it was stored
            return body.decode("latin-1")
    if "spreadsheetml" in kind:
        from openpyxl import load_workbook

        book = load_workbook(io.BytesIO(body), read_only=True)
        return "\n".join(" ".join(str(c) for c in row if c is not None)
                         for sheet in book.worksheets for row in sheet.iter_rows(values_only=True))
    text = body.decode("utf-8", errors="replace")
    if "json" in kind:  # JsonResponse escapes non-ASCII; the markers are ASCII, so this is enough
        return text
    return text


def error_messages(response) -> list[str]:
    storage = getattr(response.wsgi_request, "_messages", None)
    if storage is None:
        return []
    return [str(m) for m in storage._queued_messages if m.level >= message_levels.ERROR]


# -------------------------------------------------------------------------------------- fingerprint


def _fingerprinted_models():
    for model in apps.get_models():
        table = model._meta.db_table
        if table in UNFINGERPRINTED or model._meta.proxy or not model._meta.managed:
            continue
        skip = UNFINGERPRINTED_COLUMNS.get(table, set())
        columns = [f.attname for f in model._meta.concrete_fields if f.column not in skip]
        yield table, model, columns


def fingerprint() -> dict[str, str]:
    """Table → digest of all its rows (every column but the session ones), ordered by primary key."""
    digests = {}
    for table, model, columns in _fingerprinted_models():
        rows = model._base_manager.order_by("pk").values_list(*columns)
        digest = hashlib.sha1(repr(list(rows)).encode()).hexdigest()
        digests[table] = digest
    return digests


def fingerprint_diff(before: dict, after: dict) -> str:
    changed = sorted(t for t in before if before[t] != after.get(t))
    return ", ".join(changed)


# ------------------------------------------------------------------------------------------- runner


class Runner:
    """Runs cases against the world; every request in a savepoint that is rolled back afterwards, so the
    world is the same for every case and one fingerprint of it serves as the "before" of every write."""

    def __init__(self, world, *, every_post=False, bounce=None):
        self.world = world
        self.every_post = every_post
        # bounce(path): the page is one that anybody (logged in) may open, such as the dashboard or the
        # admin's index; a redirect there after a refusal shows nothing of what was asked for.
        self.bounce = bounce or (lambda path: False)
        self.clients = {}
        self.baseline = None
        self.counts = Counter()
        self.seconds = Counter()

    def prepare(self):
        """Log every subject in and take the fingerprint of the world, before any test runs."""
        for key in self.world.subjects:
            self.client(key)
        self.baseline = fingerprint()

    def client(self, subject_key: str, *, fresh=False) -> Client:
        if subject_key in self.clients and not fresh:
            return self.clients[subject_key]
        client = Client()
        user = self.world.subjects[subject_key].user
        if user is not None:
            client.force_login(user, backend="django.contrib.auth.backends.ModelBackend")
        if not fresh:
            self.clients[subject_key] = client
        return client

    def run(self, case: Case) -> Result:
        if self.baseline is None:
            self.baseline = fingerprint()
        client = self.client(case.subject, fresh=case.fresh_client)
        self.counts[case.klass] += 1
        kwargs = {}
        if case.data is not None:
            kwargs["data"] = case.data() if callable(case.data) else case.data
        if case.content_type == "json":
            kwargs["content_type"] = "application/json"
        elif case.method in ("PATCH", "DELETE") and case.data is not None:
            kwargs["content_type"] = "application/json"
        edited = re.match(r"^/api/v1/applications/(\d+)/$", case.url) if case.method == "PATCH" else None
        if edited:
            # A client edits the version it read: the current ETag (approvals.drafts).
            seq = (apps.get_model("approvals", "Application").objects.filter(pk=int(edited.group(1)))
                   .values_list("audit_seq", flat=True).first())
            kwargs["HTTP_IF_MATCH"] = f'"{seq}"'

        result = None
        started = time.perf_counter()
        with transaction.atomic():
            try:
                if case.method == "GET":
                    queries = []
                    response = client.get(case.url, **kwargs)
                else:
                    with CaptureQueriesContext(connection) as queries:
                        response = getattr(client, case.method.lower())(case.url, **kwargs)
            except Exception as exc:  # noqa: BLE001 - an exception is an outcome (ERROR) to report
                result = Result(case, 500, "ERROR", error=f"{type(exc).__name__}: {exc}")
            if result is None:
                location = response.get("Location", "")
                result = Result(case, response.status_code, outcome_of(response.status_code, location),
                                location=location)
                hops, current = 0, location
                while case.method == "GET" and case.expected == "D" and result.outcome == "ALLOW" \
                        and current and hops < 3:
                    # A redirect that is not to a login page shows nothing itself: where it leads decides. A
                    # redirect to a page anybody may open (a bounce) is a refusal.
                    if self.bounce(current.split("?")[0]):
                        result.outcome = "DENY"
                        break
                    response = client.get(current)
                    hops += 1
                    current = response.get("Location", "")
                    result.status = response.status_code
                    result.outcome = outcome_of(response.status_code, current)
                    result.location += f" → {current}" if current else ""
                if case.method != "GET":
                    # Without a write statement nothing changed; with one (it may have been rolled back by
                    # the view itself) the rows are compared with the world's. every_post: always compare.
                    if self.every_post or any(WRITE_SQL.match(q["sql"]) and not _session_write(q["sql"])
                                              for q in queries):
                        after = fingerprint()
                        result.diff = fingerprint_diff(self.baseline, after)
                        result.changed = bool(result.diff)
                if result.outcome == "ALLOW" and 200 <= result.status < 300 and (case.forbidden or case.required):
                    text = response_text(response)
                    result.leaked = [m for m in case.forbidden if m in text]
                    if case.expected == "A":
                        result.missing = [m for m in case.required if m not in text]
            transaction.set_rollback(True)
        # What the request left in the client is rolled back too: a success message of a write (kept in a
        # cookie) would otherwise show on the next page this subject opens.
        client.cookies.pop(getattr(settings, "MESSAGE_COOKIE_NAME", "messages"), None)
        result.seconds = time.perf_counter() - started
        self.seconds[case.route] += result.seconds
        return result


def _session_write(sql: str) -> bool:
    """Writes that logging in makes: sessions, django-axes' logs, an UPDATE of last_login alone."""
    head = sql[:120].lower()
    if "django_session" in head or '"axes_' in head:
        return True
    return bool(re.match(r'\s*update "auth_user" set "last_login" = %s where', head))


# ------------------------------------------------------------------------------------------- forms


class FormFields(HTMLParser):
    """The fields of the first <form> whose id is `form_id` (or of every form when it is None), with the
    values a browser would send: checked boxes, selected options, textareas."""

    def __init__(self, form_id=None):
        super().__init__()
        self.form_id, self.inside, self.fields = form_id, form_id is None, []
        self._select, self._textarea, self._text, self._options = None, None, "", []

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "form" and self.form_id is not None:
            self.inside = a.get("id") == self.form_id
        if not self.inside:
            return
        if tag == "input" and a.get("name"):
            kind = a.get("type", "text")
            if kind in ("submit", "button", "image", "file", "reset"):
                return
            if kind in ("checkbox", "radio") and "checked" not in a:
                return
            self.fields.append((a["name"], a.get("value", "on" if kind == "checkbox" else "")))
        elif tag == "select" and a.get("name"):
            self._select, self._options = a["name"], []
            self._multiple = "multiple" in a
        elif tag == "option" and self._select is not None:
            self._options.append((a.get("value", ""), "selected" in a))
        elif tag == "textarea" and a.get("name"):
            self._textarea, self._text = a["name"], ""

    def handle_data(self, data):
        if self._textarea is not None:
            self._text += data

    def handle_endtag(self, tag):
        if tag == "select" and self._select is not None:
            chosen = [v for v, selected in self._options if selected]
            if not chosen and self._options and not self._multiple:
                chosen = [self._options[0][0]]
            self.fields.extend((self._select, v) for v in chosen)
            self._select = None
        elif tag == "textarea" and self._textarea is not None:
            self.fields.append((self._textarea, self._text.lstrip("\n")))
            self._textarea = None
        elif tag == "form" and self.form_id is not None:
            self.inside = False


def form_data(html: str, form_id=None) -> dict:
    """The fields of a form as a dict for the test client (a list where a name repeats)."""
    parser = FormFields(form_id)
    parser.feed(html)
    data = {}
    for name, value in parser.fields:
        if name in data:
            data[name] = (data[name] if isinstance(data[name], list) else [data[name]]) + [value]
        else:
            data[name] = value
    return data
