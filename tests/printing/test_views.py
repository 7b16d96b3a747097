"""Scoped downloads: users in scope get the documents, users of another province (or a sibling branch)
get 404, anonymous users go to the login page; the detail page links to what the user may open."""
import hashlib
import io

import pytest
from openpyxl import load_workbook

from printing.models import Certificate
from printing.services import certificate_pdf_path
from security.models import Kind, SecurityEvent
from tests.approvals.chain import to_province_check

from .helpers import certified_application, pdf_text, to_public_notice


@pytest.fixture
def setup(world, django_capture_on_commit_callbacks):
    application = certified_application(world, django_capture_on_commit_callbacks)
    certificate = Certificate.objects.get(application=application)
    batch = application.batch
    city = world.org["chuzhou"]
    urls = {
        "certificate": f"/certificates/{certificate.pk}/pdf",
        "form": f"/print/applications/{application.pk}/form.pdf?revision=1",
        "recommendation": f"/print/batches/{batch.pk}/recommendation.pdf?city={city.pk}",
        "summary_pdf": f"/print/batches/{batch.pk}/summary.pdf?city={city.pk}",
        "summary_xlsx": f"/print/batches/{batch.pk}/summary.xlsx?city={city.pk}&purpose=核对推荐名单",
        "notice": f"/print/batches/{batch.pk}/notice.pdf",
        "issue_all": f"/print/batches/{batch.pk}/issue-all",
    }
    return {"application": application, "certificate": certificate, "batch": batch, "urls": urls}


def login(client, world, username):
    client.force_login(world.user[username])
    return client


@pytest.mark.parametrize("username", ["sichuan_reviewer", "sichuan_leader", "chengdu_reviewer", "pidu_clerk"])
def test_other_province_gets_404_everywhere(client, world, setup, username):
    login(client, world, username)
    for name, url in setup["urls"].items():
        assert client.get(url).status_code == 404, (name, url)
    assert client.post(setup["urls"]["issue_all"]).status_code == 404


def test_anonymous_is_sent_to_login(client, setup):
    for name, url in setup["urls"].items():
        response = client.get(url)
        assert response.status_code == 302 and "/accounts/login/" in response["Location"], name


def test_province_reviewer_gets_every_document(client, world, setup):
    login(client, world, "anhui_reviewer")
    certificate = setup["certificate"]
    response = client.get(setup["urls"]["certificate"])
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    assert "attachment" in response["Content-Disposition"]
    assert hashlib.sha256(response.content).hexdigest() == certificate.pdf_sha256
    for name in ("form", "recommendation", "summary_pdf", "notice"):
        response = client.get(setup["urls"][name])
        assert response.status_code == 200, name
        assert response["Content-Type"] == "application/pdf" and response.content.startswith(b"%PDF-"), name
        assert "no-store" in response["Cache-Control"], name
    assert "滁州某某智能装备有限公司" in pdf_text(client.get(setup["urls"]["form"]).content)
    response = client.get(setup["urls"]["summary_xlsx"])
    assert response.status_code == 200
    assert load_workbook(io.BytesIO(response.content)).active["B4"].value == "滁州某某智能装备有限公司"
    export = SecurityEvent.objects.filter(kind=Kind.EXPORT).latest("seq")
    assert export.detail == {"document": "summary_xlsx", "batch": setup["batch"].pk, "city": world.org["chuzhou"].pk,
                             "purpose": "核对推荐名单"}
    assert export.target.endswith(".xlsx") and export.actor_id is not None


def test_county_sees_its_application_but_not_the_city_documents(client, world, setup):
    login(client, world, "langya_clerk")
    urls = setup["urls"]
    assert client.get(urls["form"]).status_code == 200
    assert client.get(urls["certificate"]).status_code == 200
    for name in ("recommendation", "summary_pdf", "summary_xlsx"):
        assert client.get(urls[name]).status_code == 404, name
    assert client.get(urls["notice"]).status_code == 200  # the notice list is public anyway
    assert client.get(urls["issue_all"]).status_code == 403


