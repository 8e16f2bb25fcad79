"""Settings, read from the environment (django-environ). The README lists every variable."""

from datetime import timedelta
from pathlib import Path

import environ
from csp.constants import NONCE, NONE, SELF
from django.core.exceptions import ImproperlyConfigured
from django.core.management.utils import get_random_secret_key

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = BASE_DIR / "var"

env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

DEBUG = env.bool("DEBUG", default=False)


def _secret_key() -> str:
    """A real key must come from the environment; only debug mode may make one up."""
    key = env.str("SECRET_KEY", default="")
    if key:
        return key
    if not DEBUG:
        raise ImproperlyConfigured("SECRET_KEY must be set when DEBUG is off.")
    # Persisted so sessions survive restarts and every local worker agrees.
    path = VAR_DIR / "secret_key"
    if not path.exists():
        VAR_DIR.mkdir(parents=True, exist_ok=True)
        path.write_text(get_random_secret_key())
    return path.read_text().strip()


SECRET_KEY = _secret_key()
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

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
    "corsheaders",
    "guardian",
    "django_celery_beat",
    "axes",
    "csp",
    "tenancy",
    "segments",
    "content",
    "analytics",
    "experiments",
    "delivery",
    "personalize",
]

MIDDLEWARE = [
    "delivery.middleware.ApiFastPathMiddleware",  # delivery API: API_MIDDLEWARE only
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",  # the admin's language (Accept-Language)
    "corsheaders.middleware.CorsMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    "axes.middleware.AxesMiddleware",  # answers locked-out logins
    "delivery.middleware.PersonalizeCookiesMiddleware",  # the template tag's visitor and arms
    "delivery.middleware.ApiFastPathEnd",
]
# The key-authenticated delivery endpoints use no session, messages, CSRF or admin auth.
API_MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "corsheaders.middleware.CorsMiddleware",
]

ROOT_URLCONF = "personalize.urls"
WSGI_APPLICATION = "personalize.wsgi.application"

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
                "personalize.scheduler.status.scheduler_status_context",
            ],
        },
    },
]

DATABASES = {"default": env.db("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}")}
DATABASES["default"]["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=60)
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    DATABASES["default"].setdefault("OPTIONS", {})["timeout"] = 20
    # Writers take the lock when their transaction starts: a read transaction that later
    # writes would otherwise fail at once with "database is locked" under concurrency.
    DATABASES["default"]["OPTIONS"].setdefault("transaction_mode", "IMMEDIATE")
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_URL = env.str("REDIS_URL", default="")
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": env.str("CACHE_KEY_PREFIX", default="personalize"),
            # Short timeouts: delivery fails open when Redis is down or stalled
            # (tenancy.cache), so a slow Redis must cost milliseconds, not seconds.
            "OPTIONS": {
                "socket_connect_timeout": env.float("CACHE_CONNECT_TIMEOUT", default=0.25),
                "socket_timeout": env.float("CACHE_TIMEOUT", default=0.25),
            },
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",  # first: refuses locked-out logins
    "django.contrib.auth.backends.ModelBackend",
    "guardian.backends.ObjectPermissionBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
GUARDIAN_RAISE_403 = True
ANONYMOUS_USER_NAME = None  # no guardian anonymous user: anonymous visitors use API keys

LANGUAGE_CODE = "en-us"
# The admin and the segment builder speak these (locale/<code>/LC_MESSAGES/django.po, compiled
# .mo committed: `make messages` regenerates both). The browser's language picks one.
LANGUAGES = [("en", "English"), ("fr", "Français")]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if not DEBUG
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}

# --- security (production values make `check --deploy` clean) ---
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=not DEBUG)
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_REDIRECT_EXEMPT = [r"^healthz/$", r"^readyz/$"]
SESSION_COOKIE_SECURE = not DEBUG
CSRF_COOKIE_SECURE = not DEBUG
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=0 if DEBUG else 31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = not DEBUG
SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=not DEBUG)
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"
# Only the app's own scripts run (inline ones need the request's nonce); inline styles are
# allowed for the admin's and Swagger UI's style attributes.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF, NONCE],
        "style-src": [SELF, "'unsafe-inline'"],
        "img-src": [SELF, "data:"],
        "connect-src": [SELF],
        "object-src": [NONE],
        "base-uri": [SELF],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
    }
}

