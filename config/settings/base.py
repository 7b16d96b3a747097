"""Settings shared by every environment; everything that differs comes from environment variables."""
from pathlib import Path

import environ
from celery.schedules import crontab
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent.parent.parent
env = environ.Env()

VAR_DIR = Path(env.str("APP_VAR_DIR", default=str(BASE_DIR / "var")))

DEBUG = env.bool("DJANGO_DEBUG", default=False)
ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS", default=["127.0.0.1", "localhost"])

INSTALLED_APPS = [
    "config.apps.KexieAdminConfig",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "guardian",
    "viewflow",
    "viewflow.workflow",
    "rest_framework",
    "rest_framework.authtoken",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_filters",
    "axes",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "django_otp.plugins.otp_static",
    "orgs",
    "approvals",
    "workflows",
    "printing",
    "designations",
    "security",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "config.locale.ChineseFirstLocaleMiddleware",
    "approvals.api_errors.ApiErrorMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "config.hardening.BadInputMiddleware",  # after CSRF: its process_view has read the body
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "config.hardening.PrivateCacheMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "axes.middleware.AxesMiddleware",
    "security.middleware.SecurityContextMiddleware",
    "security.middleware.TwoFactorMiddleware",
    "security.middleware.PasswordChangeMiddleware",
    "security.api_policy.ApiTokenPolicyMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "django.template.context_processors.i18n",
            ],
        },
    },
]


def database_from_env(default: str) -> dict:
    """One database from DATABASE_URL; SQLite gets IMMEDIATE transactions so writers serialise, in WAL mode."""
    return database_config(env.str("DATABASE_URL", default=default))


# SQLite in WAL mode: a commit is one fsync of the log instead of three (journal, database, folder: about
# 12 ms on this disk, with the one writer's lock held throughout), and readers neither wait for a writer
# nor hold one back. synchronous=FULL keeps every committed transaction through a power loss (a reserved
# certificate number is never handed out twice). A database in memory stays in its "memory" mode.
SQLITE_INIT_COMMAND = "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL"


def database_config(url: str) -> dict:
    db = env.db_url_config(url)
    if db["ENGINE"] == "django.db.backends.sqlite3":
        db.setdefault("OPTIONS", {}).update({"transaction_mode": "IMMEDIATE", "timeout": 20,
                                             "init_command": SQLITE_INIT_COMMAND})
    else:
        db.setdefault("CONN_MAX_AGE", env.int("DATABASE_CONN_MAX_AGE", default=60))
    return db


DATABASES = {"default": database_from_env(f"sqlite:///{VAR_DIR / 'db.sqlite3'}")}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
    "guardian.backends.ObjectPermissionBackend",
]
ANONYMOUS_USER_NAME = None  # guardian: no anonymous user row

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 8}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
    # 等保 2.0 (docs/security.md): three of four character classes, none of the last five passwords.
    {"NAME": "security.validators.CharacterClassesValidator", "OPTIONS": {"classes": 3}},
    {"NAME": "security.validators.PasswordHistoryValidator",
     "OPTIONS": {"count": env.int("PASSWORD_HISTORY_COUNT", default=5)}},
]

LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", _("简体中文")), ("en", _("English"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "Asia/Shanghai"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = VAR_DIR / "static"
# Uploaded attachments and issued PDFs live outside anything served directly.
PRIVATE_STORAGE_ROOT = Path(env.str("APP_PRIVATE_STORAGE", default=str(VAR_DIR / "private")))
PUBLIC_BASE_URL = env.str("PUBLIC_BASE_URL", default="http://127.0.0.1:8000")  # certificate QR codes
# Encrypts the organizations' private signing keys (printing.signing); production sets it, with no default.
SIGNING_KEY_PASSPHRASE = env.str("SIGNING_KEY_PASSPHRASE", default="")
MEDIA_ROOT = VAR_DIR / "media"
MEDIA_URL = "/media/"

LOGIN_URL = "/accounts/login/"
LOGIN_REDIRECT_URL = "/"
SESSION_ENGINE = "config.sessions"  # database sessions; a cookie that holds no possible key is no session
SESSION_COOKIE_AGE = env.int("SESSION_COOKIE_AGE", default=8 * 3600)
SESSION_EXPIRE_AT_BROWSER_CLOSE = True
SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_HTTPONLY = True
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"

