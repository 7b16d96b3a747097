"""Heavy documents: the form refuses more list rows and more text than a print can carry, with a Chinese
message and nothing written (the 900 rows of 1,000 characters of issue 14 among them); a 申报书 heavier
than LARGE_FORM_WEIGHT is rendered by the worker, the request answering 202 with a page that reloads
itself until the PDF is stored; a small one still renders in the request."""
import time

from rest_framework.test import APIClient

from approvals import services as svc
from approvals.models import Application, Effect
from approvals.outbox import MAX_ATTEMPTS, effect_failed
from printing import documents, services
from tests.approvals.chain import act, create
from tests.approvals.conftest import station_form

from .helpers import pdf_text


def heavy_form() -> dict:
    """Within the limits of approvals.formspec, above the weight the web process renders."""
    form = station_form(units=50)
    form["work_basis"] = "依托单位与省级学会已合作五年，共建联合实验室一个。" * 100  # 2,500 characters
    form["work_plan"] = "三年内攻关五项关键技术并推动成果转化应用。" * 238  # 4,998 characters
    form["radiated_units"] = [{"name": f"{'辐射带动单位' * 16}{i:02d}"} for i in range(50)]
    return form


def test_the_api_refuses_900_rows_of_1000_characters_in_chinese(world):
    application = create(world, "society-service-station")
    client = APIClient()
    client.force_authenticate(world.user["langya_clerk"])
    url = f"/api/applications/{application.pk}/"
    etag = client.get(url)["ETag"]
    before = Application.objects.get(pk=application.pk).form_data
    # 900 rows of 1,000 characters are 2.7 MB of JSON: refused before they are read, in Chinese.
    rows = [{"name": "单" * 1000} for _ in range(900)]
    response = client.patch(url, {"form_data": {"radiated_units": rows}}, format="json", HTTP_IF_MATCH=etag)
    assert (response.status_code, response.json()["code"]) == (413, "too_large")
    assert response.json()["detail"] == "提交的内容超过 2 MB，无法受理：申报内容请精简或改为附件上传"
    assert Application.objects.get(pk=application.pk).form_data == before
    # Within the size of a request, 900 short rows are refused by the form's limit.
    rows = [{"name": f"单位{i}"} for i in range(900)]
    response = client.patch(url, {"form_data": {"radiated_units": rows}}, format="json", HTTP_IF_MATCH=etag)
    assert response.status_code == 400
    assert "辐射带动单位：最多 50 行，现有 900 行" in response.content.decode()
    assert Application.objects.get(pk=application.pk).form_data == before
    long_row = [{"name": "单" * 1000}]
    response = client.patch(url, {"form_data": {"radiated_units": long_row}}, format="json", HTTP_IF_MATCH=etag)
    assert response.status_code == 400 and "内容过长" in response.content.decode()
    assert Application.objects.get(pk=application.pk).form_data == before


def test_a_large_form_is_rendered_by_the_worker(world, client, django_capture_on_commit_callbacks):
    application = create(world, "society-service-station")
    svc.application_edit(actor=act(world, "langya_clerk"), application_id=application.pk, form_data=heavy_form())
    application = Application.objects.get(pk=application.pk)
    document = documents.application_form_document(application)
    assert document.large and document.weight > documents.LARGE_FORM_WEIGHT
    client.force_login(world.user["langya_clerk"])
    url = f"/print/applications/{application.pk}/form.pdf"

    with django_capture_on_commit_callbacks(execute=False) as kicks:
        started = time.perf_counter()
        first = client.get(url)
        seconds = time.perf_counter() - started
        again = client.get(url)  # a reload while the worker renders queues nothing more
    assert first.status_code == 202 and first["Content-Type"].startswith("text/html")
    page = first.content.decode()
    assert "PDF 正在后台生成" in page and "自动刷新" in page and first["Retry-After"] == "3"
    assert seconds < 1.5, f"the request took {seconds:.1f} s"  # no layout in the request
    assert again.status_code == 202
    effect = Effect.objects.get(kind="form_render")
    assert (effect.key, effect.args, effect.done_at) == (document.digest, [application.pk, 1, False, False], None)
    assert services.stored_form(document.digest) is None

    with django_capture_on_commit_callbacks(execute=True):
        for kick in kicks:  # the commit: the effect is published and the worker runs it (eagerly in tests)
            kick()
    effect.refresh_from_db()
    assert effect.done_at is not None and effect.note == ""
    stored = services.stored_form(document.digest)
    assert stored is not None and stored.startswith(b"%PDF")
    ready = client.get(url)
    assert ready.status_code == 200 and ready["Content-Type"] == "application/pdf" and ready.content == stored
    text = pdf_text(ready.content)
    assert text.count("（续）") >= 2 and "辐射带动单位（共50项）" in text, text[:3000]
    # The province's copy is another document, queued on its own, for those who may see the scores only.
    assert client.get(url + "?copy=province").status_code == 403
    client.force_login(world.user["anhui_reviewer"])
    with django_capture_on_commit_callbacks(execute=False):
        assert client.get(url + "?copy=province").status_code == 202
    keys = set(Effect.objects.filter(kind="form_render").values_list("key", flat=True))
    assert keys == {document.digest, documents.application_form_document(application, province_copy=True).digest}


def test_a_failed_worker_render_says_so(world, client, django_capture_on_commit_callbacks):
    application = create(world, "society-service-station")
    svc.application_edit(actor=act(world, "langya_clerk"), application_id=application.pk, form_data=heavy_form())
    client.force_login(world.user["langya_clerk"])
    url = f"/print/applications/{application.pk}/form.pdf"
    with django_capture_on_commit_callbacks(execute=False):
        assert client.get(url).status_code == 202
    effect = Effect.objects.get(kind="form_render")
    for _ in range(MAX_ATTEMPTS):  # the worker failed every time: the outbox sets the effect aside
        effect_failed(effect_id=effect.pk, error=RuntimeError("render crashed"))
    effect.refresh_from_db()
    assert effect.failed_at is not None
    refused = client.get(url)
    assert refused.status_code == 503 and "生成失败" in refused.content.decode()


def test_a_small_form_still_renders_in_the_request(world, client):
    application = create(world, "society-service-station")
    client.force_login(world.user["langya_clerk"])
    response = client.get(f"/print/applications/{application.pk}/form.pdf")
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    assert not Effect.objects.filter(kind="form_render").exists()
