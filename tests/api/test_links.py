"""The schema's OpenAPI links (approvals.api_links), which schemathesis's stateful phase follows, and the
rule refusals a valid request may get (x-rule-codes, scripts/schemathesis_hooks.py): every link names an
operation and parameters the schema has, schemathesis builds them all, following them from real answers
makes the next real call, and only a documented rule code passes the check of a 400 to valid data."""
import importlib
import json
import re

import pytest
import requests
import schemathesis
from django.http import HttpResponse
from schemathesis.specs.openapi.stateful import collect_transitions

from approvals.api import RULE_CODES, RULE_CODES_EXTENSION
from approvals.api_links import _links_table

from .test_api import _create_body, build, client


def operations(schema) -> dict[str, tuple[str, str, dict]]:
    return {op["operationId"]: (method, path, op) for path, item in schema["paths"].items()
            for method, op in item.items()}


def links_of(schema, operation_id: str, status: str) -> dict:
    return operations(schema)[operation_id][2]["responses"][status].get("links", {})


def test_every_link_names_an_operation_and_parameters_the_schema_has(schema):
    by_id = operations(schema)
    table = _links_table()
    for (source, status), links in table.items():
        assert source in by_id and status in by_id[source][2]["responses"], (source, status)
        assert links_of(schema, source, status) == links, (source, status)  # the whole table is served
        source_parameters = {(p["in"], p["name"]) for p in by_id[source][2].get("parameters", [])}
        for name, link in links.items():
            assert name == link["operationId"] and name in by_id, (source, name)
            target = {(p["in"], p["name"]) for p in by_id[name][2].get("parameters", [])}
            required = {(p["in"], p["name"]) for p in by_id[name][2].get("parameters", []) if p.get("required")}
            given = {tuple(key.split(".", 1)) for key in link["parameters"]}
            assert given <= target, (source, name, given - target)
            assert {p for p in required if p[0] == "path"} <= given, (source, name)  # every path parameter
            for expression in link["parameters"].values():
                match = re.fullmatch(r"\$request\.(path|query)\.(\w+)", expression)
                if match:
                    assert (match[1], match[2]) in source_parameters, (source, expression)
                else:
                    assert re.fullmatch(r"\$response\.(body#/[\w/]+|header\.ETag)", expression), expression
    # No scenario starts from a POST with an id in its path (a random id leads nowhere): they have no links.
    for source, _status in table:
        method, path, _operation = by_id[source]
        assert method != "post" or "{" not in path, source
    # The application read leads to every operation on it that needs nothing but its id (the diff needs
    # two version numbers: the versions listed lead to it).
    on_one = {name for name, (_m, path, _o) in by_id.items()
              if re.fullmatch(r"/api/v1/applications/\{id\}/([\w-]+/)?", path)} - {"applications_revisions_diff_list"}
    assert set(table[("applications_retrieve", "200")]) == on_one

def test_schemathesis_builds_a_transition_of_every_link(schema):
    loaded = schemathesis.openapi.from_dict(schema)
    every = [result.ok() for result in loaded.get_all_operations()]
    transitions = collect_transitions(every)  # raises InvalidStateMachine on a link it cannot follow
    built = sum(len(t.outgoing) for t in transitions.operations.values())
    assert built == sum(len(links) for links in _links_table().values())


def evaluate(expression: str, request_path: dict, response):
    """An OpenAPI runtime expression of the forms the links use, against a real answer."""
    if expression.startswith("$request.path."):
        return request_path[expression.removeprefix("$request.path.")]
    if expression.startswith("$response.header."):
        return response[expression.removeprefix("$response.header.")]
    value = response.json()
    for step in expression.removeprefix("$response.body#/").split("/"):
        value = value[int(step)] if isinstance(value, list) else value[step]
    return value


def follow(schema, api, source: str, status: str, target: str, response, request_path=None, body=None):
    """The call the link from `source` to `target` makes, with the values it takes from `response`."""
    link = links_of(schema, source, status)[target]
    method, path, _operation = operations(schema)[target]
    values = {key: evaluate(expression, request_path or {}, response) for key, expression in link["parameters"].items()}
    for key, value in values.items():
        where, name = key.split(".", 1)
        if where == "path":
            path = path.replace("{" + name + "}", str(value))
    query = {key.split(".", 1)[1]: value for key, value in values.items() if key.startswith("query.")}
    headers = {f"HTTP_{key.split('.', 1)[1].upper().replace('-', '_')}": value
               for key, value in values.items() if key.startswith("header.")}
    if method == "get":
        return getattr(api, method)(path, query, **headers)
    return getattr(api, method)(path, body or {}, format="json", **headers)


