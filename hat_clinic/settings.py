"""Settings for the HAT clinic system, read from the environment.

Local defaults are safe and need no servers: SQLite, Celery on kombu's
``filesystem://`` transport, DEBUG on. With ``DEBUG=false`` nothing secret
has a default: a missing ``SECRET_KEY`` stops the start-up.
"""

import ipaddress
from datetime import timedelta
from pathlib import Path

from django.core.exceptions import ImproperlyConfigured
from environs import Env

BASE_DIR = Path(__file__).resolve().parent.parent

env = Env()
env.read_env(BASE_DIR / ".env", recurse=False)

# Run-time files (the SQLite database, the embedded broker's queue, beat's
# schedule, uploaded photos) live in one ignored folder.
VAR_DIR = Path(env.str("HAT_VAR_DIR", str(BASE_DIR / "var")))
VAR_DIR.mkdir(parents=True, exist_ok=True)

DEBUG = env.bool("DEBUG", True)

if DEBUG:
    SECRET_KEY = env.str("SECRET_KEY", "insecure-local-development-key-never-used-in-production")
else:
    SECRET_KEY = env.str("SECRET_KEY", "")
    if len(SECRET_KEY) < 50:
        raise ImproperlyConfigured(
            "SECRET_KEY must be set to a random string of at least 50 characters when "
            "DEBUG is off. Generate one with: python -c "
            "'import secrets; print(secrets.token_urlsafe(64))'"
        )

ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", ["127.0.0.1", "localhost"] if DEBUG else [])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", [])

# The project's own packages, from the bottom layer to the top (docs/architecture.md):
# core (refusals, audit, roles, the append-only registry, installed after every
# migrate), then the apps, then hat_clinic, the wiring, for project-wide commands.
PROJECT_APPS = ["core", "eligibility", "alerts", "dosing", "monitoring", "hat_clinic"]

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "rest_framework",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_htmx",
    # django-csp, for its system checks of CONTENT_SECURITY_POLICY.
    "csp",
    "simple_history",
    "axes",
    # The second factor (issue 16.2): an authenticator app, and one-time recovery codes.
    "django_otp",
    "django_otp.plugins.otp_totp",
    "django_otp.plugins.otp_static",
    *PROJECT_APPS,
]

MIDDLEWARE = [
    # Outermost, so that it sees every error answer under /api/, from any layer.
    "hat_clinic.middleware.ApiErrorsAsJsonMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    # After whitenoise, which answers static files itself with their long cache.
    "hat_clinic.middleware.NoStoreMiddleware",
    # Content-Security-Policy on every answer (CONTENT_SECURITY_POLICY below).
    "csp.middleware.CSPMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # Says whether this session passed the second factor (request.user.is_verified()).
    "django_otp.middleware.OTPMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "hat_clinic.middleware.SessionLifetimeMiddleware",
    # After the session's lifetime: an ended session goes to the login page first.
    "hat_clinic.middleware.SecondFactorMiddleware",
    "hat_clinic.middleware.LoginRequiredMiddleware",
    "hat_clinic.middleware.CurrentClinicMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "simple_history.middleware.HistoryRequestMiddleware",
    # Axes must come last: it turns a lockout raised during login into a response.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "hat_clinic.urls"
WSGI_APPLICATION = "hat_clinic.wsgi.application"

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
                "hat_clinic.context_processors.clinic_navigation",
            ],
        },
    },
]

