"""Production: every secret and service from the environment with no default (config/settings/required.py
checks them), HTTPS assumed."""
from .base import *  # noqa: F403
from .base import database_config, env
from .required import audit_signing_key_file, broker_url, database_url, public_base_url

DEBUG = False
SECRET_KEY = env.str("DJANGO_SECRET_KEY")
ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS")
# No fallback to the embedded SQLite file, filesystem broker, localhost QR codes or development key.
DATABASES = {"default": database_config(database_url())}
CELERY_BROKER_URL = broker_url()
PUBLIC_BASE_URL = public_base_url()
AUDIT_SIGNING_KEY_FILE = audit_signing_key_file()
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env.bool("DJANGO_SECURE_SSL_REDIRECT", default=True)
SESSION_COOKIE_SECURE = True
CSRF_COOKIE_SECURE = True
SECURE_HSTS_SECONDS = env.int("DJANGO_SECURE_HSTS_SECONDS", default=31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = True
SECURE_HSTS_PRELOAD = env.bool("DJANGO_SECURE_HSTS_PRELOAD", default=True)
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}
