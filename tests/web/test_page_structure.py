"""What every page of the site shows a person and a screen reader, checked on the rendered HTML (no browser:
the browser tests are near CI's time limit): exactly one <h1> (axe's page-has-heading-one), and no English
on a Chinese page, whatever language the browser asks for (Accept-Language: en-US): not in the text, not in
the names a screen reader says (aria-label, title, placeholder, alt), not in the frame's own controls (the
menu button). The browser's own file input button is not in the HTML at all: the upload control is ours
(approvals/_file_picker.html), checked here to be labelled and in Chinese."""
import re

import pytest
from django.test import Client

from approvals import services as svc
from tests.approvals.chain import act, create
from tests.approvals.conftest import World
from tests.factories import TEST_PASSWORD

pytestmark = pytest.mark.django_db

PROGRAM = "society-service-station"
ENGLISH = re.compile(r"[A-Za-z]{2,}")
# Not English words: the names of things that are written so in Chinese too.
ALLOWED = {"PDF", "Excel", "SHA", "USCC", "Word", "ID", "PNG", "CSV", "MB", "KB", "GB", "URL", "API", "TOTP",
           "Google", "Microsoft", "Authenticator", "FreeOTP"}
NAMED = re.compile(r'\s(aria-label|title|placeholder|alt)="([^"]*)"')


@pytest.fixture
def world(db, settings, tmp_path):
    settings.PRIVATE_STORAGE_ROOT = tmp_path / "private"
    return World()


def _client(world, username) -> Client:
    client = Client(HTTP_ACCEPT_LANGUAGE="en-US,en;q=0.9")
    assert client.login(username=world.user[username].username, password=TEST_PASSWORD)
    return client


def _pages(world) -> list[tuple[str, str]]:
    """(who, url) for the main pages of every section: a draft the clerk edits, one at the city."""
    draft = create(world, PROGRAM)
    at_city = create(world, PROGRAM, county="nanqiao")
    svc.application_submit(actor=act(world, "nanqiao_clerk"), application_id=at_city.pk)
    svc.application_sign_off(actor=act(world, "nanqiao_leader"), application_id=at_city.pk, comment="同意上报")
    batch = world.batch(PROGRAM)
    return [
        ("langya_clerk", "/approvals/"),
        ("langya_clerk", "/approvals/applications/"),
        ("langya_clerk", f"/approvals/applications/new/?batch={batch.pk}&org={world.org['langya'].pk}"),
        ("langya_clerk", f"/approvals/applications/{draft.pk}/"),
        ("langya_clerk", f"/approvals/applications/{draft.pk}/edit/"),
        ("chuzhou_reviewer", f"/approvals/applications/{at_city.pk}/"),
        ("chuzhou_reviewer", f"/approvals/batches/{batch.pk}/city/"),
        ("chuzhou_reviewer", "/workflow/inbox/"),
        ("chuzhou_reviewer", "/workflow/queue/"),
        ("chuzhou_reviewer", "/workflow/archive/"),
        ("anhui_reviewer", "/approvals/reports/"),
        ("anhui_reviewer", "/designations/reports/"),
        ("anhui_reviewer", "/designations/cases/"),
        ("anhui_reviewer", "/designations/dashboard/"),
        ("anhui_reviewer", "/notifications/"),
        ("anhui_reviewer", "/notifications/preferences/"),
        ("langya_clerk", "/accounts/password_change/"),
        (None, "/accounts/login/"),
    ]


def _visible_text(html: str) -> str:
    """The page's text as shown: without scripts, styles, comments, icon ligatures (a Material icon's name is
    drawn as a picture) and the values of hidden inputs."""
    html = re.sub(r"<(script|style)\b.*?</\1>", " ", html, flags=re.S)
    html = re.sub(r"<!--.*?-->", " ", html, flags=re.S)
    html = re.sub(r'<(i|span|button)[^>]*class="[^"]*material-icons[^"]*"[^>]*>[^<]*</\1>', " ", html)
    html = re.sub(r"<[^>]+>", " ", html)
    return html


