"""schemathesis hooks for scripts/api_check.sh.

- The caller's token, fetched from the API's own token endpoint with the account in API_CHECK_USERNAME /
  API_CHECK_PASSWORD and fetched again every second, because the run also calls DELETE /api/v1/auth/token/
  (which revokes the token it is sent with).
- positive_data_acceptance_by_rule, which api_check.sh runs in place of schemathesis's own
  positive_data_acceptance: the same check (it is called, with the same configuration), except that a 400
  to schema-valid data is accepted when, and only when, the operation names rule codes in the schema
  (x-rule-codes, approvals.api.RULE_CODES) and the answer is the one JSON error shape carrying one of
  them; an `invalid` refusal also names the field at fault in `errors`. Any other 400 to valid data (an
  undocumented code, another operation, an empty `errors`, a body not in the error shape) fails the run.
"""
import json
import os

import requests
import schemathesis
from schemathesis.specs.openapi.checks import positive_data_acceptance

BASE = os.environ["API_CHECK_BASE"]
RULE_CODES_EXTENSION = "x-rule-codes"  # approvals.api.RULE_CODES_EXTENSION
ERROR_KEYS = {"code", "message", "detail", "errors"}


@schemathesis.auth(refresh_interval=1)
class ApiToken:
    def get(self, case, context):
        response = requests.post(f"{BASE}/api/v1/auth/token/", timeout=30, json={
            "username": os.environ["API_CHECK_USERNAME"], "password": os.environ["API_CHECK_PASSWORD"]})
        response.raise_for_status()
        return response.json()["token"]

    def set(self, case, data, context):
        case.headers = {**(case.headers or {}), "Authorization": f"Token {data}"}


def rule_refusal(case, response) -> str | None:
    """Why this 400 is not a documented rule refusal of its operation, or None when it is one."""
    codes = case.operation.definition.raw.get(RULE_CODES_EXTENSION)
    if not codes:
        return f"{case.operation.label} names no rule codes ({RULE_CODES_EXTENSION}): valid data must not get a 400"
    try:
        body = json.loads(response.content)
    except ValueError:
        return "the 400 is not JSON"
    if not isinstance(body, dict) or set(body) != ERROR_KEYS:
        return f"the 400 is not in the error shape {sorted(ERROR_KEYS)}"
    if body["code"] not in codes:
        return f"the 400's code {body['code']!r} is not one of the operation's rule codes {codes}"
    if body["code"] == "invalid" and not (isinstance(body["errors"], dict) and body["errors"]):
        return "an `invalid` refusal names no field in `errors`"
    return None


@schemathesis.check
def positive_data_acceptance_by_rule(ctx, response, case):
    """schemathesis's positive_data_acceptance, with a documented rule refusal (400) accepted."""
    try:
        return positive_data_acceptance(ctx, response, case)
    except AssertionError:  # RejectedPositiveData is one
        if response.status_code != 400:
            raise
        reason = rule_refusal(case, response)
        if reason is not None:
            raise AssertionError(f"Valid data was refused with an undocumented 400: {reason}") from None
        return None
