"""Chinese first: pages are Chinese unless the user picked another language with the switcher; a
browser's Accept-Language does not count as a choice. API clients may ask for English."""
import pytest

pytestmark = pytest.mark.django_db

TITLE_ZH, TITLE_EN = "科协试点申报审批系统", "Pilot-site application and approval system"


def _login_page(client, **headers):
    response = client.get("/accounts/login/", **headers)
    assert response.status_code == 200
    return response


@pytest.mark.parametrize("header", [None, "en-US,en;q=0.9", "en", "fr-FR"])
def test_the_pages_are_chinese_unless_chosen(client, header):
    headers = {"HTTP_ACCEPT_LANGUAGE": header} if header else {}
    response = _login_page(client, **headers)
    page = response.content.decode()
    assert TITLE_ZH in page and TITLE_EN not in page
    assert response["Content-Language"] == "zh-hans"


def test_the_switcher_remembers_the_choice(client):
    response = client.post("/i18n/setlang/", {"language": "en", "next": "/accounts/login/"})
    assert response.status_code == 302
    page = _login_page(client, HTTP_ACCEPT_LANGUAGE="zh-CN").content.decode()
    assert TITLE_EN in page and TITLE_ZH not in page
    client.post("/i18n/setlang/", {"language": "zh-hans", "next": "/accounts/login/"})
    assert TITLE_ZH in _login_page(client, HTTP_ACCEPT_LANGUAGE="en").content.decode()


def test_an_api_client_may_ask_for_english(client):
    english = client.get("/api/v1/applications/", HTTP_ACCEPT_LANGUAGE="en")
    chinese = client.get("/api/v1/applications/")
    assert english.status_code == chinese.status_code == 401 or english.status_code == 403
    assert english.json() != chinese.json()
    assert english["Content-Language"] == "en" and chinese["Content-Language"] == "zh-hans"
