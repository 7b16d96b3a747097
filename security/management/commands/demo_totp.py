"""Demo only (DEMO_TOOLS): the current two-factor code of a demo user, enrolling them first when they have
no device (the secret is printed for an authenticator app). Production settings never allow it."""
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice

from security import two_factor


class Command(BaseCommand):
    help = gettext_lazy("仅供演示（DEMO_TOOLS）：显示演示用户当前的动态验证码，尚未绑定时先为其绑定")

    def add_arguments(self, parser):
        parser.add_argument("username", help=gettext_lazy("用户名"))

    def handle(self, *args, username, **options):
        if not settings.DEMO_TOOLS:
            raise CommandError(_("演示工具未开启（DEMO_TOOLS）"))
        user = get_user_model().objects.filter(username=username).first()
        if user is None:
            raise CommandError(_("用户 %(name)s 不存在") % {"name": username})
        device = TOTPDevice.objects.filter(user=user, confirmed=True).first()
        if device is None:
            device = TOTPDevice.objects.create(user=user, name=two_factor.TOTP_NAME, confirmed=True)
            self.stdout.write(_("已为 %(name)s 绑定身份验证器，密钥：%(secret)s") % {
                "name": username, "secret": two_factor.device_secret(device)})
            self.stdout.write(device.config_url)
        code = totp(device.bin_key, step=device.step, t0=device.t0, digits=device.digits, drift=device.drift)
        self.stdout.write(_("当前验证码（30 秒内有效）：%(code)06d") % {"code": code})
