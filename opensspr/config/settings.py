"""Deployment settings: the environment, with embedded defaults.

Embedded default: SQLite in the data folder, in-process cache, database-backed
sessions, one process. Scale-out: ``DATABASE_URL`` pointing at PostgreSQL and
``REDIS_URL`` at Redis (cache, counters and sessions), several stateless app
processes. See docs/operators/configuration.md for every variable.
"""

from pathlib import Path
from urllib.parse import urlsplit

import dj_database_url
from django.core.exceptions import ImproperlyConfigured
from django.utils.csp import CSP
from django.utils.translation import gettext_lazy as _
from phonenumbers import SUPPORTED_REGIONS

from opensspr.config import env

PACKAGE_DIR = Path(__file__).resolve().parent.parent
DATA_DIR = Path(env.text("OPENSSPR_DATA_DIR", str(Path.cwd() / "var"))).resolve()

DEBUG = env.flag("OPENSSPR_DEBUG")
SECRET_KEY = env.text("OPENSSPR_SECRET_KEY")
if len(SECRET_KEY) < 32:
    raise ImproperlyConfigured(
        "OPENSSPR_SECRET_KEY must be set to a random value of at least 32 characters "
        '(for example: python -c "import secrets; print(secrets.token_urlsafe(48))"). '
        "`opensspr demo` makes and keeps one for you."
    )

# Key for secrets stored encrypted (TOTP seeds, provider credentials, queued messages).
OPENSSPR_ENCRYPTION_KEY = env.text("OPENSSPR_ENCRYPTION_KEY")
OPENSSPR_ENCRYPTION_KEY_FALLBACKS = env.listing("OPENSSPR_ENCRYPTION_KEY_FALLBACKS", [])

OPENSSPR_BASE_URL = env.base_url("OPENSSPR_BASE_URL", "http://127.0.0.1:8000")
_base = urlsplit(OPENSSPR_BASE_URL)
_https = _base.scheme == "https"
ALLOWED_HOSTS = env.listing("OPENSSPR_ALLOWED_HOSTS", [_base.hostname or "127.0.0.1"])
CSRF_TRUSTED_ORIGINS = [f"{_base.scheme}://{_base.netloc}"]
OPENSSPR_ORGANISATION_NAME_DEFAULT = env.text("OPENSSPR_ORGANISATION_NAME", "OpenSSPR")
# Where a phone number typed without its country code (06 12345678) is read, e.g. NL.
OPENSSPR_DEFAULT_PHONE_REGION = env.text("OPENSSPR_DEFAULT_PHONE_REGION").upper()
if OPENSSPR_DEFAULT_PHONE_REGION and OPENSSPR_DEFAULT_PHONE_REGION not in SUPPORTED_REGIONS:
    raise ImproperlyConfigured(
        f"OPENSSPR_DEFAULT_PHONE_REGION must be a country code such as NL or US, "
        f"not {OPENSSPR_DEFAULT_PHONE_REGION!r}."
    )

# How many reverse proxies in front of us append to X-Forwarded-For; 0 = trust none.
OPENSSPR_TRUSTED_PROXY_HOPS = env.integer("OPENSSPR_TRUSTED_PROXY_HOPS", 0, minimum=0, maximum=5)
if OPENSSPR_TRUSTED_PROXY_HOPS:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "opensspr.core",
    "opensspr.throttles",
    "opensspr.accounts",
    "opensspr.directory",
    "opensspr.agents",
    "opensspr.audit",
    "opensspr.policy",
    "opensspr.signin",
    "opensspr.resets",
    "opensspr.portal",
    "opensspr.console",
    "opensspr.methods",
    "opensspr.registration",
    "opensspr.reports",
    "opensspr.channels",
    "opensspr.captcha",
    "opensspr.demo",
]

MIDDLEWARE = [
    # First, and async-capable: under ASGI a floored answer waits without holding a thread.
    "opensspr.core.timing.ResponseFloorMiddleware",
    "opensspr.core.concurrency.ConcurrencyLimitMiddleware",
    "opensspr.core.middleware.RequestContextMiddleware",
    "opensspr.core.metrics.MetricsMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "django.middleware.csp.ContentSecurityPolicyMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "opensspr.core.middleware.LanguageMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    # A session opened with a temporary access pass reaches security info only.
    "opensspr.registration.middleware.AccessPassSessionMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "opensspr.config.urls"
WSGI_APPLICATION = "opensspr.config.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        # The console's override of Django admin's base template (it adds our stylesheet).
        "DIRS": [PACKAGE_DIR / "console" / "overrides"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.template.context_processors.csp",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "opensspr.portal.context.site",
            ],
        },
    },
]