# Two-factor login (docs/security.md): administrators and province-level roles must give a TOTP code or a
# recovery code after their password (orgs.access.two_factor_required); anyone else may enrol. Production
# settings keep it on whatever the environment says; the unit tests' settings turn the role rule off
# (their users log in with force_login) and the two-factor tests turn it on again.
TWO_FACTOR_REQUIRED = env.bool("TWO_FACTOR_REQUIRED", default=True)
OTP_TOTP_ISSUER = "科协试点申报审批"
# API tokens (security.api, security.api_policy): a token ends this many hours after it was issued.
API_TOKEN_MAX_AGE_HOURS = env.float("API_TOKEN_MAX_AGE_HOURS", default=24)
# A password older than this many days must be changed at the next login (0: no expiry; security.passwords).
PASSWORD_MAX_AGE_DAYS = env.int("PASSWORD_MAX_AGE_DAYS", default=0)

# Login throttling: by user name and address together, with a finite cool-off.
AXES_FAILURE_LIMIT = env.int("AXES_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = env.float("AXES_COOLOFF_HOURS", default=0.25)
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True

EMAIL_BACKEND = env.str("EMAIL_BACKEND", default="django.core.mail.backends.smtp.EmailBackend")
EMAIL_HOST = env.str("EMAIL_HOST", default="localhost")
EMAIL_PORT = env.int("EMAIL_PORT", default=25)
EMAIL_HOST_USER = env.str("EMAIL_HOST_USER", default="")
EMAIL_HOST_PASSWORD = env.str("EMAIL_HOST_PASSWORD", default="")
EMAIL_USE_TLS = env.bool("EMAIL_USE_TLS", default=False)
# An SMTP call that hangs is cut off well inside the send task's time limit (110 s).
EMAIL_TIMEOUT = env.int("EMAIL_TIMEOUT", default=30)
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="noreply@kexie.example")

# Celery: settings for real brokers, chosen together (docs/outbox.md, "Timing"): late ack and reject on
# worker loss, so a dead worker's task is delivered again; prefetch 1, so a worker holds only what it
# runs; every task killed at TASK_TIME_LIMIT; no task waits in the broker with an ETA or a countdown
# (retries are scheduled by the outbox, not by Celery), so Redis's visibility timeout only has to outlast
# the longest run: 180 s > 120 s, and a killed worker's task is handed on within three minutes.
BROKER_DIR = VAR_DIR / "broker"
# "localhost" only names the embedded broker (kombu warns about a URL without a host); its folders are below.
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default="filesystem://localhost/")
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_TIME_LIMIT = 120
CELERY_TASK_SOFT_TIME_LIMIT = 100
REDIS_VISIBILITY_TIMEOUT = 180
# A publish gives up on a broker that does not answer within this (a request's kick retries once).
CELERY_BROKER_CONNECTION_TIMEOUT = 2
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_TASK_IGNORE_RESULT = True
# A pool process renders and signs a throwaway certificate as it starts (printing.tasks): a cold render
# takes seconds on a busy machine, more than Celery's 4 s default wait for a new process's first sign of life.
CELERY_WORKER_PROC_ALIVE_TIMEOUT = 60.0
PRINTING_WARM_UP = env.bool("PRINTING_WARM_UP", default=True)
CELERY_TASK_ALWAYS_EAGER = False
CELERY_TIMEZONE = TIME_ZONE
if CELERY_BROKER_URL.startswith("filesystem://"):
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(BROKER_DIR / "queue"),
        "data_folder_out": str(BROKER_DIR / "queue"),
        "processed_folder": str(BROKER_DIR / "processed"),
        "control_folder": str(BROKER_DIR / "control"),
        "store_processed": False,
    }
else:
    CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": REDIS_VISIBILITY_TIMEOUT}

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.SessionAuthentication",
        "rest_framework.authentication.TokenAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.PageNumberPagination",
    "PAGE_SIZE": 50,
}
# Swagger UI and ReDoc from this server (drf-spectacular-sidecar): government intranets have no CDN.
SPECTACULAR_SETTINGS = {"TITLE": "科协试点申报审批 API", "VERSION": "0.1.0", "SWAGGER_UI_DIST": "SIDECAR",
                        "SWAGGER_UI_FAVICON_HREF": "SIDECAR", "REDOC_DIST": "SIDECAR",
                        # Requests and answers as separate components (a file is binary in a request).
                        "COMPONENT_SPLIT_REQUEST": True,
                        # One name for the organization levels (a program's applicant level is one too).
                        "ENUM_NAME_OVERRIDES": {"LevelEnum": "orgs.models.Level"},
                        # Every answer in the schema (approvals.api.schema_common_answers), enums as components,
                        # and the links from an answer to the calls it leads to (approvals.api_links).
                        "POSTPROCESSING_HOOKS": ["drf_spectacular.hooks.postprocess_schema_enums",
                                                 "approvals.api.schema_common_answers",
                                                 "approvals.api_links.schema_links"]}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
}
AXES_VERBOSE = False

