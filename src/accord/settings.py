"""Django settings, all read from ``ACCORD_*`` environment variables.

See docs/admin/configuration.md for each variable.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import dj_database_url

from accord import config

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
    "ninja",
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
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "accord.core.middleware.ApiProblemMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "accord.core.idempotency.IdempotencyMiddleware",
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
            ]
        },
    }
]

_db = config.database(DATA_DIR)
DATABASE_ENGINE = _db.engine
DB_POOL_MAX = config.env_int("ACCORD_DB_POOL_MAX", 10)


def _database(url: str) -> dict[str, Any]:
    parsed: dict[str, Any] = dict(dj_database_url.parse(url))
    if parsed["ENGINE"] == "django.db.backends.sqlite3":
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
AUTH_PASSWORD_VALIDATORS = [
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": 12},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
]

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
