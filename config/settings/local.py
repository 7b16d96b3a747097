"""Embedded default: SQLite, a filesystem broker under var/, console e-mail, debug on."""
from .base import *  # noqa: F403
from .base import env

DEBUG = env.bool("DJANGO_DEBUG", default=True)
SECRET_KEY = env.str("DJANGO_SECRET_KEY", default="local-only-insecure-key-change-me-in-production-0123456789")
SIGNING_KEY_PASSPHRASE = env.str("SIGNING_KEY_PASSPHRASE", default="local-demo-signing-passphrase")
EMAIL_BACKEND = env.str("EMAIL_BACKEND", default="django.core.mail.backends.console.EmailBackend")

# The embedded default keeps its database, broker queue and files under var/.
VAR_DIR.mkdir(parents=True, exist_ok=True)  # noqa: F405
# A development key for the audit digests, made under var/ on first use (production requires its own).
AUDIT_SIGNING_KEY_CREATE = True
# The demo-only tools (end a 公示 now, applications in every stage): local only, never production.
DEMO_TOOLS = env.bool("DEMO_TOOLS", default=True)
