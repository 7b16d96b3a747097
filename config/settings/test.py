"""Unit tests: Celery eager (integration tests start a real worker instead), fast hashing, locmem mail."""
import tempfile
from pathlib import Path

from .base import *  # noqa: F403
from .base import env

SECRET_KEY = "test-only-key-not-secret-0123456789abcdefghijklmnopqrstuvwxyz"
SIGNING_KEY_PASSPHRASE = "test-only-signing-passphrase"
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=True)
CELERY_TASK_EAGER_PROPAGATES = True
AXES_ENABLED = env.bool("AXES_ENABLED", default=False)
# Tests log their users in with force_login: the role rule of two-factor login is off here, and the
# two-factor tests (tests/security/test_two_factor.py, the browser test) turn it on. An enrolled user is
# asked for a code whatever this says.
TWO_FACTOR_REQUIRED = env.bool("TWO_FACTOR_REQUIRED", default=False)
# Tests serve no collected static files.
MIDDLEWARE = [m for m in MIDDLEWARE if m != "whitenoise.middleware.WhiteNoiseMiddleware"]  # noqa: F405
# Integration tests (tests/integration) run real Celery workers on these settings: they count the e-mails
# the workers write to a folder, pause a task where they kill its worker, and shorten the Redis visibility
# timeout so that a killed worker's task is handed to the next worker within seconds.
if env.str("EMAIL_FILE_PATH", default=""):
    EMAIL_BACKEND = "django.core.mail.backends.filebased.EmailBackend"
    EMAIL_FILE_PATH = env.str("EMAIL_FILE_PATH")
# Their workers start taking tasks at once: the integration tests' short visibility timeout would hand a
# task a warming pool process had reserved to another worker (printing.tasks, the warm-up).
PRINTING_WARM_UP = env.bool("PRINTING_WARM_UP", default=False)
NOTIFY_TEST_DELAY_SECONDS = env.float("NOTIFY_TEST_DELAY_SECONDS", default=0)
# A file that, while it exists, says where to pause inside an effect's transaction (approvals.outbox.test_pause).
OUTBOX_TEST_PAUSE_FILE = env.str("OUTBOX_TEST_PAUSE_FILE", default="")
# Integration tests on the shared RabbitMQ use a queue of their own; they may run beat's sweeps faster.
CELERY_TASK_DEFAULT_QUEUE = env.str("CELERY_QUEUE", default="celery")
if env.str("BEAT_SECONDS", default=""):
    # "outbox-relay=3,sweep-stranded=5": entry name = seconds
    _seconds = {name: float(value) for name, value in
                (item.split("=") for item in env.str("BEAT_SECONDS").split(","))}
    CELERY_BEAT_SCHEDULE = {  # noqa: F405
        name: {**entry, "schedule": _seconds.get(name, entry["schedule"])}
        for name, entry in CELERY_BEAT_SCHEDULE.items()  # noqa: F405
    }
NOTIFY_TEST_DELAY_AFTER_SEND_SECONDS = env.float("NOTIFY_TEST_DELAY_AFTER_SEND_SECONDS", default=0)
if env.int("CELERY_VISIBILITY_TIMEOUT", default=0):
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "visibility_timeout": env.int("CELERY_VISIBILITY_TIMEOUT"),
        "unacked_restore_interval": 1,
        "unacked_restore_throttle": 1,
    }
# Files written by tests (attachments, certificate PDFs) stay out of the project's var/.
PRIVATE_STORAGE_ROOT = Path(env.str("APP_PRIVATE_STORAGE", default=str(Path(tempfile.gettempdir()) / "kexie-test-private")))
# Tests point the audit digests and their key at their own folders (tests/conftest.py); this is the fallback.
AUDIT_SIGNING_KEY_FILE = Path(tempfile.gettempdir()) / "kexie-test-audit-signing-key.pem"
AUDIT_SIGNING_KEY_CREATE = True
AUDIT_DIGEST_DIR = Path(tempfile.gettempdir()) / "kexie-test-audit-digests"
SECURITY_DIGEST_DIR = Path(tempfile.gettempdir()) / "kexie-test-security-digests"
