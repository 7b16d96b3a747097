import pytest

from approvals import services as svc
from approvals.models import Application

from .chain import act, create, publish_and_wait, to_decision, to_province_check


@pytest.mark.django_db(transaction=False)
def test_station_full_chain(world, django_capture_on_commit_callbacks):
    app = create(world, "society-service-station")
    app = to_province_check(world, app, "langya")
    assert app.status == "province_check"
    app = to_decision(world, app)
    assert app.status == "decision"
    svc.application_decide(actor=act(world, "anhui_leader"), application_id=app.pk, approve=True, comment="予以认定")
    app = publish_and_wait(world, app)
    assert app.status == "public_notice"
    with django_capture_on_commit_callbacks(execute=True):
        svc.application_approve(actor=act(world, "anhui_leader"), application_id=app.pk)
    app = Application.objects.get(pk=app.pk)
    assert app.status == "certified"
    assert app.certificate.number.startswith("皖科协证〔")
