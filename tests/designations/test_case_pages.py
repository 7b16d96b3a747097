"""The pages of rectifications, revocation proposals and renewals: each taken through its web buttons (the
table's, approvals.stages.REPORT_ACTIONS), scoped like the designation; a refusal comes back on the page
(422), under the field it is about and at the top of the form, never a 500."""
import pytest
from django.test import Client

from designations import renewals as RN
from designations.models import Designation, Rectification, Renewal, RevocationProposal

from .test_consequences import graded
from .test_renewals import RENEWAL, ending_in
from .test_report_pages import field_errors, form_errors, login
from .test_reports import designate

pytestmark = pytest.mark.django_db


@pytest.fixture
def designation(world, follow_up):
    (designation,) = designate(world)
    return designation


def test_a_rectification_through_its_pages(world, designation):
    rectification = Rectification.objects.get(report=graded(world, designation, "fail"))
    url = f"/designations/rectifications/{rectification.pk}/"
    clerk = login(world, "langya_clerk")
    assert f'href="{url}"' in clerk.get("/designations/cases/").content.decode()
    assert 'id="btn-rectify_submit"' in clerk.get(url).content.decode()
    response = clerk.post(url + "rectify_submit/", {"text": " "})
    assert response.status_code == 422
    assert "请填写整改报告" in field_errors(response, "f-text") and "请按各项下方的提示修改" in form_errors(response)
    clerk.post(url + "rectify_submit/", {"text": "已补充服务记录"})
    city = login(world, "chuzhou_reviewer")
    refused = city.post(url + "rectify_city_return/", {"comment": ""})
    assert "请填写退回理由" in field_errors(refused, "f-comment")  # the reason's error, under the comment
    city.post(url + "rectify_city_return/", {"comment": "缺少佐证"})
    assert Rectification.objects.get(pk=rectification.pk).status == "open"
    assert "缺少佐证" in clerk.get(url).content.decode()
    clerk.post(url + "rectify_submit/", {"text": "已补充佐证"})
    city.post(url + "rectify_city_accept/", {})
    province = login(world, "anhui_reviewer")
    assert 'id="btn-rectify_fail"' in province.get(url).content.decode()
    refused = province.post(url + "revocation_revoke/", {"comment": "x"})  # not this kind's button
    assert refused.status_code == 422 and "x</textarea>" in refused.content.decode()
    province.post(url + "rectify_pass/", {"comment": "整改到位"})
    assert Rectification.objects.get(pk=rectification.pk).status == "passed"
    assert Designation.objects.get(pk=designation.pk).status == "valid"


def test_a_revocation_decided_on_its_page(world, designation):
    graded(world, designation, "fail")
    from tests.designations.test_reports import YEAR

    graded(world, designation, "fail", year=YEAR + 1)
    proposal = RevocationProposal.objects.get(designation=designation)
    url = f"/designations/revocations/{proposal.pk}/"
    reviewer = login(world, "anhui_reviewer")
    assert "btn-revocation_revoke" not in reviewer.get(url).content.decode()
    reviewer.post(url + "revocation_revoke/", {"comment": "摘牌"})
    assert RevocationProposal.objects.get(pk=proposal.pk).status == "proposed"  # the leader decides
    leader = login(world, "anhui_leader")
    page = leader.get(url).content.decode()
    assert "2 次评定为不合格" in page and 'id="btn-revocation_keep"' in page
    assert "请填写" in field_errors(leader.post(url + "revocation_revoke/", {"comment": ""}), "f-comment")
    leader.post(url + "revocation_revoke/", {"comment": "决定摘牌"})
    assert Designation.objects.get(pk=designation.pk).status == "revoked"


def test_a_renewal_through_its_pages(world, designation):
    ending_in(designation, 30)
    RN.renewals_remind_run()
    renewal = Renewal.objects.get(designation=designation)
    url = f"/designations/renewals/{renewal.pk}/"
    clerk = login(world, "langya_clerk")
    assert 'name="period_summary"' in clerk.get(url).content.decode()
    clerk.post(url + "renewal_save/", {"period_summary": "草稿"})
    assert Renewal.objects.get(pk=renewal.pk).form_data == {"period_summary": "草稿"}
    refused = clerk.post(url + "renewal_submit/", {"period_summary": "只写了一项"})
    assert "续期申请内容有误" in form_errors(refused)
    assert "只写了一项</textarea>" in refused.content.decode()  # what was typed stays
    assert any(field_errors(refused, f"f-{name}") for name in RENEWAL if name != "period_summary")
    clerk.post(url + "renewal_submit/", RENEWAL)
    login(world, "langya_leader").post(url + "renewal_sign_off/", {})
    login(world, "chuzhou_reviewer").post(url + "renewal_city_accept/", {"comment": "同意"})
    leader = login(world, "anhui_leader")
    assert 'id="grades"' in leader.get(url).content.decode()
    leader.post(url + "renewal_approve/", {"comment": "同意续期"})
    renewal.refresh_from_db()
    assert renewal.status == "approved" and Designation.objects.get(pk=designation.pk).status == "renewed"


def test_the_pages_are_scoped(world, designation):
    ending_in(designation, 30)
    RN.renewals_remind_run()
    renewal = Renewal.objects.get(designation=designation)
    url = f"/designations/renewals/{renewal.pk}/"
    for who in ("nanqiao_clerk", "hefei_reviewer", "sichuan_reviewer"):
        client = login(world, who)
        assert client.get(url).status_code == 404
        assert client.post(url + "renewal_submit/", RENEWAL).status_code == 404
        assert 'class="case"' not in client.get("/designations/cases/").content.decode()
    assert Client().get(url).status_code == 302
    assert login(world, "langya_clerk").post(url + "no-such-button/", {}).status_code == 422
    assert login(world, "langya_clerk").get("/designations/rectifications/999999/").status_code == 404
    assert Renewal.objects.get(pk=renewal.pk).status == "draft"


def test_case_pages_queries_are_constant(world, follow_up, django_assert_num_queries):
    clerk = login(world, "langya_clerk")
    for extra in (1, 10):
        designate(world, extra, name=f"其他{extra}")
        for designation in Designation.objects.filter(renewal_reminded_at__isnull=True):
            ending_in(designation, 30)
        RN.renewals_remind_run()
        renewal = Renewal.objects.order_by("-pk").first()
        clerk.get("/designations/cases/")
        with django_assert_num_queries(LIST_QUERIES):
            clerk.get("/designations/cases/")
        with django_assert_num_queries(DETAIL_QUERIES):
            clerk.get(f"/designations/renewals/{renewal.pk}/")


LIST_QUERIES, DETAIL_QUERIES = 6, 5  # session, user, roles; the lists or the item and its form


def test_a_refused_case_form_costs_a_constant_number_of_queries(world, designation, django_assert_num_queries):
    rectification = Rectification.objects.get(report=graded(world, designation, "fail"))
    url = f"/designations/rectifications/{rectification.pk}/"
    clerk = login(world, "langya_clerk")
    clerk.post(url + "rectify_submit/", {"text": " "})
    with django_assert_num_queries(REFUSED_QUERIES):
        response = clerk.post(url + "rectify_submit/", {"text": " "})
    assert response.status_code == 422 and "请填写整改报告" in field_errors(response, "f-text")


# Session, user, the rectification, roles: the service refuses the empty report before it opens a transaction.
REFUSED_QUERIES = 4
