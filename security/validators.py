"""Password policy (docs/security.md): at least three of four character classes, and none of the last
passwords again. The length is Django's MinimumLengthValidator (8, AUTH_PASSWORD_VALIDATORS)."""
from django.contrib.auth.hashers import check_password
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

from .models import PasswordHistory

_CLASSES = (str.islower, str.isupper, str.isdigit)


class CharacterClassesValidator:
    """At least `classes` of: lower-case letters, upper-case letters, digits, other characters."""

    def __init__(self, classes: int = 3):
        self.classes = classes

    def validate(self, password, user=None):
        found = sum(any(test(c) for c in password) for test in _CLASSES)
        found += any(not (c.isalnum() and c.isascii()) for c in password)
        if found < self.classes:
            raise ValidationError(self.get_help_text(), code="password_too_simple")

    def get_help_text(self):
        return _("密码须包含小写字母、大写字母、数字、其他符号中的至少 %(n)s 类") % {"n": self.classes}


class PasswordHistoryValidator:
    """Not the current password nor any of the `count - 1` before it (kept by security.signals)."""

    def __init__(self, count: int = 5):
        self.count = count

    def validate(self, password, user=None):
        if user is None or user.pk is None:
            return
        hashes = [user.password] if user.password else []
        hashes += PasswordHistory.objects.filter(user_id=user.pk).values_list("password", flat=True)[
            : self.count - 1]
        if any(check_password(password, stored) for stored in hashes):
            raise ValidationError(self.get_help_text(), code="password_reused")

    def get_help_text(self):
        return _("不能与最近 %(n)s 次使用过的密码相同") % {"n": self.count}
