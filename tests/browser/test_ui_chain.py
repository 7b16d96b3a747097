"""The whole chain of a 学会服务站 application through the web UI only, one browser session per person:
county clerk and leader, city reviewer (who returns it once), province officer, two experts, province
leader. The only step not done in the browser is moving the public notice into the past (the notice
cannot be over through the UI on the day it is published)."""
import datetime as dt
import re

import pytest
from django.utils import timezone
from playwright.sync_api import expect
from pypdf import PdfWriter

from approvals.models import Application
from tests.approvals.conftest import USCC
from tests.factories import TEST_PASSWORD

from .keyboard import KeyboardUser

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# The chain is done by keyboard alone at both widths: a desktop screen and a phone's (375 px).
VIEWPORTS = {"desktop": {"width": 1366, "height": 900}, "phone": {"width": 375, "height": 812}}

SUBJECT = "滁州某某智能装备有限公司"
TIMEOUT_MS = 20_000
NAVIGATION_TIMEOUT_MS = 60_000  # approving renders the certificate PDF in the request (Celery is eager)


def small_pdf(path):
    writer = PdfWriter()
    writer.add_blank_page(width=595, height=842)
    writer.add_metadata({"/Title": path.stem})
    with open(path, "wb") as out:
        writer.write(out)
    return path


class Person:
    """One person's browser session (its own context, so its own cookies)."""

    def __init__(self, browser, base_url, username, shoot, problems, width="desktop"):
        self.username, self.base_url, self.shoot, self.problems = username, base_url, shoot, problems
        self.width = width
        # The browser is left at English, as a new machine's often is: the pages are Chinese all the same.
        self.context = browser.new_context(viewport=VIEWPORTS[width], locale="en-US")
        self.context.set_default_timeout(TIMEOUT_MS)
        self.page = self.context.new_page()
        self.page.on("pageerror", lambda exc: problems.append(f"{username}: JS error {exc}"))
        self.page.on("console", self._console)
        self.page.on("response", self._response)
        self.keys = KeyboardUser(self.page, problems, f"{username}@{width}")

    def _console(self, message):
        if message.type == "error":
            self.problems.append(f"{self.username}: console error {message.text} at {self.page.url}")

    def _response(self, response):
        if response.status >= 400:
            self.problems.append(f"{self.username}: HTTP {response.status} for {response.url}")

    def shot(self, name):
        self.keys.check_page(name)
        self.shoot(self.page, f"{self.width}-{self.username}", name)

    def login(self, shot=False):
        page = self.page
        page.goto(f"{self.base_url}/approvals/")
        expect(page).to_have_url(re.compile(r"/accounts/login/"))
        if shot:
            self.shot("login")
        self.keys.type(page.locator("#id_username"), self.username)
        self.keys.type(page.locator("#id_password"), TEST_PASSWORD)
        self.keys.press(page.get_by_role("button", name="登录"))
        expect(page).to_have_url(re.compile(r"/approvals/$"))
        expect(page.get_by_role("heading", name="我的角色")).to_be_visible()
        return self

    def dashboard_and_inbox(self, work_waiting=True):
        """The person's main pages: the inbox and the queue reached from the dashboard's tiles, then the
        dashboard itself; a person who has something to do finds it counted on a tile."""
        page = self.page
        waiting = 0
        for tile, url, name in (("待办", "/workflow/inbox/", "inbox"), ("可领取", "/workflow/queue/", "queue")):
            link = page.locator("a.kx-stat", has_text=tile)
            waiting += int(link.locator("b").inner_text())
            self.keys.press(link)
            expect(page).to_have_url(re.compile(re.escape(url)))
            page.wait_for_load_state("networkidle")
            self.shot(name)
            page.go_back()
            expect(page).to_have_url(re.compile(r"/approvals/$"))
        page.reload()
        page.wait_for_load_state("networkidle")
        self.shot("dashboard")
        assert (waiting > 0) == work_waiting, f"{self.username}: {waiting} tasks on the dashboard"

    def open_application(self):
        """From the dashboard's recent list to the application's page."""
        self.keys.press(self.page.get_by_role("link", name=SUBJECT).first)
        expect(self.page).to_have_url(re.compile(r"/approvals/applications/\d+/$"))
        return self

    def status(self):
        return self.page.locator("#status").inner_text().strip()

    def act(self, action, comment=None, fill=None):
        """Press an action button on the detail page (with its opinion), and check the outcome message."""
        page = self.page
        form = page.locator("form.kx-action").filter(has=page.locator(f"button[data-action='{action}']"))
        expect(form).to_have_count(1)
        if fill:
            fill(form)
        if comment is not None:
            self.keys.type(form.locator("textarea[name=comment]"), comment)
        with page.expect_navigation(timeout=NAVIGATION_TIMEOUT_MS):  # the post, then the redirect back
            self.keys.press(form.locator(f"button[data-action='{action}']"))
        errors = page.locator(".kx-msg--error:visible")
        assert errors.count() == 0, f"{self.username} {action}: {errors.all_inner_texts()}"
        expect(page.locator(".kx-msg--success")).to_contain_text("已完成")

    def close(self):
        self.context.close()


