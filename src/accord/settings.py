"""Django settings, all read from ``ACCORD_*`` environment variables.

See docs/admin/configuration.md for each variable.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import dj_database_url

from accord import config
from accord.identity.limits import parse_limit

DATA_DIR = config.data_dir()
DATA_DIR.mkdir(parents=True, exist_ok=True)

SECRET_KEY = config.secret_key(DATA_DIR)
DEBUG = config.env_bool("ACCORD_DEBUG")
ALLOWED_HOSTS = [
    h.strip()
    for h in os.environ.get("ACCORD_ALLOWED_HOSTS", "localhost,127.0.0.1,[::1]").split(",")
    if h.strip()
]
ACCORD_INSTANCE = config.instance_name()
ACCORD_PHONE_REGION = os.environ.get("ACCORD_PHONE_REGION", "US")
#: The company currency: amounts without one are in it (checked at start-up by core).
ACCORD_CURRENCY = os.environ.get("ACCORD_CURRENCY", "EUR").strip().upper()

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.forms",
    "ninja",
    "django_htmx",
    "template_partials",
    "django_tasks",
    "django_tasks_db",
    "accord.core",
    "accord.identity",
    "accord.parties",
    "accord.activities",
    "accord.catalog",
    "accord.sales",
    "accord.service",
    "accord.marketing",
    "accord.integration",
    "accord.web",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "accord.web.middleware.ContentSecurityPolicy",
    "accord.core.middleware.ApiProblemMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "accord.web.middleware.PagesRequireLogin",
    "django_htmx.middleware.HtmxMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "accord.core.idempotency.IdempotencyMiddleware",
    "accord.identity.ratelimit.RateLimitHeadersMiddleware",
]

ROOT_URLCONF = "accord.urls"
WSGI_APPLICATION = "accord.wsgi.application"
AUTH_USER_MODEL = "identity.User"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "accord.web.context.shell",
            ]
        },
    }
]

# Forms render with the staff app's templates (labels, help and errors tied to each control).
FORM_RENDERER = "accord.web.forms.FormRenderer"

# The staff pages (accord.web): every page but the sign-in page needs a signed-in user.
LOGIN_URL = "/login"
LOGIN_REDIRECT_URL = "/"
# Scripts and styles come only from our own static files: no inline script, no CDN.
CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "font-src 'self'",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)

_db = config.database(DATA_DIR)
DATABASE_ENGINE = _db.engine
DB_POOL_MAX = config.env_int("ACCORD_DB_POOL_MAX", 10)


def _database(url: str) -> dict[str, Any]:
    parsed: dict[str, Any] = dict(dj_database_url.parse(url))
    if parsed["ENGINE"] == "django.db.backends.sqlite3":
        # Django's backend, with writers queued before BEGIN (core/backends/sqlite3/base.py).
        parsed["ENGINE"] = "accord.core.backends.sqlite3"
        parsed["OPTIONS"] = {
            # IMMEDIATE takes the write lock at BEGIN, so two writers queue on the busy timeout
            # instead of one failing with "database is locked" when it upgrades a read lock.
            "transaction_mode": "IMMEDIATE",
            "timeout": 30,
            "init_command": (
                "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON;"
            ),
        }
        parsed["TEST"] = {"NAME": str(Path(parsed["NAME"]).with_suffix(".test.sqlite3"))}
        # Each web thread keeps its connection: reopening the file per request costs half of a
        # simple request's time, and closing the last connection checkpoints the WAL.
        parsed["CONN_MAX_AGE"] = None
        parsed["CONN_HEALTH_CHECKS"] = True
    else:
        parsed["CONN_MAX_AGE"] = 0  # the pool owns connection lifetime
        parsed["OPTIONS"] = {
            "pool": {
                "min_size": 1,
                "max_size": DB_POOL_MAX,
                "timeout": 30,
            }
        }
        parsed.setdefault("USER", "postgres")
    return parsed


DATABASES = {"default": _database(_db.url)}

TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}

PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
# OWASP ASVS 5.0 (6.2): at least 12 characters, up to 128 of any kind (spaces and emoji
# included), not a common password, not the user's own name or address; no composition rules.
AUTH_PASSWORD_VALIDATORS = [
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": 12},
    },
    {
        "NAME": "accord.identity.passwords.MaximumLengthValidator",
        "OPTIONS": {"max_length": 128},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
]
# Django's own sign-in forms (/admin/) go through the lockout and refuse people who must give a
# second factor; they sign in through /api/v1/auth/login instead.
AUTHENTICATION_BACKENDS = ["accord.identity.auth.AccordBackend"]
PASSWORD_RESET_TIMEOUT = config.env_int("ACCORD_PASSWORD_RESET_TIMEOUT", 3600)

# Sign-in lockout: this many failures per user name (per client address) within the window
# lock the name (the address) for LOGIN_LOCKOUT seconds.
LOGIN_MAX_FAILURES = config.env_int("ACCORD_LOGIN_MAX_FAILURES", 5)
LOGIN_MAX_FAILURES_PER_IP = config.env_int("ACCORD_LOGIN_MAX_FAILURES_PER_IP", 20)
LOGIN_FAILURE_WINDOW = config.env_int("ACCORD_LOGIN_FAILURE_WINDOW", 900)
LOGIN_LOCKOUT = config.env_int("ACCORD_LOGIN_LOCKOUT", 900)

# API rate limits ("600/min", "10/s", "5000/hour", "off"), counted in the database, or in
# Redis when ACCORD_REDIS_URL is set.
RATE_LIMIT_USER = os.environ.get("ACCORD_RATE_LIMIT_USER", "600/min")
RATE_LIMIT_TOKEN = os.environ.get("ACCORD_RATE_LIMIT_TOKEN", "600/min")
for _variable, _limit in (
    ("ACCORD_RATE_LIMIT_USER", RATE_LIMIT_USER),
    ("ACCORD_RATE_LIMIT_TOKEN", RATE_LIMIT_TOKEN),
):
    try:
        parse_limit(_limit)
    except ValueError as exc:
        raise config.ConfigError(f"{_variable}: {exc}") from None
ACCORD_REDIS_URL = os.environ.get("ACCORD_REDIS_URL", "")

# Password reset mails: the console prints them unless an SMTP server is configured.
ACCORD_PUBLIC_URL = os.environ.get("ACCORD_PUBLIC_URL", "http://localhost:8000").rstrip("/")

# Attachments: the storage backend (a dotted class path) and the largest file accepted.
ACCORD_ATTACHMENT_STORAGE = os.environ.get(
    "ACCORD_ATTACHMENT_STORAGE", "accord.parties.storage.FileSystemStorage"
)
ACCORD_ATTACHMENT_MAX_MB = config.env_int("ACCORD_ATTACHMENT_MAX_MB", 25)
DEFAULT_FROM_EMAIL = os.environ.get("ACCORD_EMAIL_FROM", "accord@localhost")
EMAIL_HOST = os.environ.get("ACCORD_EMAIL_HOST", "")
if EMAIL_HOST:
    EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    EMAIL_PORT = config.env_int("ACCORD_EMAIL_PORT", 587)
    EMAIL_HOST_USER = os.environ.get("ACCORD_EMAIL_USER", "")
    EMAIL_HOST_PASSWORD = os.environ.get("ACCORD_EMAIL_PASSWORD", "")
    EMAIL_USE_TLS = config.env_bool("ACCORD_EMAIL_USE_TLS", EMAIL_PORT == 587)
    EMAIL_USE_SSL = config.env_bool("ACCORD_EMAIL_USE_SSL", EMAIL_PORT == 465)
    EMAIL_TIMEOUT = 10
else:
    EMAIL_BACKEND = "django.core.mail.backends.console.EmailBackend"

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = DATA_DIR / "static"
STATIC_ROOT.mkdir(exist_ok=True)
# Finders let granian serve Swagger UI's files straight from the installed packages without
# a collectstatic step at install time.
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = DEBUG

SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
# Sessions end after ACCORD_SESSION_AGE seconds (default 12 hours), signed in or not.
SESSION_COOKIE_AGE = config.env_int("ACCORD_SESSION_AGE", 12 * 3600)
SESSION_COOKIE_SECURE = not DEBUG and config.env_bool("ACCORD_SECURE_COOKIES", True)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": "WARNING"},
}