def _english(text: str) -> list[str]:
    """The English words of a text; data is not (user names, e-mail addresses, file names, codes and hashes:
    a word with a digit, "@", ".", "_" or "/" in it)."""
    words = [token for token in text.split() if not re.search(r"[\d@._/]", token)]
    return sorted({word for token in words for word in ENGLISH.findall(token) if word not in ALLOWED})


def test_every_page_has_one_h1_and_no_english(world):
    pages = _pages(world)
    clients = {}
    problems = []
    for who, url in pages:
        if who not in clients:
            clients[who] = _client(world, who) if who else Client(HTTP_ACCEPT_LANGUAGE="en-US,en;q=0.9")
        response = clients[who].get(url)
        assert response.status_code == 200, (who, url, response.status_code)
        assert response["Content-Language"] == "zh-hans", url
        html = response.content.decode()
        h1 = re.findall(r"<h1[\s>]", html)
        if len(h1) != 1:
            problems.append(f"{url}: {len(h1)} <h1>")
        words = _english(_visible_text(html))
        if words:
            problems.append(f"{url}: English text {words}")
        for attribute, value in NAMED.findall(html):
            if _english(value):
                problems.append(f"{url}: {attribute}={value!r}")
    assert not problems, "\n".join(problems)


def test_the_frame_names_its_menu_button_in_chinese(world):
    html = _client(world, "langya_clerk").get("/approvals/").content.decode()
    button = re.search(r'<button[^>]*vf-page__menu-toggle"[^>]*>', html).group(0)
    assert 'aria-label="打开或关闭导航菜单"' in button and "Open navigation menu" not in html
    account = re.search(r'<button[^>]*vf-page__menu-toggle-button"[^>]*>', html).group(0)
    assert 'aria-label="账号菜单"' in account


def test_the_upload_is_a_labelled_chinese_file_picker(world):
    draft = create(world, PROGRAM)
    html = _client(world, "langya_clerk").get(f"/approvals/applications/{draft.pk}/").content.decode()
    picker = re.search(r'<span class="kx-filepick".*?<span class="kx-filepick__name".*?</span>', html, re.S).group(0)
    file_input = re.search(r'<input type="file"[^>]*>', picker).group(0)
    # The input itself keeps the focus and the keyboard: it is labelled (the field's label, for=) and the
    # chosen file's name is read with it; our button is only its picture.
    assert 'id="id_file"' in file_input and 'aria-describedby="id_file_chosen upload-error"' in file_input
    assert re.search(r'<label[^>]*for="id_file"[^>]*>文件', html)
    assert re.search(r'<span class="kx-btn[^"]*kx-filepick__button" aria-hidden="true">选择文件</span>', picker)
    assert '<span class="kx-filepick__name" id="id_file_chosen">未选择文件</span>' in picker
    assert 'tabindex="-1"' not in file_input and "hidden" not in file_input


def test_the_password_change_pages_are_in_the_site_frame_with_the_policy_and_inline_errors(world):
    client = _client(world, "langya_clerk")
    page = client.get("/accounts/password_change/")
    assert [t.name for t in page.templates][:2] == ["registration/password_change_form.html", "approvals/base.html"]
    html = page.content.decode()
    assert "mdc-top-app-bar" in html and "Django" not in html
    assert '<h1 class="mdc-top-app-bar__title kx-title">修改密码' in html
    # The policy under the new password: every validator's rule, the project's own among them.
    assert "至少 3 类" in html and "不能与最近 5 次使用过的密码相同" in html and "8 个字符" in html
    refused = client.post("/accounts/password_change/", {"old_password": "不对", "new_password1": "abc",
                                                         "new_password2": "abd"})
    assert refused.status_code == 200 and 'data-turbo="false"' in refused.content.decode()
    errors = re.findall(r'<div class="kx-field kx-field--invalid">.*?<ul class="errorlist"[^>]*>(.*?)</ul>',
                        refused.content.decode(), re.S)
    assert len(errors) == 2 and "旧密码" in errors[0], errors
    assert "不一致" in errors[1] or "不匹配" in errors[1], errors
    done = client.get("/accounts/password_change/done/")
    assert [t.name for t in done.templates][:2] == ["registration/password_change_done.html", "approvals/base.html"]
    assert "您的密码已修改" in done.content.decode()
