"""schemathesis hooks for scripts/api_check.sh: the caller's token, fetched from the API's own token endpoint
with the account in API_CHECK_USERNAME / API_CHECK_PASSWORD and fetched again every second, because the run
also calls DELETE /api/v1/auth/token/ (which revokes the token it is sent with)."""
import os

import requests
import schemathesis

BASE = os.environ["API_CHECK_BASE"]


@schemathesis.auth(refresh_interval=1)
class ApiToken:
    def get(self, case, context):
        response = requests.post(f"{BASE}/api/v1/auth/token/", timeout=30, json={
            "username": os.environ["API_CHECK_USERNAME"], "password": os.environ["API_CHECK_PASSWORD"]})
        response.raise_for_status()
        return response.json()["token"]

    def set(self, case, data, context):
        case.headers = {**(case.headers or {}), "Authorization": f"Token {data}"}
