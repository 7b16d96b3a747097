"""The detail page compares any two revisions; attachment changes read as added, removed and replaced files
with their names and sizes (not as raw data)."""
import pytest

from approvals import services as svc
from tests.approvals.chain import act, create
from tests.approvals.conftest import World, minimal_pdf

pytestmark = pytest.mark.django_db


@pytest.fixture
def world(db, settings, tmp_path):
    settings.PRIVATE_STORAGE_ROOT = tmp_path / "private"
    return World()


def _resubmit(world, app, *, work_plan, replace=None, add=None, remove=None):
    clerk = act(world, "langya_clerk")
    svc.application_return(actor=act(world, "langya_leader"), application_id=app.pk, comment="请修改")
    app.refresh_from_db()
    svc.application_edit(actor=clerk, application_id=app.pk, form_data=dict(app.form_data, work_plan=work_plan))
    for kind, _name in filter(None, [replace, remove]):
        old = app.attachments.get(kind=kind, removed_in__isnull=True)
        svc.attachment_remove(actor=clerk, attachment_id=old.pk)
    for kind, name in filter(None, [replace, add]):
        svc.attachment_add(actor=clerk, application_id=app.pk, kind=kind, name=name, content=minimal_pdf(name * 40))
    svc.application_submit(actor=clerk, application_id=app.pk)
    app.refresh_from_db()
    return app


@pytest.fixture
def three_revisions(world):
    app = create(world, "society-service-station")
    svc.application_submit(actor=act(world, "langya_clerk"), application_id=app.pk)
    app = _resubmit(world, app, work_plan="第二版计划", replace=("agreement", "建站协议（修订）.pdf"))
    app = _resubmit(world, app, work_plan="第三版计划", add=("agreement", "补充协议.pdf"))
    assert app.revision == 3
    return app


def _page(client, world, app, query=""):
    client.force_login(world.user["langya_clerk"])
    response = client.get(f"/approvals/applications/{app.pk}/{query}")
    assert response.status_code == 200
    return response.content.decode()


def test_the_last_two_revisions_by_default(client, world, three_revisions):
    page = _page(client, world, three_revisions)
    assert "第 2 版与第 3 版的差异" in page
    assert "第二版计划" in page and "第三版计划" in page
    assert "新增：补充协议.pdf" in page
    assert "替换：" not in page and "sha256" not in page and "{&#x27;name&#x27;" not in page


def test_any_two_revisions(client, world, three_revisions):
    page = _page(client, world, three_revisions, "?old=3&new=1")
    assert "第 1 版与第 3 版的差异" in page
    assert "第三版计划" in page
    old = three_revisions.attachments.filter(kind="agreement").order_by("pk").first()
    assert f"替换：{old.original_name}" in page and "→ 建站协议（修订）.pdf" in page
    assert "新增：补充协议.pdf" in page


@pytest.mark.parametrize("query", ["?old=1&new=9", "?old=x&new=2", "?old=2&new=2", "?old=99999999999999999999&new=1"])
def test_a_revision_that_does_not_exist_is_said_so(client, world, three_revisions, query):
    page = _page(client, world, three_revisions, query)
    assert "请选择两个不同的已有版本进行比较" in page
    assert "第 2 版与第 3 版的差异" in page