def label(text):
    """A form field by its exact label (Django may add a colon to the label)."""
    return re.compile(rf"^\s*{re.escape(text)}(\s*\*)?\s*[:：]?\s*$")  # " *" marks a field required at submission


def fill_rows(keys, page, field, rows):
    """Add rows with the table editor's "+ 添加一行" button and type into each row's inputs; the focus
    moves into the new row, so the keyboard user goes on typing there."""
    editor = page.locator(f".kx-rows[data-for='{field}']")
    for values in rows:
        keys.press(editor.get_by_role("button", name="+ 添加一行"))
        row = editor.locator("tbody tr").last
        assert row.evaluate("row => row.contains(document.activeElement)"), "the new row did not get the focus"
        for column, value in values.items():
            cell = row.get_by_label(column, exact=True)
            if cell.evaluate("el => el.tagName") == "SELECT":
                keys.choose(cell, label=value)
            else:
                keys.type(cell, value)


def fill_application(keys, page, world):
    keys.type(page.get_by_label(label("申报主体名称")), SUBJECT)
    keys.type(page.get_by_label(label("统一社会信用代码")), USCC)
    keys.choose(page.get_by_label(label("所在区划")), value=world.division["langya"].code)
    texts = {
        "地址": "滁州市琅琊区丰乐大道 1 号", "负责人": "张三", "联系人": "李四", "联系电话": "0550-1234567",
        "电子邮箱": "contact@example.com", "工作基础": "已有良好合作基础。", "工作计划与目标": "三年内攻关五项关键技术。",
        "依托学会": "安徽省机械工程学会", "办公场所面积（平方米）": "120", "专职工作人员（人）": "3",
        "年度经费（万元）": "50", "协议期限（年）": "3",
    }
    for name, value in texts.items():
        keys.type(page.get_by_label(label(name)), value)
    keys.choose(page.get_by_label(label("学会级别")), label="省级学会")
    keys.choose(page.get_by_label(label("建站级别")), label="省级")
    fill_rows(keys, page, "f_technical_needs",
              [{"需求名称": f"关键技术需求{i + 1}", "需求描述": "攻关"} for i in range(5)])
    fill_rows(keys, page, "f_experts", [{"姓名": f"专家{i + 1}", "职称": "教授", "工作单位": "合肥工业大学",
                                   "专家级别": "省级"} for i in range(5)])
    fill_rows(keys, page, "f_radiated_units", [{"单位名称": f"辐射单位{i + 1}"} for i in range(5)])


def upload_attachments(person, tmp_path, count=5):
    """One small PDF for every attachment kind the upload form offers (all are required to submit)."""
    page = person.page
    form = page.locator("#upload-form")
    kinds = [value for value in form.locator("select[name=kind] option").evaluate_all("os => os.map(o => o.value)")
             if value]
    assert len(kinds) == count
    for code in kinds:
        pdf = small_pdf(tmp_path / f"{code}.pdf")
        person.keys.choose(form.locator("select[name=kind]"), value=code)
        person.keys.pick_file(form.locator("input[name=file]"), pdf)
        with page.expect_navigation():  # the form posts by XHR, then reloads the page
            person.keys.press(form.get_by_role("button", name="上传附件"))
        assert page.locator(".kx-msg--error:visible").count() == 0, page.locator(".kx-msg--error:visible").all_inner_texts()
        expect(page.get_by_role("link", name=f"{code}.pdf")).to_be_visible()
    return kinds