# Database: SQLite by default; PostgreSQL (or another) through DATABASE_URL.
DATABASES = {
    "default": env.dj_db_url(
        "DATABASE_URL", f"sqlite:///{VAR_DIR / 'hat_clinic.sqlite3'}", conn_max_age=60
    )
}
# PostgreSQL in production runs the app as a role that owns no table (README,
# "Database roles"): migrate, as the owner, grants this role what it may do, and no
# UPDATE, DELETE or TRUNCATE on append-only tables (core.append_only).
DATABASE_APP_ROLE = env.str("DATABASE_APP_ROLE", "")
# The owner, for emptying a database whose app role owns nothing (tests: manage.py flush).
DATABASE_OWNER_URL = env.str("DATABASE_OWNER_URL", "")
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # A file, not memory, for the test database too: the test that starts a real
    # Celery worker process needs to see the same rows as the test itself.
    DATABASES["default"]["TEST"] = {"NAME": str(VAR_DIR / "test_hat_clinic.sqlite3")}
    # The web app, the worker and beat share the file. IMMEDIATE takes the write lock
    # at BEGIN, so two writers queue (up to the timeout) instead of deadlocking on a
    # read-to-write upgrade; WAL lets readers carry on while one writes.
    DATABASES["default"]["OPTIONS"] = {
        "timeout": 20,
        "transaction_mode": "IMMEDIATE",
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
    DATABASES["default"]["CONN_MAX_AGE"] = 0

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": 10},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
AUTHENTICATION_BACKENDS = [
    # Axes first, so a locked-out username and address is refused before the
    # password is even checked.
    "axes.backends.AxesStandaloneBackend",
    # Django's ModelBackend for the password; permissions from the roles held in the
    # clinic a request acts in (issue 18.1).
    "eligibility.permissions.ClinicRoleBackend",
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

# Reverse proxies whose X-Forwarded-For is believed (addresses or networks): the
# client's address is then the nearest untrusted one in it (hat_clinic.network).
try:
    TRUSTED_PROXIES = [
        ipaddress.ip_network(value, strict=False) for value in env.list("TRUSTED_PROXIES", [])
    ]
except ValueError as error:
    raise ImproperlyConfigured(
        f"TRUSTED_PROXIES must be IP addresses or networks, comma-separated: {error}"
    ) from error
AXES_CLIENT_IP_CALLABLE = "hat_clinic.network.client_ip"

# Login lockout: by username and address together, so one person mistyping on
# a shared dosing-room PC does not lock out the whole clinic behind one IP, and an
# outsider can lock a username only for their own address.
AXES_FAILURE_LIMIT = env.int("AXES_FAILURE_LIMIT", 5)
AXES_COOLOFF_TIME = timedelta(minutes=env.int("AXES_COOLOFF_MINUTES", 30))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"
AXES_RESET_ON_SUCCESS = True
AXES_HTTP_RESPONSE_CODE = 429
AXES_VERBOSE = False
# Every member of staff logs in with a second factor: a code from an authenticator app
# (TOTP), or one of their one-time recovery codes. TWO_FACTOR_REQUIRED=false skips it
# for development only; it is refused when DEBUG is off.
TWO_FACTOR_REQUIRED = env.bool("TWO_FACTOR_REQUIRED", True)
if not TWO_FACTOR_REQUIRED and not DEBUG:
    raise ImproperlyConfigured(
        "TWO_FACTOR_REQUIRED=false is for development only and is refused with DEBUG off: "
        "every member of staff must log in with a second factor."
    )
# The name an authenticator app shows beside the code.
OTP_TOTP_ISSUER = env.str("TWO_FACTOR_ISSUER", "HAT clinic")
RECOVERY_CODE_COUNT = 10
# Integration tokens: this many unknown or revoked keys from one address within the
# window, and that address gets 429 until the window has passed.
TOKEN_FAILURE_LIMIT = env.int("TOKEN_FAILURE_LIMIT", 10)
TOKEN_FAILURE_WINDOW = timedelta(minutes=env.int("TOKEN_FAILURE_WINDOW_MINUTES", 15))

# Sessions end after 30 minutes without activity and after 12 hours in all, whatever
# the activity (SessionLifetimeMiddleware, which says which on the login page). An
# automatic request (the board's poll) is not activity. The stored session itself
# lasts the 12 hours, so that the middleware, not an empty session, ends it.
SESSION_IDLE = timedelta(minutes=env.int("SESSION_IDLE_MINUTES", 30))
SESSION_ABSOLUTE_LIFETIME = timedelta(hours=env.int("SESSION_MAX_HOURS", 12))
SESSION_COOKIE_AGE = int(SESSION_ABSOLUTE_LIFETIME.total_seconds())
SESSION_SAVE_EVERY_REQUEST = False

# How long a one-time link to set a password (a manager's invitation or reset) works.
STAFF_LINK_LIFETIME = timedelta(hours=env.int("STAFF_LINK_HOURS", 72))
SESSION_EXPIRE_AT_BROWSER_CLOSE = True

LANGUAGE_CODE = "en-gb"
TIME_ZONE = env.str("TIME_ZONE", "Europe/London")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = Path(env.str("STATIC_ROOT", str(VAR_DIR / "static")))
STATIC_ROOT.mkdir(parents=True, exist_ok=True)
STATICFILES_DIRS = [BASE_DIR / "static"]
MEDIA_URL = "media/"
MEDIA_ROOT = Path(env.str("MEDIA_ROOT", str(VAR_DIR / "media")))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG
            else "whitenoise.storage.CompressedManifestStaticFilesStorage"
        )
    },
}

