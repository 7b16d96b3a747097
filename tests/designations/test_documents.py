"""The documents after designation: 评定结果通知, 整改通知书, 摘牌决定 (GB/T 9704 letters of the province),
and the renewed certificate (printing's pipeline, marked with the number it follows); who may get them."""
import pytest

from designations import consequences as C
from designations import renewals as RN
from designations.models import Rectification, Renewal, RevocationProposal
from printing.services import certificate_render_and_store
from tests.approvals.chain import act
from tests.printing.helpers import pdf_text

from .test_consequences import graded
from .test_renewals import ending_in, to_province
from .test_report_pages import login
from .test_reports import YEAR, designate

pytestmark = pytest.mark.django_db


@pytest.fixture
def designation(world, follow_up):
    (designation,) = designate(world)
    return designation


def test_evaluation_notice_and_rectification_notice(world, designation, tmp_path):
    (other,) = designate(world, name="另一站")
    report = graded(world, designation, "fail")
    graded(world, other, "excellent")
    province = login(world, "anhui_reviewer")
    url = f"/designations/evaluation/{world.org['anhui'].pk}/{YEAR}.pdf"
    assert url in province.get("/designations/dashboard/").content.decode()
    response = province.get(url)
    assert response["Content-Type"] == "application/pdf"
    text = pdf_text(response.content)
    (tmp_path / "evaluation.pdf").write_bytes(response.content)
    for words in (f"关于{YEAR}年度授牌单位工作报告评定结果的通知", "优秀1个", "不合格1个", "另一站", "（表扬）",
                  "各市科协"):
        assert words in text, words
    assert login(world, "sichuan_reviewer").get(url).status_code == 404
    assert login(world, "langya_clerk").get(url).status_code == 200  # published to the province's staff
    assert province.get(f"/designations/evaluation/{world.org['chuzhou'].pk}/{YEAR}.pdf").status_code == 404

    rectification = Rectification.objects.get(report=report)
    url = f"/designations/rectifications/{rectification.pk}/notice.pdf"
    response = login(world, "langya_clerk").get(url)
    text = pdf_text(response.content)
    (tmp_path / "rectification.pdf").write_bytes(response.content)
    assert "整改通知书" in text and f"{rectification.due_on.year}年{rectification.due_on.month}月" in text
    assert login(world, "nanqiao_clerk").get(url).status_code == 404


def test_revocation_decision(world, designation, tmp_path):
    proposal = C.revocation_propose(designation_id=designation.pk, reasons="有效期内两次评定为不合格")
    url = f"/designations/revocations/{proposal.pk}/decision.pdf"
    leader = login(world, "anhui_leader")
    assert leader.get(url).status_code == 404  # not decided yet
    C.revocation_decide(actor=act(world, "anhui_leader"), proposal_id=proposal.pk, revoke=True, comment="决定摘牌")
    assert RevocationProposal.objects.get(pk=proposal.pk).status == "revoked"
    response = leader.get(url)
    text = pdf_text(response.content)
    (tmp_path / "revocation.pdf").write_bytes(response.content)
    assert "关于撤销" in text and "有效期内两次评定为不合格" in text and designation.certificate.number in text
    assert login(world, "hefei_reviewer").get(url).status_code == 404


def test_the_renewed_certificate_names_the_one_it_follows(world, designation):
    ending_in(designation, 20)
    RN.renewals_remind_run()
    renewal = to_province(world, Renewal.objects.get(designation=designation))
    RN.renewal_decide(actor=act(world, "anhui_leader"), renewal_id=renewal.pk, approve=True)
    new = Renewal.objects.get(pk=renewal.pk).renewed.certificate
    certificate = certificate_render_and_store(certificate_id=new.pk)
    response = login(world, "langya_clerk").get(f"/certificates/{certificate.pk}/pdf")
    assert response.status_code == 200
    text = pdf_text(b"".join(response.streaming_content) if response.streaming else response.content)
    assert new.number in text and f"原证书编号：{designation.certificate.number}" in text.replace("\n", "")
