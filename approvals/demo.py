"""Demo data for the engine: an open batch of every program in each demo province, with city quotas."""
import datetime as dt

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop
from stdnum.cn import uscc as uscc_validator
from viewflow.workflow.status import STATUS

from orgs.models import Level, Organization
from printing.render import render_document
from workflows.flows import ApplicationFlow

from . import errors as E
from . import services as svc
from .models import Application, Batch, BatchQuota, Program, Status

DEMO_PROVINCES = ("340000", "510000")


@transaction.atomic
def demo_batches(*, quota: int = 3) -> int:
    """Load the programs and open this year's batch of each in the demo provinces. Idempotent."""
    call_command("loaddata", "programs", verbosity=0)
    call_command("loaddata", "follow_up", verbosity=0)  # the annual report forms and rules (designations)
    today = timezone.localdate()
    created = 0
    for province in Organization.objects.filter(division_id__in=DEMO_PROVINCES, kind="kexie"):
        for program in Program.objects.filter(active=True):
            batch, new = Batch.objects.get_or_create(
                program=program, province=province, year=today.year,
                defaults={
                    "name": f"{province.division.name}{today.year}年度{program.name_zh}申报",
                    "opens_on": today - dt.timedelta(days=7), "closes_on": today + dt.timedelta(days=60),
                },
            )
            created += new
            for city in Organization.objects.filter(parent=province, level=Level.CITY, kind="kexie"):
                BatchQuota.objects.get_or_create(batch=batch, city=city, defaults={"quota": quota})
    return created


# ------------------------------------------------------------------- applications of the demo, and its clock

DEMO_PROGRAM = "society-service-station"
DEMO_SUBJECT_PREFIX = "演示"
# (subject, county, the status it is driven to). Every step is the service a person would call.
DEMO_APPLICATIONS = (
    ("演示草稿智能装备有限公司", "langya", Status.DRAFT),
    ("演示待签发精密机械有限公司", "langya", Status.APPLICANT_SIGNOFF),
    ("演示市级审核新材料有限公司", "nanqiao", Status.CITY_REVIEW),
    ("演示退回修改电子科技有限公司", "nanqiao", "returned"),
    ("演示形式审查生物医药有限公司", "langya", Status.PROVINCE_CHECK),
    ("演示专家评审汽车零部件有限公司", "nanqiao", Status.EXPERT_REVIEW),
    ("演示待认定节能环保有限公司", "langya", Status.DECISION),
    ("演示公示中光伏科技有限公司", "nanqiao", Status.PUBLIC_NOTICE),
    ("演示已授牌智能制造有限公司", "langya", Status.CERTIFIED),
)
# The status after the first n steps of the chain (_demo_steps), n = 0 … 8.
ORDER = [Status.DRAFT, Status.APPLICANT_SIGNOFF, Status.CITY_REVIEW, Status.PROVINCE_CHECK, Status.EXPERT_REVIEW,
         Status.DECISION, Status.PUBLIC_NOTICE, Status.APPROVED, Status.CERTIFIED]
MSG_DEMO_TOOLS_OFF = gettext_noop("演示工具只在演示环境（DEMO_TOOLS=True）中可用，生产环境不提供")
MSG_NOT_IN_NOTICE = gettext_noop("申报 %(id)s 不在公示中（或公示尚未发布）")


class DemoToolsOff(Exception):
    pass


def _require_demo_tools():
    if not getattr(settings, "DEMO_TOOLS", False):
        raise DemoToolsOff(_(MSG_DEMO_TOOLS_OFF))


def demo_form() -> dict:
    return {
        "address": "滁州市琅琊区丰乐大道 1 号", "responsible_person": "张三", "contact_person": "李四",
        "phone": "0550-1234567", "email": "contact@demo.kexie.example", "work_basis": "企业与学会已有三年合作基础。",
        "work_plan": "三年内攻关五项关键技术，培训技术人员两百人次。", "sponsor_society": "安徽省机械工程学会",
        "sponsor_level": "provincial", "tier": "provincial",
        "technical_needs": [{"title": f"关键技术需求{i + 1}", "description": "联合攻关"} for i in range(5)],
        "experts": [{"name": f"专家{i + 1}", "title": "教授", "employer": "合肥工业大学", "level": "provincial"}
                    for i in range(5)],
        "radiated_units": [{"name": f"辐射带动单位{i + 1}"} for i in range(5)],
        "office_area": "120", "staff": 3, "funding": "50", "agreement_years": 3,
    }


def _demo_pdf(title: str) -> bytes:
    return render_document(f"<html lang='zh'><body><h1>{title}</h1><p>{_('演示附件')}</p></body></html>").pdf


def demo_uscc(serial: int) -> str:
    body = f"91341100MA2D{serial:05d}"
    return body + uscc_validator.calc_check_digit(body)