# --- Data stores -------------------------------------------------------------
_database_url = env.text("DATABASE_URL")
if not _database_url:  # the embedded default: SQLite in the data folder
    DATA_DIR.mkdir(parents=True, exist_ok=True)
    _database_url = f"sqlite:///{DATA_DIR / 'opensspr.sqlite3'}"
try:
    _database = dj_database_url.parse(_database_url, conn_max_age=60, conn_health_checks=True)
except ValueError as exc:
    raise ImproperlyConfigured(f"DATABASE_URL is not a database URL we understand: {exc}") from None
_engine = _database["ENGINE"]
if _engine == "django.db.backends.sqlite3":
    # Django's SQLite, with the writers of one process queued on a lock (core/sqlite/base.py).
    _database["ENGINE"] = "opensspr.core.sqlite"
    _database["CONN_MAX_AGE"] = 0
    _database["OPTIONS"] = {
        # One writer at a time, waiting instead of failing: the embedded default.
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
elif _engine != "django.db.backends.postgresql":
    raise ImproperlyConfigured(
        "DATABASE_URL must be sqlite:///path or postgres://user@host:port/name; "
        f"{_engine} is not supported."
    )
DATABASES = {"default": _database}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_URL = env.text("REDIS_URL")
if REDIS_URL:
    if urlsplit(REDIS_URL).scheme not in {"redis", "rediss", "unix"}:
        raise ImproperlyConfigured(
            f"REDIS_URL must start with redis://, rediss:// or unix://: {REDIS_URL!r}"
        )
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": "opensspr",
            "OPTIONS": {"socket_connect_timeout": 2, "socket_timeout": 2},
        }
    }
    SESSION_ENGINE = "django.contrib.sessions.backends.cache"
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    SESSION_ENGINE = "django.contrib.sessions.backends.db"
SESSION_SERIALIZER = "django.contrib.sessions.serializers.JSONSerializer"

# --- Mail ----------------------------------------------------------------------
OPENSSPR_MAIL_FROM = env.text("OPENSSPR_MAIL_FROM", "OpenSSPR <no-reply@localhost>")
DEFAULT_FROM_EMAIL = OPENSSPR_MAIL_FROM
_smtp_host = env.text("OPENSSPR_SMTP_HOST")
_smtp_security = env.text("OPENSSPR_SMTP_SECURITY", "starttls").lower()
if _smtp_security not in {"starttls", "tls", "none"}:
    raise ImproperlyConfigured("OPENSSPR_SMTP_SECURITY must be starttls, tls or none.")
if _smtp_host:
    MAILERS = {
        "default": {
            "BACKEND": "django.core.mail.backends.smtp.EmailBackend",
            "OPTIONS": {
                "host": _smtp_host,
                "port": env.integer("OPENSSPR_SMTP_PORT", 587, minimum=1, maximum=65535),
                "username": env.text("OPENSSPR_SMTP_USER"),
                "password": env.text("OPENSSPR_SMTP_PASSWORD"),
                "use_tls": _smtp_security == "starttls",
                "use_ssl": _smtp_security == "tls",
                "timeout": 10,
            },
        }
    }
else:
    MAILERS = {"default": {"BACKEND": "django.core.mail.backends.locmem.EmailBackend"}}

# --- Delivery (opensspr.channels) -------------------------------------------------
# inline: sent right after the request's transaction commits, and a background thread
# in each app process retries, expires and erases. worker: run `opensspr worker`.
OPENSSPR_DELIVERY_MODE = env.text("OPENSSPR_DELIVERY_MODE", "inline").lower()
if OPENSSPR_DELIVERY_MODE not in {"inline", "worker"}:
    raise ImproperlyConfigured("OPENSSPR_DELIVERY_MODE must be inline or worker.")
OPENSSPR_OUTBOX_PAGE = env.flag("OPENSSPR_OUTBOX_PAGE")
OPENSSPR_DELIVERY_MAX_ATTEMPTS = env.integer(
    "OPENSSPR_DELIVERY_MAX_ATTEMPTS", 8, minimum=1, maximum=50
)
OPENSSPR_PROVIDER_TIMEOUT = env.integer("OPENSSPR_PROVIDER_TIMEOUT", 10, minimum=1, maximum=60)

