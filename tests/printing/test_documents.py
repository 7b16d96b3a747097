"""Every printed document rendered from a real application history, read back as text (pdftotext) or with
openpyxl: numbers, names, dates, opinions per revision, attachments with SHA-256, batch lists."""
import datetime as dt
import io

import pytest
from django.utils import timezone
from openpyxl import load_workbook

from approvals import services as svc
from approvals.models import Application, Attachment, Status
from printing import documents
from printing.documents import cn_date
from tests.approvals.chain import act, create, to_province_check

from .helpers import approve, keep_artifact, page_size, pdf_text, to_public_notice

A4_PORTRAIT, A4_LANDSCAPE = (595, 842), (842, 595)
TODAY = cn_date(timezone.localdate())


def new_station(world, subject_name, county="langya", city="chuzhou", uscc=None):
    application = create(world, "society-service-station", county=county, city=city, uscc=uscc)
    svc.application_edit(actor=act(world, f"{county}_clerk"), application_id=application.pk, subject_name=subject_name)
    return Application.objects.get(pk=application.pk)


@pytest.fixture
def history(world, django_capture_on_commit_callbacks):
    """Station A: returned once by the city (revision 1), resubmitted, certified (revision 2).
    Station B: recommended by the same city, in public notice. Station C: recommended by Hefei."""
    a = new_station(world, "滁州甲智能装备有限公司", uscc="91341100MA2N0XKX1G")
    svc.application_submit(actor=act(world, "langya_clerk"), application_id=a.pk)
    svc.application_sign_off(actor=act(world, "langya_leader"), application_id=a.pk, comment="同意上报（初稿）")
    svc.application_return(actor=act(world, "chuzhou_reviewer"), application_id=a.pk,
                           comment="请补充辐射带动单位的联系方式")
    form = dict(Application.objects.get(pk=a.pk).form_data)
    form["work_plan"] = "三年内攻关五项关键技术，新增辐射带动单位联系方式。"
    form["radiated_units"] = form["radiated_units"] + [{"name": "滁州乙精密机械有限公司"}]
    svc.application_edit(actor=act(world, "langya_clerk"), application_id=a.pk, form_data=form)
    a = to_province_check(world, Application.objects.get(pk=a.pk), "langya")
    a = to_public_notice(world, a)
    a = approve(world, a, django_capture_on_commit_callbacks)
    assert a.status == Status.CERTIFIED

    b = new_station(world, "滁州丙新能源科技有限公司", county="nanqiao")
    b = to_province_check(world, b, "nanqiao")
    b = to_public_notice(world, b, days_ago=2)
    assert b.status == Status.PUBLIC_NOTICE

    c = new_station(world, "合肥丁生物医药有限公司", county="yaohai", city="hefei")
    c = to_province_check(world, c, "yaohai", city="hefei")
    return {"a": a, "b": b, "c": c, "batch": a.batch}


def test_application_form_revision_1_has_its_own_opinions(history):
    a = history["a"]
    pdf = documents.application_form_pdf(a, revision=1)
    keep_artifact("application_form_r1.pdf", pdf)
    assert page_size(pdf) == A4_PORTRAIT
    text = pdf_text(pdf)
    for expected in ("学会服务站申报书", "第1版", "滁州甲智能装备有限公司", "91341100MA2N0XKX1G", "341102琅琊区",
                     "琅琊区科学技术协会", "滁州市科学技术协会",
                     "三年内攻关五项关键技术。",  # revision 1's work plan, not revision 2's
                     "同意上报（初稿）", "请补充辐射带动单位的联系方式", "退回修改",
                     "琅琊区科协负责人", "滁州市科协审核人", "县级科协审核意见", "市级科协推荐意见",
                     "省级科协审查认定意见", "（本版本暂无该级意见）", "（盖章）"):
        assert expected in text, expected
    assert "同意推荐" not in text and "予以认定" not in text
    assert "滁州乙精密机械有限公司" not in text


