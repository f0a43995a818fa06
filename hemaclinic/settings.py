"""HemaClinic settings, read from environment variables.

The embedded default (no variable set) is a development install: SQLite and media files in ./data,
a Celery broker on the local filesystem. DJANGO_ENV=production requires SECRET_KEY, ALLOWED_HOSTS
and turns on the secure defaults that `manage.py check --deploy` looks for.
"""

from __future__ import annotations

import os
import secrets
import tempfile
from pathlib import Path

import dj_database_url
from csp.constants import NONCE, NONE, SELF
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

from .env import envbool, envint, envlist, envstr

BASE_DIR = Path(__file__).resolve().parent.parent
ENVIRONMENT = envstr("DJANGO_ENV", "development")
if ENVIRONMENT not in {"development", "production"}:
    raise ImproperlyConfigured(f"DJANGO_ENV={ENVIRONMENT!r}: use development or production.")
PRODUCTION = ENVIRONMENT == "production"

DATA_DIR = Path(envstr("DATA_DIR", str(BASE_DIR / "data"))).resolve()
DEBUG = envbool("DEBUG", not PRODUCTION)
if PRODUCTION and DEBUG:
    # DEBUG pages show settings, SQL and patient data to whoever triggers an error.
    raise ImproperlyConfigured("DEBUG is refused when DJANGO_ENV=production: unset DEBUG.")


SECRET_KEY_FILE = DATA_DIR / ".secret_key"


def _development_secret_key() -> str:
    # One key per install, never a default shared by every checkout. Importing the settings
    # writes nothing: manage.py keeps the key (development_secret_key_keep); until then the key
    # is this process's own.
    if SECRET_KEY_FILE.exists():
        return SECRET_KEY_FILE.read_text().strip()
    return secrets.token_urlsafe(50)


SECRET_KEY = envstr("SECRET_KEY", "") or (None if PRODUCTION else _development_secret_key())
if not SECRET_KEY:
    raise ImproperlyConfigured("SECRET_KEY is required when DJANGO_ENV=production.")
_PLACEHOLDER_KEY_WORDS = ("change-me", "changeme", "replace-me", "placeholder", "django-insecure")
if PRODUCTION and (
    len(SECRET_KEY) < 50
    or len(set(SECRET_KEY)) < 5
    or any(word in SECRET_KEY.lower() for word in _PLACEHOLDER_KEY_WORDS)
):
    # Sessions, password-reset links and CSRF tokens are signed with it.
    raise ImproperlyConfigured(
        "SECRET_KEY looks like a placeholder or is too short: use at least 50 random "
        "characters in production (for example: python -c \"import secrets; "
        "print(secrets.token_urlsafe(50))\")."
    )


def development_secret_key_keep() -> None:
    """Write the development key in use to DATA_DIR once, so that later processes share it."""
    if PRODUCTION or envstr("SECRET_KEY", "") or SECRET_KEY_FILE.exists():
        return
    DATA_DIR.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(SECRET_KEY_FILE, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return  # another process kept its key first; the next start reads that one
    with os.fdopen(fd, "w") as fh:
        fh.write(SECRET_KEY)

ALLOWED_HOSTS = envlist("ALLOWED_HOSTS", "" if PRODUCTION else "localhost,127.0.0.1,[::1]")
if PRODUCTION and not ALLOWED_HOSTS:
    raise ImproperlyConfigured("ALLOWED_HOSTS is required when DJANGO_ENV=production.")
CSRF_TRUSTED_ORIGINS = envlist("CSRF_TRUSTED_ORIGINS")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework.authtoken",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "apps.core",
    "apps.patients",
    "apps.hemograms",
    "apps.smears",
    "apps.analysis",
    "apps.api",
    "apps.review",
    "apps.reports",
    "apps.workflow",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "csp.middleware.CSPMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.auth.middleware.LoginRequiredMiddleware",
    "apps.core.middleware.AuditActorMiddleware",
    "apps.core.middleware.UserLanguageMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "hemaclinic.urls"
WSGI_APPLICATION = "hemaclinic.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "apps.core.context_processors.roles",
            ],
        },
    },
]