# Texts and calls cost money: budgets per client address and for the whole service,
# per hour (attack A4). Over budget the flow answers as usual but sends nothing.
OPENSSPR_PHONE_BUDGET_PER_IP = env.integer(
    "OPENSSPR_PHONE_BUDGET_PER_IP", 10, minimum=1, maximum=100000
)
# Every reset step (portal and API) answers no sooner than this, so the work a
# known user ID causes can't be timed apart from an unknown one (attack A1).
OPENSSPR_RESET_MIN_RESPONSE_MS = env.integer(
    "OPENSSPR_RESET_MIN_RESPONSE_MS", 150, minimum=0, maximum=5000
)
OPENSSPR_PHONE_BUDGET_GLOBAL = env.integer(
    "OPENSSPR_PHONE_BUDGET_GLOBAL", 500, minimum=1, maximum=10000000
)

# --- Identity ------------------------------------------------------------------
AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = ["opensspr.signin.backends.DirectorySessionBackend"]
# One hasher per algorithm name: it verifies argon2 hashes of any parameters (core/hashers.py).
PASSWORD_HASHERS = ["opensspr.core.hashers.OwaspArgon2PasswordHasher"]
AUTH_PASSWORD_VALIDATORS: list[dict[str, str]] = []  # our own policy engine decides
LOGIN_URL = "signin:signin"
LOGIN_REDIRECT_URL = "portal:home"

# Smart lockout (reference §5.4): threshold, first lockout, growth cap.
OPENSSPR_LOCKOUT_THRESHOLD = env.integer("OPENSSPR_LOCKOUT_THRESHOLD", 10, minimum=3, maximum=100)
OPENSSPR_LOCKOUT_SECONDS = env.integer("OPENSSPR_LOCKOUT_SECONDS", 60, minimum=5, maximum=3600)
OPENSSPR_LOCKOUT_MAX_SECONDS = env.integer(
    "OPENSSPR_LOCKOUT_MAX_SECONDS", 3600, minimum=60, maximum=86400
)
# Failed sign-ins allowed from one client address per 15 minutes (password spraying).
OPENSSPR_SIGNIN_FAILURES_PER_IP = env.integer(
    "OPENSSPR_SIGNIN_FAILURES_PER_IP", 100, minimum=10, maximum=100000
)
# How long audit events are kept before `opensspr audit prune` may delete them (sealed ones
# only; the chain keeps verifying from its new anchor). Default: a year.
OPENSSPR_AUDIT_RETENTION_DAYS = env.integer(
    "OPENSSPR_AUDIT_RETENTION_DAYS", 365, minimum=1, maximum=36500
)
# On-premises agents (docs/operators/agent.md). A job no agent takes within
# OPENSSPR_AGENT_JOB_SECONDS expires and the person is told the organisation can't be
# reached; an agent has OPENSSPR_AGENT_LEASE_SECONDS to answer a job it took (longer than
# its directory timeouts); an agent not heard from for OPENSSPR_AGENT_WINDOW_SECONDS
# counts as disconnected. Agents send a heartbeat every OPENSSPR_AGENT_HEARTBEAT_SECONDS.
OPENSSPR_AGENT_JOB_SECONDS = env.integer("OPENSSPR_AGENT_JOB_SECONDS", 120, minimum=1, maximum=900)
OPENSSPR_AGENT_LEASE_SECONDS = env.integer(
    "OPENSSPR_AGENT_LEASE_SECONDS", 60, minimum=2, maximum=600
)
OPENSSPR_AGENT_HEARTBEAT_SECONDS = env.integer(
    "OPENSSPR_AGENT_HEARTBEAT_SECONDS", 30, minimum=1, maximum=900
)
OPENSSPR_AGENT_WINDOW_SECONDS = env.integer(
    "OPENSSPR_AGENT_WINDOW_SECONDS", 90, minimum=2, maximum=3600
)
# Optional forwarding of every audit event to syslog (a SIEM): RFC 5424 with a JSON payload
# over udp://, tcp:// or tls:// (certificates checked, against OPENSSPR_AUDIT_SYSLOG_CA_FILE
# when set). The worker forwards from the database by cursor, so an outage loses nothing.
OPENSSPR_AUDIT_SYSLOG_URL = env.service_url(
    "OPENSSPR_AUDIT_SYSLOG_URL", default_ports={"udp": 514, "tcp": 601, "tls": 6514}
)
OPENSSPR_AUDIT_SYSLOG_CA_FILE = env.readable_file("OPENSSPR_AUDIT_SYSLOG_CA_FILE")
# RFC 5424 facility: 10 is authpriv (security/authorization messages); 16-23 are local0-7.
OPENSSPR_AUDIT_SYSLOG_FACILITY = env.integer(
    "OPENSSPR_AUDIT_SYSLOG_FACILITY", 10, minimum=0, maximum=23
)
# The HOSTNAME field; unset: this machine's host name.
OPENSSPR_AUDIT_SYSLOG_HOSTNAME = env.text("OPENSSPR_AUDIT_SYSLOG_HOSTNAME")
# An administrator's temporary password works for this long (ASVS 6.4.1: short-lived).
OPENSSPR_TEMPORARY_PASSWORD_HOURS = env.integer(
    "OPENSSPR_TEMPORARY_PASSWORD_HOURS", 72, minimum=1, maximum=720
)
# A password-change-required sign-in must finish the change within this window.
OPENSSPR_PENDING_CHANGE_SECONDS = 600

