"""Deterministic documents for the layout and golden-image tests: an application whose 申报书 has a
2,000-character work plan and long opinions at every level (the province's copy with the experts'
scores), the city's letter and summary, the province's notice and a certificate, all at a fixed time so
that every date printed is the same on every run."""
import datetime as dt

from approvals import services as svc
from approvals.models import Application
from printing import documents, services
from printing.models import Certificate
from printing.render import render_pdf
from tests.approvals.chain import act, create, publish_and_wait
from tests.approvals.conftest import station_form

FIXED_NOW = dt.datetime(2026, 6, 15, 10, 0, tzinfo=dt.timezone(dt.timedelta(hours=8)))
# A work plan of 2,000 characters in sentences of 40, as an applicant writes it (no line breaks).
SENTENCE = "围绕智能装备产业链关键环节组织专家团队开展技术攻关并推动成果转化应用，"
WORK_PLAN = "".join(f"{SENTENCE[:36]}第{i:02d}项。" for i in range(50))[:2000]
WORK_BASIS = "依托单位与安徽省机械工程学会已合作五年，共建联合实验室一个。\n" * 12
CITY_OPINION = "经审核，该单位申报材料真实完整，技术基础扎实，辐射带动作用明显，符合申报条件。" * 4
PROVINCE_DECISION = "经专家评审和省级科协党组会议研究，予以认定。" * 12


def long_application(world, capture, decision: str = PROVINCE_DECISION):
    """Station with a 2,000-character work plan, certified through the real chain with long opinions."""
    form = station_form()
    form["work_plan"], form["work_basis"] = WORK_PLAN, WORK_BASIS.strip()
    application = create(world, "society-service-station", form=form, uscc="91341100MA2N0XKX1G")
    svc.application_edit(actor=act(world, "langya_clerk"), application_id=application.pk,
                         subject_name="滁州甲智能装备有限公司")
    svc.application_submit(actor=act(world, "langya_clerk"), application_id=application.pk)
    svc.application_sign_off(actor=act(world, "langya_leader"), application_id=application.pk,
                             comment="同意上报。该单位申报材料经本级科协审核属实。")
    svc.application_recommend(actor=act(world, "chuzhou_reviewer"), application_id=application.pk,
                              comment=CITY_OPINION)
    svc.application_accept(actor=act(world, "anhui_reviewer"), application_id=application.pk, comment="材料齐全，形式审查通过")
    experts = [world.user["anhui_expert"].pk, world.user["anhui_expert2"].pk]
    svc.application_assign_experts(actor=act(world, "anhui_reviewer"), application_id=application.pk,
                                   expert_ids=experts)
    svc.application_score(actor=act(world, "anhui_expert"), application_id=application.pk, score=88,
                          comment="技术路线清晰，建议认定。")
    svc.application_score(actor=act(world, "anhui_expert2"), application_id=application.pk, score="91.5",
                          comment="基础扎实。")
    svc.application_decide(actor=act(world, "anhui_leader"), application_id=application.pk, approve=True,
                           comment=decision)
    application = publish_and_wait(world, Application.objects.get(pk=application.pk), days_ago=30)
    with capture(execute=True):
        svc.application_approve(actor=act(world, "anhui_leader"), application_id=application.pk)
    return Application.objects.get(pk=application.pk)


def every_document(world, capture) -> dict[str, bytes]:
    """Each document type, unsigned, with fixed data: name → PDF."""
    application = long_application(world, capture)
    batch, city = application.batch, world.org["chuzhou"]
    certificate = Certificate.objects.get(application=application)
    certificate.token = "golden-token-0000000000000000000000000000000"  # the QR code (not saved)
    return {
        "application_form": documents.application_form_pdf(application),
        "application_form_province": documents.application_form_pdf(application, province_copy=True),
        "recommendation_letter": documents.recommendation_letter_pdf(batch, city),
        "summary_table": documents.summary_pdf(batch, city),
        "notice": documents.notice_pdf(batch),
        "certificate": render_pdf("printing/certificate.html", services.certificate_context(certificate)),
    }