def test_application_form_revision_2_lists_fields_rows_attachments_and_all_levels(history):
    a = history["a"]
    pdf = documents.application_form_pdf(a, revision=2)
    keep_artifact("application_form_r2.pdf", pdf)
    text = pdf_text(pdf)
    for expected in ("第2版", "新增辐射带动单位联系方式", "依托学会", "安徽省机械工程学会", "省级学会", "建站级别",
                     "技术需求（共5项）", "需求名称", "需求4", "进站专家（共5项）", "专家级别", "合肥工业大学", "教授",
                     "辐射带动单位（共6项）", "滁州乙精密机械有限公司", "0550-1234567", "contact@example.com",
                     "同意推荐", "材料齐全", "形式审查通过", "予以认定", "经专家评审，予以认定",
                     "安徽省科协审核人", "安徽省科协负责人"):
        assert expected in text, expected
    assert "请补充辐射带动单位的联系方式" not in text  # a revision-1 opinion
    for attachment in Attachment.objects.filter(application=a, removed_in__isnull=True):
        assert attachment.original_name.replace(" ", "") in text
        assert attachment.sha256 in text
    opinion_dates = {cn_date(o.created_at) for o in a.opinions.filter(revision=2)}
    assert all(date in text for date in opinion_dates)


def test_application_form_of_a_draft_prints_live_data(world):
    draft = new_station(world, "滁州戊草稿有限公司")
    pdf = documents.application_form_pdf(draft)
    text = pdf_text(pdf)
    assert "草稿，尚未提交" in text and "滁州戊草稿有限公司" in text
    with pytest.raises(documents.RevisionNotFound):
        documents.application_form_pdf(draft, revision=2)


def test_recommendation_letter_lists_the_city_recommendations(history):
    batch = history["batch"]
    pdf = documents.recommendation_letter_pdf(batch, history["a"].city)
    keep_artifact("recommendation_letter.pdf", pdf)
    assert page_size(pdf) == A4_PORTRAIT
    text = pdf_text(pdf)
    year = timezone.localdate().year
    for expected in ("滁州市科学技术协会", f"滁科协函〔{year}〕1号", "安徽省科学技术协会：", f"关于推荐{batch.name}申报单位的函",
                     "推荐以下2个单位", "滁州甲智能装备有限公司", "滁州丙新能源科技有限公司", "琅琊区", "南谯区",
                     "特此函告", f"附件：{batch.name}推荐汇总表", f"滁州市科学技术协会{TODAY}（联系人："):
        assert expected in text, expected
    # Printed again: the same 发文字号 (the sequence moves only for a new document).
    assert f"滁科协函〔{year}〕1号" in pdf_text(documents.recommendation_letter_pdf(batch, history["a"].city))
    assert "合肥丁" not in text
    # In the order of recommendation: A was recommended before B.
    assert text.index("滁州甲") < text.index("滁州丙")


def test_summary_pdf_and_excel_have_the_same_rows(history):
    batch, city = history["batch"], history["a"].city
    pdf = documents.summary_pdf(batch, city)
    keep_artifact("summary.pdf", pdf)
    assert page_size(pdf) == A4_LANDSCAPE
    text = pdf_text(pdf)
    for expected in ("推荐汇总表", "推荐单位（盖章）：滁州市科学技术协会", "推荐数量：2", "滁州甲智能装备有限公司",
                     "滁州丙新能源科技有限公司", "91341100MA2N0XKX1G", "张三", "李四", "已授牌", "公示中"):
        assert expected in text, expected

    content = documents.summary_xlsx(batch, city)
    keep_artifact("summary.xlsx", content)
    sheet = load_workbook(io.BytesIO(content)).active
    assert sheet.title == "推荐汇总表"
    assert sheet["A1"].value == f"{batch.name}推荐汇总表"
    assert "滁州市科学技术协会" in sheet["A2"].value and "推荐数量：2" in sheet["A2"].value
    header = [cell.value for cell in sheet[3]]
    assert header == ["序号", "申报主体名称", "统一社会信用代码", "申报单位", "所在地区", "负责人", "联系人", "联系电话",
                      "推荐日期", "当前状态"]
    rows = [[cell.value for cell in row] for row in sheet.iter_rows(min_row=4, max_row=5)]
    assert [row[1] for row in rows] == ["滁州甲智能装备有限公司", "滁州丙新能源科技有限公司"]
    assert rows[0][0] == 1 and rows[0][2] == "91341100MA2N0XKX1G" and rows[0][3] == "琅琊区科学技术协会"
    assert rows[0][4] == "琅琊区" and rows[0][5] == "张三" and rows[0][9] == "已授牌"
    assert rows[1][9] == "公示中"
    # The date is an Excel date (a number formatted as a date), not text.
    date_cell = sheet.cell(4, 9)
    assert date_cell.data_type == "d" and date_cell.is_date and date_cell.number_format == "yyyy-mm-dd"
    assert rows[0][8] == dt.datetime.combine(timezone.localdate(), dt.time())
    assert sheet.page_setup.orientation == "landscape"
    assert sheet.freeze_panes == "A4"