# --- admin login throttling (django-axes): lock a username + client IP after failures ---
AXES_FAILURE_LIMIT = env.int("AXES_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = timedelta(minutes=env.float("AXES_COOLOFF_MINUTES", default=15))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_VERBOSE = False  # no start-up banner in every manage.py command
AXES_CLIENT_IP_CALLABLE = "personalize.client_ip.client_ip"
# Proxies in front of gunicorn that append to X-Forwarded-For (nginx: 1); 0 = REMOTE_ADDR.
PERSONALIZE_TRUSTED_PROXY_COUNT = env.int("TRUSTED_PROXY_COUNT", default=0)

# --- CORS: per-site origins are checked by delivery.cors (see docs/api.md) ---
CORS_URLS_REGEX = r"^/api/v1/(decide|events)/?$"
CORS_ALLOW_HEADERS = ["authorization", "content-type"]

# --- REST framework ---
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_FILTER_BACKENDS": ["tenancy.api.filtering.SiteScopedFilterBackend"],
    "DEFAULT_PARSER_CLASSES": [
        "tenancy.api.parsers.StrictJSONParser",
        "tenancy.api.parsers.StrictFormParser",
        "tenancy.api.parsers.StrictMultiPartParser",
    ],
    "DEFAULT_PAGINATION_CLASS": "tenancy.api.pagination.BoundedLimitOffsetPagination",
    "PAGE_SIZE": 50,
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "tenancy.api.errors.exception_handler",
    "DEFAULT_THROTTLE_RATES": {
        "api_key": env.str("API_KEY_THROTTLE_RATE", default="6000/min"),
        "management": env.str("MANAGEMENT_API_THROTTLE_RATE", default="600/min"),
    },
    # The management API, per user (per client IP before login); delivery views and
    # whoami declare their own per-key throttle.
    "DEFAULT_THROTTLE_CLASSES": ["tenancy.api.throttling.ManagementRateThrottle"],
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Personalize API",
    "DESCRIPTION": "Audience segmentation, targeted content and delivery.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "tenancy.api.errors.document_error_responses",
        "delivery.schema.document_delivery_rules",
        # Tags (delivery first) and the Api-Key scheme's description: delivery/schema.py.
        "delivery.schema.group_operations_by_tag",
    ],
    # Several models have a `kind` or `status`; name each enum after its choices class.
    "ENUM_NAME_OVERRIDES": {
        "ApiKeyKindEnum": "tenancy.models.ApiKeyKind",
        "EventKindEnum": "segments.models.people.EventKind",
        "FieldTypeEnum": "segments.models.catalog.FieldType",
        "SegmentKindEnum": "segments.models.segment.SegmentKind",
        "SegmentStatusEnum": "segments.models.segment.SegmentStatus",
        "StaticSourceEnum": "segments.models.segment.StaticSource",
        "PlacementKindEnum": "content.models.slots.PlacementKind",
        "SlotKindEnum": "content.models.slots.SlotKind",
        "ScheduleActionEnum": "content.models.schedules.ScheduleAction",
        "ScheduleStatusEnum": "content.models.schedules.ScheduleStatus",
        "MetricKindEnum": "analytics.models.MetricKind",
        "CapKindEnum": "analytics.models.CapKind",
        "AuditActionEnum": "content.models.audit.AuditAction",
        "UploadModeEnum": "segments.services.static.UPLOAD_MODES",
        "SegmentJobKindEnum": "segments.models.jobs.SegmentJobKind",
        "SegmentJobStatusEnum": "segments.models.jobs.SegmentJobStatus",
        "SegmentJobPhaseEnum": "segments.models.jobs.SegmentJobPhase",
        "ExperimentStatusEnum": "experiments.models.ExperimentStatus",
        "ExperimentModeEnum": "experiments.models.ExperimentMode",
        "ExperimentMethodEnum": "experiments.models.ExperimentMethod",
        "PlanSourceEnum": "experiments.api.serializers.PLAN_SOURCES",
        "MetricRoleEnum": "experiments.models.MetricRole",
    },
    "APPEND_COMPONENTS": {
        "securitySchemes": {
            "ApiKeyAuth": {
                "type": "apiKey",
                "in": "header",
                "name": "Authorization",
            }
        }
    },
}

