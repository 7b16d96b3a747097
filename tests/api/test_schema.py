"""The OpenAPI schema is valid and truthful: the answers real requests get (success and error, as each role)
are documented for their operation with that status, and their bodies validate against the documented
schema; the request constraints the server enforces are in the schema."""
import re

import jsonschema
from drf_spectacular.validation import validate_schema
from rest_framework.test import APIClient

from approvals.stages import ACTIONS, ROUTED_ACTIONS
from workflows.models import Notification

from .test_api import STATION, _create_body, build, client


def _nullable(node):
    """OpenAPI 3.0's `nullable` as JSON Schema's null type (jsonschema does not know the keyword)."""
    if isinstance(node, dict):
        node = {key: _nullable(value) for key, value in node.items()}
        if node.pop("nullable", False):
            node = {"anyOf": [node, {"type": "null"}]}
        return node
    if isinstance(node, list):
        return [_nullable(item) for item in node]
    return node


def operation_for(schema, method: str, path: str):
    for template, item in schema["paths"].items():
        pattern = "^" + re.sub(r"\\{[^}]+\\}", r"[^/]+", re.escape(template)) + "$"
        if re.match(pattern, path) and method.lower() in item:
            return template, item[method.lower()]
    raise AssertionError(f"{method} {path}: no operation in the schema")


def conforms(schema, response, method: str, url: str) -> None:
    """The response's status is documented for its operation, and its JSON body matches the schema."""
    template, operation = operation_for(schema, method, url.split("?")[0])
    documented = operation["responses"]
    status = str(response.status_code)
    assert status in documented, f"{method} {url}: {status} not in {sorted(documented)} ({template})"
    content = documented[status].get("content", {})
    kind = response["Content-Type"].split(";")[0] if response.has_header("Content-Type") else ""
    if response.status_code == 204:
        return
    assert kind in content, f"{method} {url}: {kind} not documented for {status} ({sorted(content)})"
    if kind == "application/json":
        definitions = _nullable(schema["components"])
        body_schema = {**_nullable(content[kind]["schema"]), "components": definitions}
        jsonschema.validate(response.json(), body_schema)


def test_the_schema_validates(schema):
    validate_schema(schema)
    assert all(path.startswith("/api/v1/") for path in schema["paths"])


def test_every_operation_documents_the_errors_it_can_get(schema):
    for path, item in schema["paths"].items():
        for method, operation in item.items():
            codes = set(operation["responses"])
            secured = operation.get("security") and {} not in operation["security"]
            if secured:
                assert {"401", "403"} <= codes, (method, path)
            if "{" in path:
                assert "404" in codes, (method, path)
            if "requestBody" in operation:
                assert {"400", "413", "415"} <= codes, (method, path)


def test_request_constraints_are_those_the_server_enforces(schema):
    components = schema["components"]["schemas"]
    experts = components["AssignExpertsBodyRequest"]["properties"]["expert_ids"]
    assert (experts["minItems"], experts["uniqueItems"]) == (2, True)
    score = components["ScoreBodyRequest"]["properties"]["score"]
    assert {branch["type"] for branch in score["oneOf"]} == {"integer", "string"}
    for action in ROUTED_ACTIONS:
        spec = ACTIONS[action]
        if "comment" not in spec.inputs:
            continue
        body = components["".join(part.title() for part in action.value.split("_")) + "BodyRequest"]
        comment = body["properties"]["comment"]
        if spec.opinion_required:
            assert "comment" in body["required"] and comment["minLength"] == 1, action
        else:
            assert "comment" not in body.get("required", []) and "minLength" not in comment, action
    create = components["ApplicationCreateRequest"]["properties"]
    assert create["division_code"]["minLength"] == 1 and "minLength" not in create["subject_name"]