DATABASES = {
    "default": dj_database_url.parse(
        envstr("DATABASE_URL", f"sqlite:///{DATA_DIR / 'hemaclinic.sqlite3'}"),
        conn_max_age=envint("DATABASE_CONN_MAX_AGE", 0, minimum=0),
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL and IMMEDIATE transactions let the web process and the worker share the file.
    DATABASES["default"]["OPTIONS"] = {
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        "transaction_mode": "IMMEDIATE",
        "timeout": 30,
    }
    # A file, not :memory:, so that a worker process in the tests can open the test database;
    # one per test process, so that two test runs on one machine never share it.
    DATABASES["default"]["TEST"] = {
        "NAME": str(Path(tempfile.gettempdir()) / f"hemaclinic-test-{os.getpid()}.sqlite3")}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
     "OPTIONS": {"min_length": 12}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

LANGUAGE_CODE = envstr("LANGUAGE_CODE", "fr")
LANGUAGES = [("fr", _("French")), ("en", _("English"))]
# Dates in pages: unambiguous in both languages (hemaclinic/formats/<lang>/formats.py).
FORMAT_MODULE_PATH = ["hemaclinic.formats"]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = envstr("TIME_ZONE", "Europe/Paris")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = Path(envstr("STATIC_ROOT", str(DATA_DIR / "static")))
# In development WhiteNoise looks files up when they are requested (from the finders when DEBUG),
# so STATIC_ROOT need not exist; collectstatic creates it.
WHITENOISE_AUTOREFRESH = not PRODUCTION
STATICFILES_DIRS = [BASE_DIR / "static"]
MEDIA_ROOT = Path(envstr("MEDIA_ROOT", str(DATA_DIR / "media")))
# Media are clinical data: served only through views that check permissions, never by URL alone.
MEDIA_URL = "/media-not-served/"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if PRODUCTION
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}

# Uploads: the request body limit covers the largest accepted CellaVision zip.
UPLOAD_MAX_BYTES = envint("UPLOAD_MAX_BYTES", 512 * 1024 * 1024, minimum=1024)
DATA_UPLOAD_MAX_MEMORY_SIZE = 10 * 1024 * 1024
FILE_UPLOAD_MAX_MEMORY_SIZE = 10 * 1024 * 1024
FILE_UPLOAD_TEMP_DIR = None
# Images, heat maps, reports and exports are patient data: readable by the service user only.
FILE_UPLOAD_PERMISSIONS = 0o600
FILE_UPLOAD_DIRECTORY_PERMISSIONS = 0o700
DATA_UPLOAD_MAX_NUMBER_FILES = envint("DATA_UPLOAD_MAX_NUMBER_FILES", 5000, minimum=1)

# Celery: the default broker is a folder on disk, so a laptop needs no server. Its folders are
# made when Celery is configured (hemaclinic/celery.py), not here.
CELERY_BROKER_URL = envstr("CELERY_BROKER_URL", "filesystem://")
_BROKER_DIR = DATA_DIR / "broker"
if CELERY_BROKER_URL.startswith("filesystem://"):
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_BROKER_DIR / "queue"),
        "data_folder_out": str(_BROKER_DIR / "queue"),
        "processed_folder": str(_BROKER_DIR / "processed"),
        # Otherwise kombu writes its broadcast exchanges to ./control in the working directory.
        "control_folder": str(_BROKER_DIR / "control"),
        "store_processed": False,
    }
CELERY_TASK_DEFAULT_QUEUE = envstr("CELERY_QUEUE", "hemaclinic")
CELERY_TASK_ALWAYS_EAGER = envbool("CELERY_TASK_ALWAYS_EAGER", False)
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ACKS_LATE = True
# Without this a task whose worker process is killed would be acked, hence lost.
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True