@pytest.mark.parametrize("width", list(VIEWPORTS))
def test_station_chain_through_the_ui(world, live_server, browser, shoot, tmp_path, width):
    batch = world.batch("society-service-station")
    base = live_server.url
    problems = []

    def person(username, shot=False):
        return Person(browser, base, username, shoot, problems, width).login(shot=shot)

    # County clerk: create from the dashboard's open batch, fill the form, upload, submit.
    clerk = person("langya_clerk", shot=True)
    clerk.dashboard_and_inbox(work_waiting=False)
    page = clerk.page
    clerk.keys.press(page.get_by_role("link", name=re.compile(r"以琅琊区科学技术协会名义申报")))
    expect(page).to_have_url(re.compile(rf"/approvals/applications/new/\?batch={batch.pk}&org="))
    fill_application(clerk.keys, page, world)
    clerk.shot("form")
    clerk.keys.press(page.get_by_role("button", name="保存草稿"))
    expect(page).to_have_url(re.compile(r"/approvals/applications/\d+/$"))
    expect(page.locator(".kx-msg--success")).to_be_visible()
    assert clerk.status() == "草稿"
    pk = int(re.search(r"/applications/(\d+)/$", page.url).group(1))
    application = Application.objects.get(pk=pk)
    assert len(application.form_data["technical_needs"]) == 5
    assert len(application.form_data["experts"]) == 5
    assert application.form_data["experts"][0]["level"] == "provincial"
    assert len(application.form_data["radiated_units"]) == 5
    assert application.form_data["tier"] == "provincial"
    kinds = upload_attachments(clerk, tmp_path)
    assert sorted(application.attachments.values_list("kind", flat=True)) == sorted(kinds)
    clerk.shot("detail")
    clerk.act("submit")
    assert clerk.status() == "本级审核中"
    clerk.close()

    # County leader signs off.
    leader = person("langya_leader")
    leader.dashboard_and_inbox()
    leader.open_application()
    leader.shot("detail")
    leader.act("sign_off", comment="同意上报")
    assert leader.status() == "市级审核中"
    leader.close()

    # City reviewer returns it for revision with an opinion.
    city = person("chuzhou_reviewer")
    city.dashboard_and_inbox()
    city.open_application()
    city.shot("detail")
    city.act("return", comment="请补充工作计划的年度目标")
    assert city.status() == "草稿"
    city.close()

    # The clerk sees the opinion, edits and resubmits.
    clerk = person("langya_clerk")
    clerk.dashboard_and_inbox()
    clerk.open_application()
    page = clerk.page
    expect(page.locator("#returned")).to_have_text("已被滁州市科学技术协会退回修改：请补充工作计划的年度目标")
    expect(page.get_by_role("cell", name="请补充工作计划的年度目标")).to_be_visible()
    clerk.shot("returned")
    clerk.keys.press(page.get_by_role("link", name="修改申报书"))
    expect(page).to_have_url(re.compile(r"/edit/$"))
    expect(page.locator(".kx-rows[data-for='f_experts'] tr")).to_have_count(6)  # header and five rows
    clerk.keys.type(page.get_by_label(label("工作计划与目标")), "三年内攻关五项关键技术；第一年完成两项。")
    clerk.shot("edit")
    clerk.keys.press(page.get_by_role("button", name="保存草稿"))
    expect(page).to_have_url(re.compile(rf"/applications/{pk}/$"))
    clerk.act("submit")
    assert clerk.status() == "本级审核中"
    clerk.shot("resubmitted")
    clerk.close()

    leader = person("langya_leader")
    leader.open_application()
    leader.act("sign_off", comment="已按意见修改，同意上报")
    leader.close()

    city = person("chuzhou_reviewer")
    city.open_application()
    city.act("recommend", comment="同意推荐")
    assert city.status() == "省级形式审查中"
    city.shot("recommended")
    city.close()

    # Province officer: formal check, then two experts.
    officer = person("anhui_reviewer")
    officer.dashboard_and_inbox()
    officer.open_application()
    officer.shot("detail")
    officer.act("accept", comment="材料齐全")
    assert officer.status() == "专家评审中"

    def both_experts(form):
        officer.keys.tick(form.get_by_label(world.user["anhui_expert"].first_name, exact=True))
        officer.keys.tick(form.get_by_label(world.user["anhui_expert2"].first_name, exact=True))

    officer.shot("assign")
    officer.act("assign_experts", fill=both_experts)
    officer.close()

    for username, score in (("anhui_expert", "88"), ("anhui_expert2", "91.5")):
        expert = person(username)
        expert.dashboard_and_inbox()
        expert.open_application()
        expert.shot("detail")
        expert.act("score", comment="技术需求明确",
                   fill=lambda form, s=score, e=expert: e.keys.type(form.locator("input[name=score]"), s))
        expert.close()

    # Province leader decides.
    head = person("anhui_leader")
    head.dashboard_and_inbox()
    head.open_application()
    assert head.status() == "待认定"
    head.shot("detail")
    head.act("decide_approve", comment="予以认定")
    assert head.status() == "公示中"
    head.close()

    officer = person("anhui_reviewer")
    officer.open_application()
    officer.act("publish_notice")
    officer.shot("notice")
    officer.close()

    # The notice cannot be over through the UI on the day it is published: move it into the past.
    today = timezone.localdate()
    Application.objects.filter(pk=pk).update(notice_starts_on=today - dt.timedelta(days=30),
                                             notice_ends_on=today - dt.timedelta(days=10))

    head = person("anhui_leader")
    head.open_application()
    head.shot("notice-over")
    head.act("approve")
    head.page.reload()
    assert head.status() in ("已认定", "已授牌")
    expect(head.page.get_by_text("证书编号")).to_be_visible()
    head.shot("certified")
    head.close()

    application = Application.objects.get(pk=pk)
    assert application.status == "certified"
    assert application.revision >= 2
    assert not problems, "\n".join(problems)