# --- Celery: eager when there is no broker ---
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default="")
CELERY_TASK_ALWAYS_EAGER = not CELERY_BROKER_URL
# Eager tasks write in web workers: refused with DEBUG off (check delivery.E001) unless allowed.
CELERY_ALLOW_EAGER = env.bool("CELERY_ALLOW_EAGER", default=DEBUG)
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_RESULT_BACKEND = env.str("CELERY_RESULT_BACKEND", default="") or None
CELERY_TASK_IGNORE_RESULT = CELERY_RESULT_BACKEND is None
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
CELERY_TIMEZONE = "UTC"
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# Durable tasks (personalize/celery.py, docs/deployment.md): a message is acknowledged after
# its task ran and requeued when the process running it dies, so a killed worker loses
# nothing (the tasks are idempotent: a redelivered message changes nothing twice).
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
# When the broker connection drops, stop the tasks in progress: their messages are
# redelivered anyway, and this avoids running the same message twice at once.
CELERY_WORKER_CANCEL_LONG_RUNNING_TASKS_ON_CONNECTION_LOSS = True
CELERY_BEAT_SCHEDULE = {
    # Scheduled publishing and unpublishing (content/tasks.py).
    "content-run-due-schedules": {"task": "content.run_due_schedules", "schedule": 60.0},
    # Analytics (analytics/tasks.py): fold new events into the rollups; retention purge.
    "analytics-refresh-rollups": {"task": "analytics.refresh_rollups", "schedule": 300.0},
    "analytics-purge-expired": {"task": "analytics.purge_expired", "schedule": 3600.0 * 6},
    # Predictive traits (analytics/predictive): retrain daily, then refresh profiles' scores.
    "analytics-train-predictive-models": {
        "task": "analytics.train_predictive_models",
        "schedule": 3600.0 * 24,
    },
    # Behavioural counters (segments/tasks.py): resume interrupted backfills.
    "segments-counters-backfill": {
        "task": "segments.counters_backfill_pending",
        "schedule": 300.0,
    },
    # Week-old segment upload/export jobs and their files (segments/tasks.py).
    "segments-purge-jobs": {"task": "segments.purge_jobs", "schedule": 3600.0 * 6},
    # Experiments (experiments/tasks.py): results rollups; bandits' batch weight updates.
    "experiments-refresh-rollups": {"task": "experiments.refresh_rollups", "schedule": 300.0},
    "experiments-bandit-batches": {"task": "experiments.bandit_batches", "schedule": 3600.0},
    # Assignments and policy decisions older than each site's retention (as analytics').
    "experiments-purge-expired": {"task": "experiments.purge_expired", "schedule": 3600.0 * 6},
    # Optimizations (experiments/tasks.py): train, gate and keep a model version when due.
    "experiments-train-optimizations": {
        "task": "experiments.train_optimizations",
        "schedule": 600.0,
    },
}
# Without a broker there is no beat: `runserver` runs the schedule above itself (debug only
# by default; personalize/scheduler/embedded.py).
EMBEDDED_SCHEDULER = env.bool("EMBEDDED_SCHEDULER", default=DEBUG and not CELERY_BROKER_URL)

# --- Personalize ---
PERSONALIZE_GEOIP_PATH = env.str("GEOIP_PATH", default="")
PERSONALIZE_READINESS_TIMEOUT = env.float("READINESS_TIMEOUT", default=2.0)
# How long a rotated API key keeps working beside its successor (tenancy.services).
PERSONALIZE_KEY_ROTATION_WINDOW_HOURS = env.float("API_KEY_ROTATION_WINDOW_HOURS", default=24.0)
# After a Redis or broker failure, each process skips it for this many seconds
# (tenancy.failopen), so an outage costs one timeout per interval, not one per request.
PERSONALIZE_FAILOPEN_RETRY_INTERVAL = env.float("FAILOPEN_RETRY_INTERVAL", default=5.0)
# The site the `{% personalize %}` template tag decides for when none is named.
PERSONALIZE_SITE = env.str("PERSONALIZE_SITE", default="")
# The /demo/ page: on in debug mode, or when asked for.
PERSONALIZE_DEMO = env.bool("PERSONALIZE_DEMO", default=DEBUG)
# The demo keys' plaintext, kept so `make run` prints the same working keys every time.
PERSONALIZE_DEMO_KEYS_FILE = env.str(
    "PERSONALIZE_DEMO_KEYS_FILE", default=str(VAR_DIR / "demo_keys.json")
)
PERSONALIZE_VISITOR_COOKIE = env.str("PERSONALIZE_VISITOR_COOKIE", default="pz_vid")
# Known visitors' visits are buffered per process and written this often (delivery.visit_buffer).
PERSONALIZE_VISIT_FLUSH_SECONDS = env.float("VISIT_FLUSH_SECONDS", default=1.0)
# Snapshots kept per process (delivery.snapshot): least recently used sites are dropped.
PERSONALIZE_SNAPSHOT_CACHE_SITES = env.int("SNAPSHOT_CACHE_SITES", default=1000)
PERSONALIZE_SNAPSHOT_CACHE_MB = env.int("SNAPSHOT_CACHE_MB", default=512)

# --- logging: JSON lines in production, plain text in debug ---
LOG_FORMAT = env.str("LOG_FORMAT", default="text" if DEBUG else "json")
LOG_LEVEL = env.str("LOG_LEVEL", default="INFO")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "json": {
            "()": "pythonjsonlogger.json.JsonFormatter",
            "fmt": "%(asctime)s %(levelname)s %(name)s %(message)s",
            "rename_fields": {"asctime": "time", "levelname": "level", "name": "logger"},
        },
        "text": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"},
    },
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": LOG_FORMAT}},
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {"django.db.backends": {"level": "WARNING"}},
}
