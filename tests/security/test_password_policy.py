"""The password policy: length, three character classes, no reuse of the last five; refused in Chinese on
the password change page."""
import pytest
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.test import Client

from security.models import PasswordHistory
from tests.factories import TEST_PASSWORD, UserFactory

pytestmark = pytest.mark.django_db


def refusals(password, user=None) -> list[str]:
    try:
        validate_password(password, user)
    except ValidationError as exc:
        return [e.code for e in exc.error_list]
    return []


@pytest.mark.parametrize("password, code", [
    ("Ab1$xyz", "password_too_short"),            # 7 characters
    ("abcdefghijk", "password_too_simple"),       # one class
    ("abcdefgh1234", "password_too_simple"),      # two classes
    ("ABCDEFGH-!?.", "password_too_simple"),      # two classes
])
def test_weak_passwords_are_refused(password, code):
    assert code in refusals(password)


@pytest.mark.parametrize("password", ["Qingdao-2026", "qingdao-2026x", "QINGDAO2026zz", "青岛市科协Kx2026"])
def test_passwords_of_three_classes_pass(password):
    assert refusals(password) == []


def test_the_last_five_passwords_cannot_be_used_again():
    user = UserFactory(username="wang")
    passwords = [f"Wanjiang-{n}-pass" for n in range(6)]
    for password in passwords:
        user.set_password(password)
        user.save()
    assert PasswordHistory.objects.filter(user=user).count() == 6  # the factory's and five of ours
    user.refresh_from_db()
    for recent in passwords[1:]:  # the current one and the four before it
        assert "password_reused" in refusals(recent, user), recent
    assert refusals(passwords[0], user) == []  # the sixth back is allowed again
    assert refusals("Wanjiang-new-pass", user) == []


def test_the_password_change_page_refuses_in_chinese():
    user = UserFactory(username="zhao")
    client = Client()
    client.force_login(user, backend="django.contrib.auth.backends.ModelBackend")
    response = client.post("/accounts/password_change/", {
        "old_password": TEST_PASSWORD, "new_password1": "abcdefgh1234", "new_password2": "abcdefgh1234"},
        HTTP_ACCEPT_LANGUAGE="zh-hans")
    assert response.status_code == 200
    assert "密码须包含小写字母、大写字母、数字、其他符号中的至少 3 类" in response.content.decode()
    response = client.post("/accounts/password_change/", {
        "old_password": TEST_PASSWORD, "new_password1": TEST_PASSWORD, "new_password2": TEST_PASSWORD})
    assert "不能与最近 5 次使用过的密码相同" in response.content.decode()
    response = client.post("/accounts/password_change/", {
        "old_password": TEST_PASSWORD, "new_password1": "Zhao-new-2026", "new_password2": "Zhao-new-2026"})
    assert response.status_code == 302
    user.refresh_from_db()
    assert user.check_password("Zhao-new-2026")
    assert PasswordHistory.objects.filter(user=user).count() == 1