CITY_SUBJECT = "滁州市"


def fill_city_application(keys, page, world):
    keys.type(page.get_by_label(label("申报主体名称")), CITY_SUBJECT)
    keys.choose(page.get_by_label(label("所在区划")), value=world.division["chuzhou"].code)
    texts = {
        "地址": "滁州市琅琊区龙蟠大道 1 号", "负责人": "王五", "联系人": "赵六", "联系电话": "0550-7654321",
        "电子邮箱": "city@example.com", "工作基础": "创新基础扎实。", "工作计划与目标": "三年建成创新驱动示范市。",
        "市基本情况": "基本情况介绍。", "R&D 经费投入强度（%）": "2.5", "高新技术企业数（家）": "120",
        "建设方案摘要": "建设方案摘要。",
    }
    for name, value in texts.items():
        keys.type(page.get_by_label(label(name)), value)


@pytest.mark.parametrize("width", list(VIEWPORTS))
def test_city_chain_through_the_ui(world, live_server, browser, shoot, tmp_path, width):
    """创新驱动示范市: the city applies itself (its clerk and leader), then the province as for every
    program; by keyboard alone."""
    world.batch("innovation-driven-city")
    base = live_server.url
    problems = []

    def person(username):
        return Person(browser, base, username, shoot, problems, width).login()

    clerk = person("chuzhou_clerk")
    page = clerk.page
    clerk.keys.press(page.get_by_role("link", name=re.compile(r"以滁州市科学技术协会名义申报")))
    fill_city_application(clerk.keys, page, world)
    clerk.shot("city-form")
    clerk.keys.press(page.get_by_role("button", name="保存草稿"))
    expect(page).to_have_url(re.compile(r"/approvals/applications/\d+/$"))
    pk = int(re.search(r"/applications/(\d+)/$", page.url).group(1))
    upload_attachments(clerk, tmp_path, count=3)
    clerk.shot("city-detail")
    clerk.act("submit")
    assert clerk.status() == "本级审核中"
    clerk.close()

    def open_city_application(who):
        who.keys.press(who.page.get_by_role("link", name=CITY_SUBJECT).first)
        expect(who.page).to_have_url(re.compile(rf"/approvals/applications/{pk}/$"))

    leader = person("chuzhou_leader")
    open_city_application(leader)
    leader.act("sign_off", comment="同意申报")
    assert leader.status() == "省级形式审查中"
    leader.close()

    officer = person("anhui_reviewer")
    open_city_application(officer)
    officer.act("accept", comment="材料齐全")

    def both_experts(form):
        officer.keys.tick(form.get_by_label(world.user["anhui_expert"].first_name, exact=True))
        officer.keys.tick(form.get_by_label(world.user["anhui_expert2"].first_name, exact=True))

    officer.act("assign_experts", fill=both_experts)
    officer.close()
    for username in ("anhui_expert", "anhui_expert2"):
        expert = person(username)
        open_city_application(expert)
        expert.act("score", comment="方案可行", fill=lambda form, e=expert: e.keys.type(form.locator("input[name=score]"), "90"))
        expert.close()
    head = person("anhui_leader")
    open_city_application(head)
    head.act("decide_approve", comment="予以认定")
    head.shot("city-decided")
    head.close()
    officer = person("anhui_reviewer")
    open_city_application(officer)
    officer.act("publish_notice")
    officer.close()
    today = timezone.localdate()
    Application.objects.filter(pk=pk).update(notice_starts_on=today - dt.timedelta(days=30),
                                             notice_ends_on=today - dt.timedelta(days=10))
    head = person("anhui_leader")
    open_city_application(head)
    head.act("approve")
    head.page.reload()
    head.shot("city-certified")
    head.close()
    assert Application.objects.get(pk=pk).status == "certified"
    assert not problems, "\n".join(problems)


