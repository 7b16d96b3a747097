"""The demo's applications in every stage (made through the services) and its demo-only way to end a 公示;
both are refused without DEMO_TOOLS, which production settings never have."""
import os
import subprocess
import sys
from io import StringIO

import pytest
from django.conf import settings
from django.core.management import call_command
from django.core.management.base import CommandError

from approvals.demo import DEMO_APPLICATIONS, demo_batches
from approvals.models import Application, AuditEvent, Status
from approvals.selectors import audit_verify
from orgs.demo import demo_seed
from orgs.services import divisions_import
from printing.models import Certificate
from workflows.timers import notice_timers_fire

pytestmark = pytest.mark.django_db


@pytest.fixture
def demo(settings, tmp_path):
    settings.PRIVATE_STORAGE_ROOT = tmp_path / "private"
    settings.DEMO_TOOLS = True
    divisions_import()
    demo_seed()
    demo_batches()


def _run(*args) -> str:
    out = StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


def test_the_demo_holds_an_application_in_every_stage(demo):
    assert "9" in _run("seed_demo_applications")
    statuses = dict(Application.objects.values_list("subject_name", "status"))
    for subject, _county, target in DEMO_APPLICATIONS:
        assert statuses[subject] == (Status.DRAFT if target == "returned" else target), subject
    certified = Application.objects.get(status=Status.CERTIFIED)
    assert Certificate.objects.filter(application=certified).exists()
    returned = Application.objects.get(subject_name="演示退回修改电子科技有限公司")
    assert returned.events.filter(action="return").exists()
    ok, message = audit_verify(check_age=False)
    assert ok, message
    events = AuditEvent.objects.count()
    assert "已存在" in _run("seed_demo_applications")  # idempotent
    assert AuditEvent.objects.count() == events


def test_ending_a_notice_early_lets_the_timer_approve_it(demo):
    _run("seed_demo_applications")
    in_notice = Application.objects.get(status=Status.PUBLIC_NOTICE)
    assert notice_timers_fire() == 0
    assert "结束" in _run("demo_end_notice", str(in_notice.pk))
    assert notice_timers_fire() == 1
    in_notice.refresh_from_db()
    assert in_notice.status == Status.APPROVED
    with pytest.raises(CommandError, match="不在公示中"):
        _run("demo_end_notice", str(in_notice.pk))


def test_without_demo_tools_nothing_is_made_or_changed(demo, settings):
    _run("seed_demo_applications")
    settings.DEMO_TOOLS = False
    in_notice = Application.objects.get(status=Status.PUBLIC_NOTICE)
    before = (in_notice.notice_starts_on, in_notice.notice_ends_on)
    for args in (("demo_end_notice", "--all"), ("seed_demo_applications",)):
        with pytest.raises(CommandError, match="演示工具只在演示环境"):
            _run(*args)
    in_notice.refresh_from_db()
    assert (in_notice.notice_starts_on, in_notice.notice_ends_on) == before


def test_production_never_has_the_demo_tools(tmp_path):
    key = tmp_path / "audit.pem"
    subprocess.run(["openssl", "genpkey", "-algorithm", "ed25519", "-out", str(key)], check=True)
    env = {**{k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"},
           "DJANGO_SECRET_KEY": "x" * 60, "DJANGO_ALLOWED_HOSTS": "kexie.example", "DEMO_TOOLS": "true",
           "DATABASE_URL": "postgres://kexie@db.example:5432/kexie", "CELERY_BROKER_URL": "redis://r.example:6379/0",
           "PUBLIC_BASE_URL": "https://kexie.example", "AUDIT_SIGNING_KEY_FILE": str(key),
           "SIGNING_KEY_PASSPHRASE": "p"}
    result = subprocess.run([sys.executable, "-c", "import config.settings.production as s; print(s.DEMO_TOOLS)"],
                            cwd=settings.BASE_DIR, env=env, capture_output=True, text=True, timeout=60)
    assert result.stdout.strip() == "False", result.stderr