def test_excel_neutralises_formula_like_text_everywhere(history):
    """Text that Excel would take for a formula is stored with a leading apostrophe, in every text
    column: re-editing the cell or saving the sheet as CSV cannot bring a formula back."""
    a = history["a"]
    Application.objects.filter(pk=a.pk).update(subject_name='=HYPERLINK("http://evil.example","点我")')
    form = dict(Application.objects.get(pk=a.pk).form_data)
    form.update(responsible_person="+1+1", contact_person="@SUM(A1)", phone="-2")
    Application.objects.filter(pk=a.pk).update(form_data=form)
    content = documents.summary_xlsx(history["batch"], a.city)
    sheet = load_workbook(io.BytesIO(content)).active
    row = [sheet.cell(4, column) for column in range(1, 11)]
    assert [cell.value for cell in row[1:2] + row[5:8]] == [
        "'=HYPERLINK(\"http://evil.example\",\"点我\")", "'+1+1", "'@SUM(A1)", "'-2"]
    assert all(cell.data_type == "s" for cell in row[1:8])
    assert row[0].value == 1 and row[0].data_type == "n"  # numbers stay numbers
    assert row[3].value == "琅琊区科学技术协会"  # ordinary text is untouched


def test_notice_list_pdf_and_public_page(history, client):
    batch = history["batch"]
    pdf = documents.notice_pdf(batch)
    keep_artifact("notice.pdf", pdf)
    text = pdf_text(pdf)
    a, b = history["a"], history["b"]
    for expected in (f"关于{batch.name}拟认定名单的公示", "滁州甲智能装备有限公司", "滁州丙新能源科技有限公司",
                     "安徽省科学技术协会", f"{a.notice_starts_on:%Y}.{a.notice_starts_on.month}.{a.notice_starts_on.day}",
                     f"公示期：{cn_date(a.notice_starts_on)}至{cn_date(b.notice_ends_on)}",
                     f"皖科协函〔{timezone.localdate().year}〕1号", f"附件：{batch.name}拟认定名单", "联系电话："):
        assert expected in text, expected
    assert "合肥丁" not in text  # still in province check

    response = client.get(f"/notice/{batch.pk}/")  # public: no login
    assert response.status_code == 200
    html = response.content.decode()
    assert "滁州甲智能装备有限公司" in html and "滁州丙新能源科技有限公司" in html and "合肥丁" not in html
    assert b.notice_starts_on.isoformat() in html and b.notice_ends_on.isoformat() in html
    assert "no-store" in response["Cache-Control"]
    keep_artifact("notice_page.html", response.content)
    assert client.get("/notice/999999/").status_code == 404


def test_city_program_form_has_no_city_block(world, django_capture_on_commit_callbacks):
    application = create(world, "innovation-driven-city", county="chuzhou")
    application = to_province_check(world, application, "chuzhou")
    text = pdf_text(documents.application_form_pdf(application, revision=1))
    assert "市级科协审核意见" in text and "市级科协推荐意见" not in text and "省级科协审查认定意见" in text
    letter = pdf_text(documents.recommendation_letter_pdf(application.batch, world.org["chuzhou"]))
    batch = application.batch
    assert f"关于申报{batch.name}的函" in letter
    assert "经滁州市人民政府同意，我会组织编制了申报材料，现申报滁州市创新驱动示范市。" in letter
    assert "推荐" not in letter and "你单位" not in letter
    assert f"附件：{batch.name}申报汇总表" in letter