def test_an_upload_refusal_is_shown_next_to_the_file(world, live_server, browser, shoot, tmp_path):
    """A refused upload (a program renamed .pdf, a file over the limit) says why beside the form, and the
    page keeps the form; an accepted one reloads the page with the file listed."""
    from approvals import services as svc
    from tests.approvals.chain import create

    application = create(world, "society-service-station")
    application.attachments.all().delete()
    problems = []
    clerk = Person(browser, live_server.url, "langya_clerk", shoot, problems).login()
    page = clerk.page
    page.goto(f"{live_server.url}/approvals/applications/{application.pk}/")
    form = page.locator("#upload-form")
    fake = tmp_path / "说明.pdf"
    fake.write_bytes(b"MZ\x90\x00" + b"\x00" * 2048)  # a Windows program's header
    big = tmp_path / "大文件.pdf"
    big.write_bytes(b"%PDF-1.4\n" + b"0" * (svc.ATTACHMENT_MAX_BYTES + 1024))
    error = page.locator("#upload-error")
    for path, says in ((fake, "PDF"), (big, "MB")):
        clerk.keys.choose(form.locator("select[name=kind]"), value=form.locator("select[name=kind] option")
                          .nth(1).get_attribute("value"))
        clerk.keys.pick_file(form.locator("input[name=file]"), path)
        clerk.keys.press(form.get_by_role("button", name="上传附件"))
        expect(error).to_be_visible()
        expect(error).to_contain_text(says)
        clerk.shot(f"upload-refused-{path.stem}")
        assert application.attachments.count() == 0
    problems[:] = [p for p in problems if "400" not in p]  # the refusals themselves (HTTP 400, logged)
    with page.expect_navigation():
        clerk.keys.pick_file(form.locator("input[name=file]"), small_pdf(tmp_path / "申请表.pdf"))
        clerk.keys.press(form.get_by_role("button", name="上传附件"))
    expect(page.locator(".kx-msg--success")).to_contain_text("附件已上传")
    assert application.attachments.count() == 1
    assert not problems, "\n".join(problems)