def test_sibling_county_and_city_get_404(client, world, setup):
    login(client, world, "nanqiao_clerk")
    assert client.get(setup["urls"]["form"]).status_code == 404
    assert client.get(setup["urls"]["certificate"]).status_code == 404
    client.logout()
    login(client, world, "hefei_reviewer")
    for name in ("form", "certificate", "recommendation", "summary_pdf", "summary_xlsx"):
        assert client.get(setup["urls"][name]).status_code == 404, name


def test_city_reviewer_gets_own_city_documents_and_default_city(client, world, setup):
    login(client, world, "chuzhou_reviewer")
    batch = setup["batch"]
    assert client.get(setup["urls"]["recommendation"]).status_code == 200
    # Without ?city= the user's own city is used.
    assert "滁州某某" in pdf_text(client.get(f"/print/batches/{batch.pk}/recommendation.pdf").content)
    hefei = world.org["hefei"]
    assert client.get(f"/print/batches/{batch.pk}/summary.pdf?city={hefei.pk}").status_code == 404
    assert client.get(f"/print/batches/{batch.pk}/summary.pdf?city=abc").status_code == 404


def test_bad_revision_is_404(client, world, setup):
    login(client, world, "anhui_reviewer")
    pk = setup["application"].pk
    assert client.get(f"/print/applications/{pk}/form.pdf?revision=9").status_code == 404
    assert client.get(f"/print/applications/{pk}/form.pdf?revision=x").status_code == 404
    assert client.get(f"/print/applications/{pk}/form.pdf").status_code == 200


def test_download_renders_a_missing_pdf_or_restores_a_lost_file(client, world, setup):
    login(client, world, "anhui_reviewer")
    certificate = setup["certificate"]
    path = certificate_pdf_path(certificate)
    original = path.read_bytes()
    path.unlink()  # the stored file was lost: it is rendered again, byte for byte the issued one
    response = client.get(setup["urls"]["certificate"])
    assert response.status_code == 200 and response.content == original and path.read_bytes() == original
    # Issued by hand and never rendered: the download renders and records it.
    Certificate.objects.filter(pk=certificate.pk).update(pdf_sha256="", pdf_size=None, rendered_at=None)
    path.unlink()
    response = client.get(setup["urls"]["certificate"])
    assert response.status_code == 200
    assert Certificate.objects.get(pk=certificate.pk).pdf_sha256 == hashlib.sha256(response.content).hexdigest()


def test_detail_page_offers_the_print_links(client, world, setup):
    login(client, world, "anhui_reviewer")
    application, batch = setup["application"], setup["batch"]
    html = client.get(f"/approvals/applications/{application.pk}/").content.decode()
    assert 'id="print"' in html
    for url in (f"/print/applications/{application.pk}/form.pdf?revision=1", setup["urls"]["certificate"],
                f"/verify/{setup['certificate'].token}/", f"/print/batches/{batch.pk}/notice.pdf",
                f"/notice/{batch.pk}/", f"/print/batches/{batch.pk}/issue-all",
                f"/print/applications/{application.pk}/form.pdf?revision=1&amp;copy=province"):
        assert url in html, url
    province_copy = client.get(f"/print/applications/{application.pk}/form.pdf?revision=1&copy=province")
    assert province_copy.status_code == 200 and "专家评审情况" in pdf_text(province_copy.content)
    assert "省级存档联" in province_copy["Content-Disposition"] or "%E7%9C%81" in province_copy["Content-Disposition"]
    client.logout()
    login(client, world, "langya_clerk")
    html = client.get(f"/approvals/applications/{application.pk}/").content.decode()
    assert "form.pdf" in html and "recommendation.pdf" not in html and "issue-all" not in html
    assert "copy=province" not in html
    refused = client.get(f"/print/applications/{application.pk}/form.pdf?revision=1&copy=province")
    assert refused.status_code == 403 and "仅省级科协审核人和负责人可以打印" in refused.content.decode()
    assert client.get(f"/print/applications/{application.pk}/form.pdf?copy=city").status_code == 404


def test_documents_of_an_application_in_notice(client, world):
    from tests.approvals.chain import create

    application = to_public_notice(world, to_province_check(world, create(world, "society-service-station"), "langya"))
    login(client, world, "anhui_reviewer")
    text = pdf_text(client.get(f"/print/batches/{application.batch_id}/notice.pdf").content)
    assert "滁州某某智能装备有限公司" in text