# The outbox relay and the sweeper for stranded work (docs/outbox.md): intervals in seconds.
OUTBOX_RELAY_INTERVAL_SECONDS = 30
STRANDED_SWEEP_INTERVAL_SECONDS = 60
CELERY_BEAT_SCHEDULE = {
    # Effects the broker could not take at commit time, failed runs whose backoff is over, lost messages.
    "outbox-relay": {"task": "workflows.tasks.outbox_relay", "schedule": float(OUTBOX_RELAY_INTERVAL_SECONDS)},
    # Due notice timers (approved through the service), approved without a certificate, certified without
    # a PDF, half-sent e-mails.
    "sweep-stranded": {"task": "workflows.tasks.sweep_stranded", "schedule": float(STRANDED_SWEEP_INTERVAL_SECONDS)},
    # Designations past their validity become 已到期, just after midnight Beijing time.
    "expire-designations": {"task": "workflows.tasks.expire_designations", "schedule": crontab(minute=0, hour=0)},
    # Annual reports past their due date: reminded, escalated, recorded as missing (designations.consequences).
    "annual-reports-overdue": {"task": "designations.tasks.annual_reports_overdue",
                               "schedule": crontab(minute=20, hour=8)},
    # Designations within their program's reminder months of expiry: renewal opened, clerks told.
    "renewals-remind": {"task": "designations.tasks.renewals_remind", "schedule": crontab(minute=25, hour=8)},
    # Reminders and escalations, once per task (docs/deadlines-notifications.md).
    "sweep-deadlines": {"task": "workflows.tasks.sweep_deadlines", "schedule": crontab(minute=5, hour="8-18")},
    # From CALENDAR_REMINDER_DATE on, administrators are told (once each) that next year's holiday
    # arrangement is not loaded yet (docs/calendar.md).
    "remind-missing-calendar": {"task": "workflows.tasks.remind_missing_calendar",
                                "schedule": crontab(minute=15, hour=9)},
}
# Month-day from which next year's missing holiday arrangement is reminded of, each year.
CALENDAR_REMINDER_DATE = env.str("CALENDAR_REMINDER_DATE", default="11-01")
# Remind the assignee this many working days before a task's due date.
DEADLINE_REMINDER_WORKDAYS = env.int("DEADLINE_REMINDER_WORKDAYS", default=2)
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celerybeat-schedule")

# The audit trail's anchor outside the database (docs/audit.md): every night a digest of every chain head,
# signed with an Ed25519 key that is not in the database, goes to a folder where files are only added.
AUDIT_SIGNING_KEY_FILE = Path(env.str("AUDIT_SIGNING_KEY_FILE", default=str(VAR_DIR / "audit-signing-key.pem")))
AUDIT_SIGNING_KEY_CREATE = False  # the local and test settings make a development key where none is
AUDIT_DIGEST_DIR = Path(env.str("AUDIT_DIGEST_DIR", default=str(VAR_DIR / "audit-digests")))
# The security log's signed digests (same key and file format, one row: 0, seq, head); kept apart.
SECURITY_DIGEST_DIR = Path(env.str("SECURITY_DIGEST_DIR", default=str(VAR_DIR / "security-digests")))
# verify_audit fails when the latest digest is older than this (the nightly task stopped, or digests after
# it were removed): a day and a margin.
AUDIT_DIGEST_MAX_AGE_HOURS = env.float("AUDIT_DIGEST_MAX_AGE_HOURS", default=26)
# An action's event is stamped before its transaction commits, so one stamped shortly before a digest may be
# missing from it; only events stamped longer than this before a digest and missing from it are flagged.
AUDIT_DIGEST_MARGIN_SECONDS = env.int("AUDIT_DIGEST_MARGIN_SECONDS", default=600)
CELERY_BEAT_SCHEDULE["write-audit-digest"] = {
    "task": "approvals.tasks.write_audit_digest", "schedule": crontab(minute=40, hour=0),
}
# The security log's digest (security.tasks), just after the audit chains'.
CELERY_BEAT_SCHEDULE["write-security-digest"] = {
    "task": "security.tasks.write_security_digest", "schedule": crontab(minute=45, hour=0),
}
# Security events are kept this many days, at least 180 (security.checks refuses less), then purged every
# night after the digest, which the purge extends with the new start of the chain (security.tasks).
SECURITY_LOG_RETENTION_DAYS = env.int("SECURITY_LOG_RETENTION_DAYS", default=180)
CELERY_BEAT_SCHEDULE["purge-security-log"] = {
    "task": "security.tasks.purge_security_log", "schedule": crontab(minute=55, hour=0),
}
DEMO_TOOLS = False  # demo-only tools (seed_demo_applications, demo_end_notice); never in production
