"""The application form in the Material frame's text fields: each control is named by its label, what
submission requires is marked, and a refusal is shown under the field it concerns (aria-invalid, and the
message tied to the control with aria-describedby), with a summary at the top; nothing is saved."""
import re

import pytest
from django.test import Client

from approvals.models import Application
from tests.approvals.conftest import World
from tests.factories import TEST_PASSWORD

pytestmark = pytest.mark.django_db


@pytest.fixture
def world(db):
    return World()


def _field(html: str, name: str) -> str:
    """The markup of one field's block (approvals/_field.html) by the control's name."""
    for block in re.findall(r'<div class="kx-field[^"]*">.*?</label>.*?(?=<div class="kx-field|<div class="kx-rows|'
                            r'<div class="kx-actions)', html, re.S):
        if f'name="{name}"' in block:
            return block
    raise AssertionError(f"no field {name}")


def test_required_marks_and_inline_errors(world):
    batch = world.batch("society-service-station")
    client = Client()
    assert client.login(username=world.user["langya_clerk"].username, password=TEST_PASSWORD)
    url = f"/approvals/applications/new/?batch={batch.pk}&org={world.org['langya'].pk}"
    page = client.get(url).content.decode()
    subject = _field(page, "subject_name")
    assert 'class="mdc-text-field mdc-text-field--filled' in subject and 'class="kx-required"' in subject
    assert "kx-field--invalid" not in subject
    assert 'class="kx-required"' not in _field(page, "uscc")  # optional for this program
    assert "mdc-text-field--textarea" in _field(page, "f_work_plan")

    response = client.post(url, {"subject_name": "", "division_code": world.division["langya"].code,
                                 "f_email": "不是邮箱"})
    assert response.status_code == 422 and not Application.objects.exists()
    page = response.content.decode()
    assert 'id="form-errors"' in page
    for name in ("subject_name", "f_email"):
        block = _field(page, name)
        assert "kx-field--invalid" in block and 'aria-invalid="true"' in block
        error_id = re.search(r'<ul class="errorlist" id="([^"]+)"', block).group(1)
        described = re.search(r'aria-describedby="([^"]+)"', block).group(1)
        assert error_id in described.split()
    assert "有效的电子邮件地址" in _field(page, "f_email") or "邮件" in _field(page, "f_email")
    assert "kx-field--invalid" not in _field(page, "uscc")
