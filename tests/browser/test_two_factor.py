"""The browser logs in with TOTP as a province officer: enrolment at the first login (QR code, first
code, recovery codes), then a second login asks for the app's code after the password."""
import base64

import pytest
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice
from playwright.sync_api import expect

from tests.factories import TEST_PASSWORD

pytestmark = pytest.mark.django_db(transaction=True)


def _code(device, ahead=0) -> str:
    return f"{totp(device.bin_key, step=device.step, t0=device.t0, digits=device.digits, drift=ahead):06d}"


def _password(page, base):
    page.goto(f"{base}/accounts/login/?next=/approvals/")
    page.fill("#id_username", "anhui_reviewer")
    page.fill("#id_password", TEST_PASSWORD)
    page.click("button[type=submit]")


def test_a_province_officer_enrols_and_logs_in_with_totp(world, live_server, browser, shoot, settings):
    settings.TWO_FACTOR_REQUIRED = True
    settings.OTP_TOTP_THROTTLE_FACTOR = 0
    page = browser.new_page()
    _password(page, live_server.url)
    expect(page).to_have_url(f"{live_server.url}/accounts/2fa/setup/?next=/approvals/")
    expect(page.locator(".kx-qr svg")).to_be_visible()
    shoot(page, "anhui_reviewer", "2fa-setup")
    secret = page.locator(".kx-secret").inner_text().replace(" ", "")
    device = TOTPDevice(key=base64.b32decode(secret + "=" * (-len(secret) % 8)).hex())
    page.fill("#id_code", _code(device))
    page.click("button[type=submit]")
    expect(page.locator(".kx-recovery-codes li")).to_have_count(10)
    page.get_by_role("link", name="继续").click()
    expect(page).to_have_url(f"{live_server.url}/approvals/")

    other = browser.new_page()
    _password(other, live_server.url)
    expect(other).to_have_url(f"{live_server.url}/accounts/2fa/verify/?next=/approvals/")
    other.fill("#id_code", "000000")
    other.click("button[type=submit]")
    expect(other.locator("#id_code_error")).to_contain_text("验证码不正确")
    other.fill("#id_code", _code(TOTPDevice.objects.get(user=world.user["anhui_reviewer"]), ahead=1))
    other.click("button[type=submit]")
    expect(other).to_have_url(f"{live_server.url}/approvals/")
    shoot(other, "anhui_reviewer", "2fa-verified")