def test_the_refusals_the_issue_names_are_refused_and_their_answers_documented(world, schema):
    application = build(world, "expert_review")
    reviewer, expert = client(world, "anhui_reviewer"), client(world, "anhui_expert")
    cases = [
        (reviewer, "post", f"/api/v1/applications/{application.pk}/assign-experts/", {"expert_ids": []}, 400),
        (reviewer, "post", f"/api/v1/applications/{application.pk}/assign-experts/",
         {"expert_ids": [world.user["anhui_expert"].pk] * 2}, 400),
        (expert, "post", f"/api/v1/applications/{application.pk}/score/", {"score": ""}, 400),
        (expert, "post", f"/api/v1/applications/{application.pk}/score/", {"score": 88.5}, 400),
        (expert, "post", f"/api/v1/applications/{application.pk}/score/", {"score": " 88"}, 400),
        (reviewer, "post", f"/api/v1/applications/{application.pk}/return/", {"comment": "   "}, 400),
        (reviewer, "post", f"/api/v1/applications/{application.pk}/return/", {}, 400),
    ]
    for api, method, url, body, status in cases:
        response = getattr(api, method)(url, body, format="json")
        assert response.status_code == status, (url, body, response.content)
        conforms(schema, response, method, url)


def test_real_answers_match_the_schema(world, schema):
    certified = build(world, "certified")
    draft = client(world, "langya_clerk").post("/api/v1/applications/", _create_body(world), format="json").json()
    Notification.objects.create(user=world.user["langya_clerk"], kind="task", title="待办", dedup_key="schema")
    batch = certified.batch_id
    anonymous = APIClient()
    requests = [
        ("langya_clerk", "get", "/api/v1/applications/"),
        ("langya_clerk", "get", f"/api/v1/applications/{certified.pk}/"),
        ("langya_clerk", "get", f"/api/v1/applications/{certified.pk}/events/"),
        ("langya_clerk", "get", f"/api/v1/applications/{certified.pk}/opinions/"),
        ("langya_clerk", "get", f"/api/v1/applications/{certified.pk}/revisions/"),
        ("langya_clerk", "get", f"/api/v1/applications/{certified.pk}/revisions/diff/?old=1&new=1"),
        ("langya_clerk", "get", f"/api/v1/applications/{certified.pk}/attachments/"),
        ("langya_clerk", "get", f"/api/v1/applications/{certified.pk}/certificate-pdf/"),
        ("langya_clerk", "get", f"/api/v1/applications/{draft['id']}/certificate-pdf/"),
        ("langya_clerk", "get", f"/api/v1/applications/{certified.pk}/experts/"),
        ("anhui_reviewer", "get", f"/api/v1/applications/{certified.pk}/experts/"),
        ("langya_clerk", "get", "/api/v1/applications/999999/"),
        ("langya_clerk", "get", "/api/v1/applications/?year=1e30"),
        ("langya_clerk", "get", "/api/v1/applications/?page=99"),
        ("langya_clerk", "post", f"/api/v1/applications/{certified.pk}/submit/"),
        ("langya_clerk", "post", f"/api/v1/applications/{draft['id']}/approve/"),
        ("langya_clerk", "get", "/api/v1/programs/"),
        ("langya_clerk", "get", "/api/v1/batches/"),
        ("anhui_reviewer", "get", f"/api/v1/batches/{batch}/"),
        ("anhui_reviewer", "get", f"/api/v1/batches/{batch}/notice-pdf/"),
        ("langya_clerk", "get", f"/api/v1/batches/{batch}/summary-pdf/"),
        ("chuzhou_reviewer", "get", f"/api/v1/batches/{batch}/summary-xlsx/?purpose=核对"),
        ("langya_clerk", "get", "/api/v1/batches/?open=maybe"),
        ("langya_clerk", "get", "/api/v1/organizations/"),
        ("langya_clerk", "get", "/api/v1/tasks/?box=inbox"),
        ("langya_clerk", "post", "/api/v1/tasks/999999/claim/"),
        ("langya_clerk", "get", "/api/v1/notifications/"),
        ("anhui_reviewer", "post", f"/api/v1/notifications/{Notification.objects.get().pk}/read/"),
        ("langya_clerk", "post", f"/api/v1/notifications/{Notification.objects.get().pk}/read/"),
        (None, "get", "/api/v1/batches/"),
        (None, "post", "/api/v1/auth/token/"),
    ]
    for username, method, url in requests:
        api = client(world, username) if username else anonymous
        response = getattr(api, method)(url, {}, format="json") if method == "post" else api.get(url)
        conforms(schema, response, method, url)
    assert draft["program"] == STATION