# --- Browser hardening -----------------------------------------------------------
SESSION_COOKIE_SECURE = _https
CSRF_COOKIE_SECURE = _https
SESSION_COOKIE_NAME = "__Host-opensspr-session" if _https else "opensspr-session"
CSRF_COOKIE_NAME = "__Host-opensspr-csrf" if _https else "opensspr-csrf"
# The familiar-device cookie a sign-in leaves (signin.devices); HttpOnly, Lax, 90 days.
OPENSSPR_DEVICE_COOKIE_NAME = "__Host-opensspr-device" if _https else "opensspr-device"
SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"
SESSION_COOKIE_AGE = env.integer(
    "OPENSSPR_SESSION_SECONDS", 8 * 3600, minimum=300, maximum=86400 * 14
)
SESSION_EXPIRE_AT_BROWSER_CLOSE = True
SECURE_CONTENT_TYPE_NOSNIFF = True
# "same-origin", not "no-referrer": no referrer ever leaves the site, but browsers
# send `Origin: null` on form posts under "no-referrer", which CSRF origin checks
# (rightly) refuse. Found by the browser tests; see docs/operators/configuration.md.
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
CSRF_FAILURE_VIEW = "opensspr.core.views.csrf_failure"
SECURE_SSL_REDIRECT = _https and env.flag("OPENSSPR_SSL_REDIRECT", True)
SECURE_HSTS_SECONDS = 31536000 if _https else 0
SECURE_HSTS_INCLUDE_SUBDOMAINS = _https
SECURE_CSP = {
    "default-src": [CSP.SELF],
    "script-src": [CSP.SELF, CSP.NONCE],
    "style-src": [CSP.SELF],
    "img-src": [CSP.SELF, "data:"],
    "object-src": [CSP.NONE],
    "base-uri": [CSP.NONE],
    "form-action": [CSP.SELF],
    "frame-ancestors": [CSP.NONE],
}

# --- Localisation ----------------------------------------------------------------
LANGUAGE_CODE = "en"
LANGUAGES = [("en", _("English")), ("nl", _("Dutch"))]
LOCALE_PATHS = [PACKAGE_DIR / "locale"]
USE_I18N = True
# One date-and-time format per language, with the time zone (opensspr/core/formats).
FORMAT_MODULE_PATH = ["opensspr.core.formats"]
TIME_ZONE = env.text("OPENSSPR_TIME_ZONE", "UTC")
USE_TZ = True

# --- Static files ------------------------------------------------------------------
STATIC_URL = "/static/"
# WhiteNoise serves straight from the package (finders); collectstatic is optional.
STATIC_ROOT = env.text("OPENSSPR_STATIC_ROOT") or None
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = DEBUG

# --- Operations ----------------------------------------------------------------------
OPENSSPR_METRICS_TOKEN = env.text("OPENSSPR_METRICS_TOKEN")
_log_format = env.text("OPENSSPR_LOG_FORMAT", "text").lower()
if _log_format not in {"text", "json"}:
    raise ImproperlyConfigured("OPENSSPR_LOG_FORMAT must be text or json.")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"request_context": {"()": "opensspr.core.logging.RequestContextFilter"}},
    "formatters": {
        "text": {"()": "opensspr.core.logging.SafeTextFormatter"},
        "json": {"()": "opensspr.core.logging.JsonFormatter"},
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": _log_format,
            "filters": ["request_context"],
        }
    },
    "root": {"handlers": ["console"], "level": env.text("OPENSSPR_LOG_LEVEL", "INFO").upper()},
    "loggers": {
        "django.security": {"level": "INFO"},
        "django.server": {"level": "WARNING"},
    },
}