# Analysis runs are never left stuck (apps.analysis.services.analysis_runs_sweep). A running
# run's worker renews a lease before and after every batch; once it has lapsed the worker is
# taken as gone (whole worker killed, host down) and the run is queued again, or failed after
# ANALYSIS_MAX_ATTEMPTS starts. A run whose worker was on this host and is no longer alive is
# taken back at once. Sweeps run when a worker starts, every ANALYSIS_SWEEP_SECONDS in each
# worker, at each analysis request and with `manage.py analysis_sweep` (cron). The lease must
# outlast the slowest batch of ML_BATCH_SIZE cells.
ANALYSIS_LEASE_SECONDS = envint("ANALYSIS_LEASE_SECONDS", 180, minimum=2)
ANALYSIS_SWEEP_SECONDS = envint("ANALYSIS_SWEEP_SECONDS", 30, minimum=1)
ANALYSIS_MAX_ATTEMPTS = envint("ANALYSIS_MAX_ATTEMPTS", 3, minimum=1)
# Transient database errors (connection lost, server restarting, SQLite busy) in a run are
# retried in the worker this many times, after ANALYSIS_DB_RETRY_SECONDS, then twice, four
# times as long..., before the run fails with the error.
ANALYSIS_DB_RETRIES = envint("ANALYSIS_DB_RETRIES", 3, minimum=0)
ANALYSIS_DB_RETRY_SECONDS = envint("ANALYSIS_DB_RETRY_SECONDS", 2, minimum=0)
if not CELERY_BROKER_URL.startswith("filesystem://"):
    # Redis hands an unacknowledged message (its worker was killed) out again after
    # visibility_timeout, an hour by default. At twice the lease the sweep has re-queued or
    # failed the run by then, and the copy is dropped as a duplicate (as are the copies a run
    # longer than this gets while it runs).
    CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 2 * ANALYSIS_LEASE_SECONDS}

MODELS_ONNX_DIR = Path(envstr("MODELS_ONNX_DIR", str(BASE_DIR / "models_onnx")))
ML_THREADS = envint("ML_THREADS", 1, minimum=1)
ML_BATCH_SIZE = envint("ML_BATCH_SIZE", 32, minimum=1)

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        # Token first: a bad token then gets 401 with WWW-Authenticate, not a bare 403.
        # Tokens are stored hashed (apps.api.tokens); DRF's clear-text table is no longer read.
        "apps.api.authentication.HashedTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["apps.core.permissions.HasClinicalRole"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.PageNumberPagination",
    "PAGE_SIZE": 50,
    "EXCEPTION_HANDLER": "apps.api.errors.exception_handler",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "HemaClinic API",
    "DESCRIPTION": "Patients, specimens, CBC and smear imports, analysis runs and results.",
    "VERSION": "0.1.0",
    "SERVE_INCLUDE_SCHEMA": False,
    # Swagger UI assets come from the installed sidecar package: no CDN, no network.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # The schema and its docs describe the clinical API: for logged-in staff only.
    "SERVE_PERMISSIONS": ["apps.core.permissions.HasClinicalRole"],
    # Two choice sets share the field name "status": name each enum after its model.
    "ENUM_NAME_OVERRIDES": {
        "SpecimenStatusEnum": "apps.patients.models.SpecimenStatus",
        "RunStatusEnum": "apps.analysis.models.RunStatus",
    },
}

LAB_NAME = envstr("LAB_NAME", "Laboratoire d'hématologie")

# The smear differential: how many white cells the lab counts (100 or 200 usually). Fewer
# classified white cells are reported with a warning: the percentages rest on a smaller count.
DIFFERENTIAL_TARGET_WBC = envint("DIFFERENTIAL_TARGET_WBC", 100, minimum=1)
# Signed results as HL7 v2.5 ORU^R01 files for the lab's interface engine. Empty: not written
# (the message is still stored and can be downloaded).
LIS_OUTBOX_DIR = envstr("LIS_OUTBOX_DIR", str(DATA_DIR / "lis-outbox"))
# The language of the result message's fixed notes (the domain warning, a short count, the
# cells reviewed, "Amendment:"), read by clinicians in the LIS; one of LANGUAGES (system check
# hemaclinic.E003). The signer's own text and the codes are never translated.
HL7_NOTES_LANGUAGE = envstr("HL7_NOTES_LANGUAGE", LANGUAGE_CODE)

