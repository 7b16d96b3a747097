"""OpenAPI links (a drf-spectacular postprocessing hook, SPECTACULAR_SETTINGS): how an answer's ids feed the
next call, the way a client walks the API (docs/api.md). A created or read application leads to its
history, attachments, documents and transitions; a list to its first item; a task to its claim and its
application's transitions; a batch to its applications and documents.
schemathesis's stateful phase (scripts/api_check.sh) chains operations along these links.

Each link is named after its target operation and states its parameters as OpenAPI runtime expressions
(`$response.body#/id`, `$response.header.ETag`, `$request.path.id`). A link names an operation the schema
has, and every parameter it sets is one the target declares (tests/api/test_schema.py checks both)."""
from .stages import ACTIONS, ROUTED_ACTIONS

# The application's own operations, reached with its id (`{id}` in their path).
APPLICATION_READS = [
    "applications_retrieve", "applications_events_list", "applications_opinions_list",
    "applications_revisions_list", "applications_attachments_list", "applications_experts_list",
    "applications_form_pdf_retrieve", "applications_certificate_pdf_retrieve",
]
TRANSITIONS = [f"applications_{action.value}" for action in ACTIONS if action in ROUTED_ACTIONS]
EVERYTHING = [*APPLICATION_READS, "applications_partial_update", "applications_attachments_create", *TRANSITIONS]
# What a new draft leads to, and an edited one.
AFTER_CREATE = ["applications_retrieve", "applications_partial_update", "applications_attachments_create",
                "applications_attachments_list", "applications_revisions_list", "applications_events_list",
                "applications_form_pdf_retrieve", "applications_submit", "applications_withdraw"]
AFTER_EDIT = ["applications_retrieve", "applications_partial_update", "applications_attachments_list",
              "applications_revisions_list", "applications_form_pdf_retrieve", "applications_submit"]


def _application_links(id_expression: str, operations: list[str]) -> dict[str, dict]:
    """Operations on one application, its id taken from `id_expression`; an edit names the version read
    (If-Match from the ETag of the answer, which is then the application itself)."""
    links = {}
    for operation in operations:
        parameters = {"path.id": id_expression}
        if operation == "applications_partial_update":
            parameters["header.If-Match"] = "$response.header.ETag"
        links[operation] = {"operationId": operation, "parameters": parameters}
    return links


def _link(operation: str, **parameters: str) -> tuple[str, dict]:
    return operation, {"operationId": operation, "parameters": parameters}


def _links_table() -> dict[tuple[str, str], dict[str, dict]]:
    """(source operation, status) → its links.

    A POST with an id in its path (a transition, a claim, an upload, marking read) has no links of its own:
    schemathesis starts its scenarios from every operation that has links and is a POST or a GET without
    path parameters, and such a POST with a random id is a 404 that leads nowhere. The application a
    transition answers with is the one its source already links to (the next step is one more link from
    the application read, the task listed)."""
    by_id = "$response.body#/id"
    table = {
        ("applications_create", "201"): _application_links(by_id, AFTER_CREATE),
        ("applications_partial_update", "200"): _application_links(by_id, AFTER_EDIT),
        ("applications_retrieve", "200"): _application_links(by_id, EVERYTHING),
        ("applications_list", "200"): _application_links("$response.body#/results/0/id", ["applications_retrieve"]),
        ("applications_attachments_list", "200"): dict([
            _link("applications_attachments_download_retrieve",
                  **{"path.id": "$request.path.id", "path.attachment_id": "$response.body#/0/id"}),
            _link("applications_attachments_destroy",
                  **{"path.id": "$request.path.id", "path.attachment_id": "$response.body#/0/id"}),
        ]),
        ("applications_revisions_list", "200"): dict([
            _link("applications_revisions_diff_list", **{"path.id": "$request.path.id",
                                                        "query.old": "$response.body#/0/number",
                                                        "query.new": "$response.body#/0/number"}),
            _link("applications_form_pdf_retrieve", **{"path.id": "$request.path.id",
                                                      "query.revision": "$response.body#/0/number"}),
        ]),
        ("applications_experts_list", "200"): {
            "applications_assign_experts": {
                "operationId": "applications_assign_experts", "parameters": {"path.id": "$request.path.id"},
                "requestBody": {"expert_ids": ["$response.body#/0/id", "$response.body#/1/id"]}},
        },
        ("batches_list", "200"): dict([
            _link("batches_retrieve", **{"path.id": "$response.body#/results/0/id"}),
            _link("applications_list", **{"query.batch": "$response.body#/results/0/id"}),
        ]),
        ("batches_retrieve", "200"): dict([
            _link("batches_notice_pdf_retrieve", **{"path.id": by_id}),
            _link("batches_recommendation_pdf_retrieve", **{"path.id": by_id}),
            _link("batches_summary_pdf_retrieve", **{"path.id": by_id}),
            _link("batches_summary_xlsx_retrieve", **{"path.id": by_id}),
            _link("applications_list", **{"query.batch": by_id}),
        ]),
        ("programs_list", "200"): dict([
            _link("batches_list", **{"query.program": "$response.body#/results/0/code"}),
            _link("applications_list", **{"query.program": "$response.body#/results/0/code"}),
        ]),
        ("organizations_list", "200"): dict([
            _link("organizations_list", **{"query.parent": "$response.body#/results/0/id"}),
        ]),
        # A task: claim it, then act on its application (the stage's transition).
        ("tasks_list", "200"): {
            **dict([_link("tasks_claim_create", **{"path.id": "$response.body#/results/0/id"})]),
            **_application_links("$response.body#/results/0/application", ["applications_retrieve", *TRANSITIONS]),
        },
        ("notifications_list", "200"): dict([
            _link("notifications_read_create", **{"path.id": "$response.body#/results/0/id"}),
            _link("applications_retrieve", **{"path.id": "$response.body#/results/0/application"}),
        ]),
    }
    return table


def schema_links(result, generator, request, public):
    operations = {operation.get("operationId"): operation
                  for item in result.get("paths", {}).values() for operation in item.values()}
    for (source, status), links in _links_table().items():
        operation = operations.get(source)
        if operation is None or status not in operation.get("responses", {}):
            continue  # an operation this schema leaves out (tests/api/test_schema.py keeps the table whole)
        present = {name: link for name, link in links.items() if link["operationId"] in operations}
        operation["responses"][status].setdefault("links", {}).update(present)
    return result
