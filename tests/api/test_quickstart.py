"""The curl quick start of docs/api.md, run end to end (scripts/api_quickstart.py) against a live server:
from a token to a draft, to a certified application's PDF and its public check."""
import importlib.util
import shutil
from pathlib import Path

import pytest
from django.conf import settings

from approvals import services as svc
from approvals.models import Application
from tests.approvals import chain
from tests.approvals.conftest import World
from tests.factories import TEST_PASSWORD

from .test_api import STATION, STEPS, act

pytestmark = pytest.mark.skipif(not (shutil.which("curl") and shutil.which("jq")), reason="needs curl and jq")

_spec = importlib.util.spec_from_file_location(
    "api_quickstart", Path(settings.BASE_DIR) / "scripts" / "api_quickstart.py")
quickstart = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(quickstart)


def test_the_doc_has_the_steps_in_order():
    script = quickstart.script()
    steps = ["/api/v1/auth/token/", "/api/v1/programs/", "/api/v1/batches/", "/api/v1/applications/",
             "If-Match", "certificate-pdf", "/verify/", "-X DELETE"]
    positions = [script.index(step) for step in steps]
    assert positions == sorted(positions)


def test_the_quick_start_runs_end_to_end(transactional_db, live_server, settings, tmp_path):
    settings.PRIVATE_STORAGE_ROOT = tmp_path / "private"
    world = World()
    certified = chain.create(world, STATION)
    for _name, step in STEPS[:-1]:  # to 已批准; the certificate may follow on its own after the commit
        step(world, certified)
    if Application.objects.get(pk=certified.pk).status != "certified":
        svc.application_issue_certificate(actor=act(world, "anhui_reviewer"), application_id=certified.pk)
    assert Application.objects.get(pk=certified.pk).status == "certified"
    done = quickstart.run({"HOST": live_server.url, "USERNAME": "langya_clerk", "PASSWORD": TEST_PASSWORD})
    assert done.returncode == 0, done.stdout + done.stderr
    assert "一致：该文件与发证时登记的证书文件完全相同" in done.stdout
    assert "token revoked: 204" in done.stdout
    draft = Application.objects.get(subject_name="快速上手示例有限公司")
    assert (draft.status, draft.form_data["address"]) == ("draft", "琅琊区丰乐大道 1 号")
    assert certified.pk != draft.pk


def test_a_demo_account_runs_the_quick_start_with_its_first_new_password(transactional_db, live_server, settings,
                                                                         tmp_path):
    """Every seed_demo account must change its password first: the quick start as written takes the new one
    (NEW_PASSWORD) in the token request, so a new user following the doc gets a token, not a silent 403."""
    from django.contrib.auth import get_user_model

    from security import passwords

    settings.PRIVATE_STORAGE_ROOT = tmp_path / "private"
    world = World()
    certified = chain.create(world, STATION)
    for _name, step in STEPS[:-1]:
        step(world, certified)
    if Application.objects.get(pk=certified.pk).status != "certified":
        svc.application_issue_certificate(actor=act(world, "anhui_reviewer"), application_id=certified.pk)
    clerk = get_user_model().objects.get(username="langya_clerk")
    passwords.require_change(clerk)  # as seed_demo leaves every account it prints
    done = quickstart.run({"HOST": live_server.url, "USERNAME": "langya_clerk", "PASSWORD": TEST_PASSWORD,
                           "NEW_PASSWORD": "Quick-start-2026"})
    assert done.returncode == 0, done.stdout + done.stderr
    assert "token revoked: 204" in done.stdout
    clerk.refresh_from_db()
    assert clerk.check_password("Quick-start-2026")
    assert passwords.change_reason(clerk) is None