SESSION_COOKIE_HTTPONLY = True
# Content-Security-Policy (django-csp): scripts and styles from this site only; the one inline
# script (base.html) carries the per-request nonce. Inline style *attributes* stay allowed for
# the progress bar's width on the specimen page; <style> elements are not.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF, NONCE],
        "style-src": [SELF],
        "style-src-attr": ["'unsafe-inline'"],
        "img-src": [SELF, "data:"],
        "font-src": [SELF],
        "connect-src": [SELF],
        "object-src": [NONE],
        "base-uri": [NONE],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
    },
}
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
SESSION_COOKIE_AGE = envint("SESSION_COOKIE_AGE", 8 * 3600, minimum=60)
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
if PRODUCTION:
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_SSL_REDIRECT = envbool("SECURE_SSL_REDIRECT", True)
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_HSTS_SECONDS = envint("SECURE_HSTS_SECONDS", 31536000, minimum=0)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = envbool("SECURE_HSTS_PRELOAD", False)

# Request lines are logged without their query string: patient searches (?q=name or MRN)
# must not reach the access log. gunicorn's access logger is configured here (in each worker)
# so that the same filter applies to it; it writes to stdout like accesslog = "-".
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"no_query_string": {"()": "hemaclinic.logfilters.DropQueryString"},
                "refusal_one_line": {"()": "hemaclinic.logfilters.RefusalWithoutTraceback"}},
    "formatters": {"message": {"format": "%(message)s"}},
    "handlers": {
        "console": {"class": "logging.StreamHandler"},
        "access": {"class": "logging.StreamHandler", "stream": "ext://sys.stdout",
                   "formatter": "message"},
    },
    "root": {"handlers": ["console"], "level": envstr("LOG_LEVEL", "INFO")},
    "loggers": {
        # WeasyPrint narrates every render step at INFO.
        "weasyprint.progress": {"level": "WARNING"},
        "gunicorn.access": {"handlers": ["access"], "filters": ["no_query_string"],
                            "level": "INFO", "propagate": False},
        "django.server": {"handlers": ["console"], "filters": ["no_query_string"],
                          "level": "INFO", "propagate": False},
        "django.request": {"filters": ["refusal_one_line"]},
    },
}

# HSTS preload is a commitment for the whole domain: an operator opts in with
# SECURE_HSTS_PRELOAD=1 once the site is on the preload list.
SILENCED_SYSTEM_CHECKS = [] if envbool("SECURE_HSTS_PRELOAD", False) else ["security.W021"]

# Password attempts per window (apps/core/throttle.py): an account from one address (and wrong
# passwords at sign-off), one address over every account, one account from every address.
LOGIN_FAILURE_LIMIT = envint("LOGIN_FAILURE_LIMIT", 5, minimum=1)
LOGIN_FAILURE_LIMIT_PER_ADDRESS = envint("LOGIN_FAILURE_LIMIT_PER_ADDRESS", 20, minimum=1)
LOGIN_FAILURE_LIMIT_PER_ACCOUNT = envint("LOGIN_FAILURE_LIMIT_PER_ACCOUNT", 50, minimum=1)
LOGIN_FAILURE_WINDOW_SECONDS = envint("LOGIN_FAILURE_WINDOW_SECONDS", 900, minimum=1)
# Reverse proxies in front of the app that append to X-Forwarded-For (deploy/nginx.conf: one).
# 0 reads REMOTE_ADDR; behind a proxy that would be the proxy's address for every client.
TRUSTED_PROXY_HOPS = envint("TRUSTED_PROXY_HOPS", 1 if PRODUCTION else 0, minimum=0)