def test_following_the_links_from_real_answers_makes_the_next_real_calls(world, schema):
    clerk = client(world, "langya_clerk")
    created = clerk.post("/api/v1/applications/", _create_body(world), format="json")
    assert created.status_code == 201
    edited = follow(schema, clerk, "applications_create", "201", "applications_partial_update", created,
                    body={"subject_name": "沿链接修改的名称"})
    assert edited.status_code == 200 and edited.json()["subject_name"] == "沿链接修改的名称"
    for target in ("applications_retrieve", "applications_attachments_list", "applications_revisions_list"):
        assert follow(schema, clerk, "applications_partial_update", "200", target, edited).status_code == 200
    stale = follow(schema, clerk, "applications_create", "201", "applications_partial_update", created,
                   body={"subject_name": "旧版本"})
    assert (stale.status_code, stale.json()["code"]) == (409, "stale")  # the ETag of the answer followed

    reviewer = client(world, "chuzhou_reviewer")
    application = build(world, "city_review")
    queue = reviewer.get("/api/v1/tasks/", {"box": "queue"})
    claimed = follow(schema, reviewer, "tasks_list", "200", "tasks_claim_create", queue)
    assert claimed.status_code == 200 and claimed.json()["application"] == application.pk
    recommended = follow(schema, reviewer, "tasks_list", "200", "applications_recommend", queue)
    assert recommended.status_code == 200 and recommended.json()["status"] == "province_check"
    events = follow(schema, reviewer, "applications_retrieve", "200", "applications_events_list", recommended)
    assert events.json()[-1]["action"] == "recommend"

    province = client(world, "anhui_reviewer")
    accepted = province.post(f"/api/v1/applications/{application.pk}/accept/", {}, format="json")
    assert accepted.status_code == 200
    experts = follow(schema, province, "applications_retrieve", "200", "applications_experts_list", accepted)
    assigned = follow(schema, province, "applications_experts_list", "200", "applications_assign_experts", experts,
                      request_path={"id": application.pk},
                      body={"expert_ids": [experts.json()[0]["id"], experts.json()[1]["id"]]})
    assert assigned.status_code == 200, assigned.content[:300]
    assert links_of(schema, "applications_experts_list", "200")["applications_assign_experts"]["requestBody"] == {
        "expert_ids": ["$response.body#/0/id", "$response.body#/1/id"]}

    batches = province.get("/api/v1/batches/")
    batch = follow(schema, province, "batches_list", "200", "batches_retrieve", batches)
    listed = follow(schema, province, "batches_retrieve", "200", "applications_list", batch)
    assert application.pk in [row["id"] for row in listed.json()["results"]]


# ------------------------------------------------------------------------ rule refusals of valid data


@pytest.fixture
def hooks(monkeypatch):
    monkeypatch.setenv("API_CHECK_BASE", "http://testserver")
    return importlib.import_module("scripts.schemathesis_hooks")


def st_response(response) -> schemathesis.Response:
    """A Django test answer as schemathesis sees an answer (its own Response type)."""
    headers = {key: [value] for key, value in response.headers.items()}
    return schemathesis.Response(status_code=response.status_code, headers=headers, content=response.content,
                                 request=requests.Request("POST", "http://testserver/").prepare(),
                                 elapsed=0.0, verify=True)


def test_the_rule_codes_are_on_the_operations_that_refuse_valid_data_by_rules(schema):
    named = {op["operationId"]: op[RULE_CODES_EXTENSION] for _m, _p, op in operations(schema).values()
             if RULE_CODES_EXTENSION in op}
    assert named.pop("auth_token_create") == ["invalid", "two_factor_required", "two_factor_failed"]
    assert all(codes == RULE_CODES for codes in named.values()), named
    assert {"applications_create", "applications_partial_update", "applications_attachments_create",
            "applications_submit", "applications_decide"} <= set(named)
    assert not any(name.endswith(("_list", "_retrieve")) for name in named)  # reads do not refuse valid data


def test_a_400_to_valid_data_passes_only_with_a_documented_rule_code(world, schema, hooks):
    loaded = schemathesis.openapi.from_dict(schema)
    create = loaded["/api/v1/applications/"]["POST"]
    diff = loaded["/api/v1/applications/{id}/revisions/diff/"]["GET"]
    clerk = client(world, "langya_clerk")
    # A batch that does not exist: schema-valid (an id), refused by a rule, naming the field.
    refused = clerk.post("/api/v1/applications/", _create_body(world, batch=2**31 - 1), format="json")
    assert refused.status_code == 400 and refused.json()["code"] == "invalid" and "batch" in refused.json()["errors"]
    assert hooks.rule_refusal(create.Case(), st_response(refused)) is None
    # A program rule (the credit code's check digit): rule or invalid, either documented.
    checked = clerk.post("/api/v1/applications/", _create_body(world, uscc="91341100MA2N0XKX1A"), format="json")
    assert checked.status_code == 400 and checked.json()["code"] in RULE_CODES
    assert hooks.rule_refusal(create.Case(), st_response(checked)) is None
    # A parse error is no rule: valid data never gets one.
    unparsed = clerk.post("/api/v1/applications/", b'{"batch": 1, "batch": 2}', content_type="application/json")
    assert unparsed.status_code == 400 and unparsed.json()["code"] == "duplicate_key"
    assert "not one of the operation's rule codes" in hooks.rule_refusal(create.Case(), st_response(unparsed))
    # An operation that names no rule codes: any 400 to valid data fails.
    application = build(world, "draft")
    bad_query = clerk.get(f"/api/v1/applications/{application.pk}/revisions/diff/?old=x&new=1")
    assert bad_query.status_code == 400
    assert "names no rule codes" in hooks.rule_refusal(diff.Case(), st_response(bad_query))
    # An `invalid` that names no field, and a body outside the error shape.
    shapeless = HttpResponse(json.dumps({"code": "invalid", "message": "x", "detail": "x", "errors": {}}),
                              status=400, content_type="application/json")
    assert "names no field" in hooks.rule_refusal(create.Case(), st_response(shapeless))
    other = HttpResponse(json.dumps({"detail": "x"}), status=400, content_type="application/json")
    assert "error shape" in hooks.rule_refusal(create.Case(), st_response(other))
