"""Drives applications through the chain with the services, as each role would."""
import datetime as dt
import itertools

import time_machine
from django.utils import timezone
from stdnum.cn import uscc as uscc_validator

from approvals import services as svc
from approvals.models import Application, Program
from approvals.services import Actor

from .conftest import academician_form, base_form, minimal_pdf, region_form, station_form

FORMS = {
    "society-service-station": station_form,
    "collaborative-innovation-base": base_form,
    "innovation-driven-county": region_form,
    "innovation-driven-city": region_form,
    "academician-workstation": academician_form,
}
SUBJECTS = {
    "society-service-station": "滁州某某智能装备有限公司",
    "collaborative-innovation-base": "滁州某某新材料有限公司",
    "innovation-driven-county": "琅琊区",
    "innovation-driven-city": "滁州市",
    "academician-workstation": "滁州某某生物科技有限公司",
}


def act(world, username):
    return Actor(user=world.user[username], ip="127.0.0.1")


_USCC_SERIAL = itertools.count(1)


def fresh_uscc() -> str:
    """A valid credit code not used before in this test run (one live application per batch and subject)."""
    body = f"91341100MA2N{next(_USCC_SERIAL):05d}"
    return body + uscc_validator.calc_check_digit(body)


def create(world, program_code, county="langya", city="chuzhou", province="anhui", form=None, uscc=None):
    program = Program.objects.get(code=program_code)
    applicant = city if program.applicant_level == "city" else county
    application = svc.application_create(
        actor=act(world, f"{applicant}_clerk"), batch=world.batch(program_code, province),
        applicant=world.org[applicant], subject_name=SUBJECTS[program_code],
        uscc=(uscc or fresh_uscc()) if program.requires_uscc else "", division_code=world.division[applicant].code,
        form_data=form if form is not None else FORMS[program_code](),
    )
    for kind in program.attachment_kinds:
        svc.attachment_add(actor=act(world, f"{applicant}_clerk"), application_id=application.pk, kind=kind["code"],
                           name=f"{kind['label']}.pdf", content=minimal_pdf(kind["code"]))
    return application


def applicant_key(application):
    return next(k for k, o in application._world.org.items() if o.pk == application.applicant_id)


def to_province_check(world, application, applicant, city="chuzhou"):
    svc.application_submit(actor=act(world, f"{applicant}_clerk"), application_id=application.pk)
    svc.application_sign_off(actor=act(world, f"{applicant}_leader"), application_id=application.pk, comment="同意上报")
    if Application.objects.get(pk=application.pk).status == "city_review":
        svc.application_recommend(actor=act(world, f"{city}_reviewer"), application_id=application.pk, comment="同意推荐")
    return Application.objects.get(pk=application.pk)


def to_decision(world, application, province="anhui"):
    svc.application_accept(actor=act(world, f"{province}_reviewer"), application_id=application.pk, comment="材料齐全")
    experts = [world.user[f"{province}_expert"].pk, world.user[f"{province}_expert2"].pk]
    svc.application_assign_experts(actor=act(world, f"{province}_reviewer"), application_id=application.pk,
                                   expert_ids=experts)
    svc.application_score(actor=act(world, f"{province}_expert"), application_id=application.pk, score=88, comment="好")
    svc.application_score(actor=act(world, f"{province}_expert2"), application_id=application.pk, score="91.5")
    return Application.objects.get(pk=application.pk)


def publish_ago(actor, application_id, days_ago=30):
    """Publish the notice `days_ago` days ago, on what was then the first allowed day (a notice may only
    start from the day it is published), so that by today it is over."""
    with time_machine.travel(timezone.now() - dt.timedelta(days=days_ago), tick=True):
        return svc.application_publish_notice(actor=actor, application_id=application_id)


def publish_and_wait(world, application, province="anhui", days_ago=30):
    """Publish the notice `days_ago` days ago, so that it is already over."""
    publish_ago(act(world, f"{province}_reviewer"), application.pk, days_ago)
    return Application.objects.get(pk=application.pk)


def restamp_stays() -> None:
    """Derive every audit event's stay fields from the chain again, as the migration that added them did
    (for tests that backdate events with queryset updates)."""
    import importlib

    from django.apps import apps

    importlib.import_module("approvals.migrations.0003_auditevent_from_entered_at").backfill(apps, None)