EMAIL_BACKEND = env.str("EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend")
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", "hat-clinic@localhost")
# The address staff reach the clinic at, for links in alert e-mails.
SITE_URL = env.str("SITE_URL", "http://localhost:8000")

# A change's reason is a clinician's words (a withhold note, a decision's reason):
# never cut to 100 characters, nor refused by PostgreSQL for being longer.
SIMPLE_HISTORY_HISTORY_CHANGE_REASON_USE_TEXT_FIELD = True

# Celery: Redis when REDIS_URL is given, otherwise a real worker on kombu's
# filesystem transport so that the default run needs no server at all.
REDIS_URL = env.str("REDIS_URL", "")
CELERY_BROKER_URL = REDIS_URL or "filesystem://"
CELERY_BROKER_FOLDER = VAR_DIR / "broker"
if not REDIS_URL:
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(CELERY_BROKER_FOLDER / "queue"),
        "data_folder_out": str(CELERY_BROKER_FOLDER / "queue"),
        "processed_folder": str(CELERY_BROKER_FOLDER / "processed"),
        # Without this kombu writes its exchange table to ./control in the checkout.
        "control_folder": str(CELERY_BROKER_FOLDER / "control"),
        "store_processed": False,
    }
    for folder in ("queue", "processed", "control"):
        (CELERY_BROKER_FOLDER / folder).mkdir(parents=True, exist_ok=True)
CELERY_TASK_IGNORE_RESULT = True
CELERY_TIMEZONE = TIME_ZONE
CELERY_ENABLE_UTC = True
CELERY_TASK_ACKS_LATE = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", False)

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.SessionAuthentication",
        "hat_clinic.authentication.IntegrationTokenAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    # DRF's, refusing a body nested too deeply with a 400 (core.api.JSONParser).
    "DEFAULT_PARSER_CLASSES": ["core.api.JSONParser"],
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.PageNumberPagination",
    "PAGE_SIZE": 50,
    # django-filter, with record choices limited to the caller's clinics.
    "DEFAULT_FILTER_BACKENDS": ["core.api.ScopedFilterBackend"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "core.api.exception_handler",
    "COERCE_DECIMAL_TO_STRING": True,
}
SPECTACULAR_SETTINGS = {
    "TITLE": "HAT clinic API",
    "DESCRIPTION": "Heroin-Assisted Treatment clinic system: the REST face of its services.",
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    "SERVE_PERMISSIONS": ["rest_framework.permissions.IsAuthenticated"],
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # One name for a choice set used by fields of different names (route, routes).
    "ENUM_NAME_OVERRIDES": {
        # Two "route" fields: an injection's, and a take-home dose's (by mouth too).
        "RouteEnum": "dosing.models.Route",
        "TakeHomeRouteEnum": "dosing.models.TakeHomeRoute",
        # Two "decision" fields: a review's outcome and a referral's.
        "ReviewDecisionEnum": "dosing.models.ReviewDecision",
        "ReferralDecisionEnum": "eligibility.models.ReferralDecision",
        # Three "kind" fields: an alert's, a suspension's and an exit's.
        "AlertKindEnum": "alerts.models.AlertKind",
        "SuspensionKindEnum": "dosing.models.Suspension.Kind",
        "ExitKindEnum": "dosing.models.ExitKind",
    },
}

# A strict Content-Security-Policy (django-csp; issue 16.7): scripts, styles, fonts
# and fetches only from this site, no inline script, event handler or style
# attribute, no eval. Pages pass data to their scripts with json_script and attach
# behaviour from static/js/clinic.js by data attributes. data: images are for
# Bootstrap's own CSS (the arrows of selects, the ticks of checkboxes).
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "font-src": ["'self'"],
        "connect-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    },
}

SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"
SESSION_COOKIE_HTTPONLY = True
if not DEBUG:
    SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", True)
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", 31536000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True

# Passwords, keys and tokens are hidden from error reports with DEBUG on as well as off.
DEFAULT_EXCEPTION_REPORTER_FILTER = "hat_clinic.reporting.ReporterFilter"

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", "INFO")},
    "loggers": {
        "django.db.backends": {"level": "INFO"},
        # Axes logs every attempt at INFO; failures and lockouts are WARNING and kept.
        "axes": {"level": env.str("AXES_LOG_LEVEL", "WARNING")},
    },
}