def demo_notice_end(*, application_id: int) -> Application:
    """Demo only: end a published 公示 now (it ended yesterday), so that a visitor reaches 已授牌 in minutes
    instead of five working days. The notice timer is due at once: the beat approves within a minute, or
    the province leader approves by hand. Refused outside DEMO_TOOLS (production never has it)."""
    _require_demo_tools()
    yesterday = timezone.localdate() - dt.timedelta(days=1)
    with transaction.atomic():
        application = Application.objects.select_for_update().filter(pk=application_id).first()
        if application is None or application.status != Status.PUBLIC_NOTICE or not application.notice_starts_on:
            raise E.WrongState(_(MSG_NOT_IN_NOTICE) % {"id": application_id})
        Application.objects.filter(pk=application.pk).update(
            notice_starts_on=min(application.notice_starts_on, yesterday), notice_ends_on=yesterday)
        ApplicationFlow.task_class._default_manager.filter(
            process_id=application.process_id, flow_task=ApplicationFlow.wait_notice, status=STATUS.SCHEDULED,
        ).update(scheduled=timezone.now())
    application.refresh_from_db()
    return application


def _demo_steps(pk, clerk, leader, who, *, end_notice: bool) -> list:
    """The steps of the chain, each moving the application to the next status of ORDER."""
    User = get_user_model()
    experts = ("anhui_expert", "anhui_expert2")

    def review():
        svc.application_assign_experts(actor=who("anhui_reviewer"), application_id=pk,
                                       expert_ids=[User.objects.get(username=u).pk for u in experts])
        svc.application_score(actor=who(experts[0]), application_id=pk, score="88", comment=_("技术需求明确"))
        svc.application_score(actor=who(experts[1]), application_id=pk, score="91.5", comment=_("专家团队较强"))

    def decide_and_publish():
        svc.application_decide(actor=who("anhui_leader"), application_id=pk, approve=True, comment=_("予以认定"))
        svc.application_publish_notice(actor=who("anhui_reviewer"), application_id=pk)
        if end_notice:
            demo_notice_end(application_id=pk)

    return [
        lambda: svc.application_submit(actor=clerk, application_id=pk),
        lambda: svc.application_sign_off(actor=leader, application_id=pk, comment=_("同意上报")),
        lambda: svc.application_recommend(actor=who("chuzhou_reviewer"), application_id=pk, comment=_("同意推荐")),
        lambda: svc.application_accept(actor=who("anhui_reviewer"), application_id=pk, comment=_("材料齐全")),
        review,
        decide_and_publish,
        lambda: svc.application_approve(actor=who("anhui_leader"), application_id=pk),
        lambda: svc.application_issue_certificate(actor=svc.SYSTEM_ACTOR, application_id=pk),
    ]


def demo_applications() -> int:
    """Applications of the 安徽 学会服务站 batch in every stage, each driven there by the people of the demo
    through the services. Idempotent: nothing is made when the demo's applications exist."""
    _require_demo_tools()
    User = get_user_model()
    province = Organization.objects.get(division_id="340000", kind="kexie")
    batch = Batch.objects.get(program__code=DEMO_PROGRAM, province=province, year=timezone.localdate().year)
    if Application.objects.filter(batch=batch, subject_name__startswith=DEMO_SUBJECT_PREFIX).exists():
        return 0
    # Room in the city's quota for the demo's recommended applications and a visitor's own.
    BatchQuota.objects.filter(batch=batch).update(quota=10)

    def who(username):
        return svc.Actor(user=User.objects.get(username=username), ip="127.0.0.1")

    made = 0
    for serial, (subject, county, target) in enumerate(DEMO_APPLICATIONS, start=1):
        applicant = Organization.objects.get(division_id={"langya": "341102", "nanqiao": "341103"}[county],
                                             kind="kexie")
        clerk, leader = who(f"{county}_clerk"), who(f"{county}_leader")
        application = svc.application_create(
            actor=clerk, batch=batch, applicant=applicant, subject_name=subject, uscc=demo_uscc(serial),
            division_code=applicant.division_id, form_data=demo_form())
        for kind in batch.program.attachment_kinds:
            svc.attachment_add(actor=clerk, application_id=application.pk, kind=kind["code"],
                               name=f"{kind['label']}.pdf", content=_demo_pdf(kind["label"]))
        made += 1
        goal = ORDER.index(Status.CITY_REVIEW if target == "returned" else target)
        for step in _demo_steps(application.pk, clerk, leader, who, end_notice=target == Status.CERTIFIED)[:goal]:
            step()
        pk = application.pk
        if target == "returned":
            svc.application_return(actor=who("chuzhou_reviewer"), application_id=pk,
                                   comment=_("请补充工作计划的年度目标"))
    return made
