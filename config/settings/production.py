"""Production: every secret and service from the environment with no default (config/settings/required.py
checks them), HTTPS assumed."""
# Checked before base.py reads them with its embedded defaults (the SQLite file, the filesystem broker,
# localhost QR codes, the development key), so that a missing or malformed one is named, not replaced.
from .required import audit_signing_key_file, broker_url, database_url, public_base_url

_DATABASE_URL = database_url()
_CELERY_BROKER_URL = broker_url()
_PUBLIC_BASE_URL = public_base_url()
_AUDIT_SIGNING_KEY_FILE = audit_signing_key_file()

from .base import *  # noqa: E402, F403
from .base import database_config, env  # noqa: E402

DEBUG = False
# The demo-only tools never run in production, whatever the environment says.
DEMO_TOOLS = False
# Two-factor login for administrators and province-level roles cannot be switched off in production.
TWO_FACTOR_REQUIRED = True
SECRET_KEY = env.str("DJANGO_SECRET_KEY")
ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS")
DATABASES = {"default": database_config(_DATABASE_URL)}
CELERY_BROKER_URL = _CELERY_BROKER_URL
PUBLIC_BASE_URL = _PUBLIC_BASE_URL
AUDIT_SIGNING_KEY_FILE = _AUDIT_SIGNING_KEY_FILE
SIGNING_KEY_PASSPHRASE = env.str("SIGNING_KEY_PASSPHRASE")
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env.bool("DJANGO_SECURE_SSL_REDIRECT", default=True)
SESSION_COOKIE_SECURE = True
CSRF_COOKIE_SECURE = True
SECURE_HSTS_SECONDS = env.int("DJANGO_SECURE_HSTS_SECONDS", default=31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = True
SECURE_HSTS_PRELOAD = env.bool("DJANGO_SECURE_HSTS_PRELOAD", default=True)
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "config.staticfiles.StaticFilesStorage"},
}
