"""Settings for Izonie Support.

The embedded default (SQLite in WAL mode, in-memory channel layer, database task
queue worked in-process) is the base; environment variables switch to PostgreSQL
(``DATABASE_URL``) and Redis (``REDIS_URL``). The support policy itself is not a
setting: settings only say which policy file to load.
"""

import datetime as dt
from pathlib import Path

import dj_database_url
from corsheaders.defaults import default_headers as default_cors_headers
from csp.constants import NONE, SELF
from django.core.management.utils import get_random_secret_key

from config.env import env_bool, env_float, env_int, env_list, env_str

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(env_str("IZONIE_VAR_DIR", str(BASE_DIR / "var")))

DEBUG = env_bool("DJANGO_DEBUG", default=False)
# No built-in key: anyone who knows the key forges rating links, chat resume tokens and
# sessions. With DEBUG off a missing key stops the servers at start-up (core.security);
# settings still load without one, so makemigrations, collectstatic and mypy need no secret.
# scripts/demo makes a random key once and keeps it under var/.
SECRET_KEY = env_str("DJANGO_SECRET_KEY")
if not SECRET_KEY and DEBUG:
    # Development only: a key of this process, so signed links die with it.
    SECRET_KEY = get_random_secret_key()

ALLOWED_HOSTS = env_list("DJANGO_ALLOWED_HOSTS", ["127.0.0.1", "localhost", "[::1]", "testserver"])
CSRF_TRUSTED_ORIGINS = env_list("DJANGO_CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django.contrib.sitemaps",
    "ninja",  # its Swagger UI from our own static files, not a CDN
    "channels",
    "corsheaders",
    "django_htmx",
    "django_tasks",
    "django_tasks_db",
    "core",
    "policy",
    "accounts",
    "marketplace",
    "tickets",
    "sla",
    "notifications",
    "mail",
    "chat",
    "triage",
    "console",
    "portal",
    "helpcenter",
    "conduct",
    "feedback",
    "disputes",
    "workload",
    "macros",
    "social",
    "reports",
    "dataprotection",
    "monitoring",
    "django_prometheus",
    "identity",
    # Staff accounts (docs/security/staff-accounts.md): lockout, two-factor devices.
    "axes",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "django_otp.plugins.otp_static",
]

MIDDLEWARE = [
    # Request counts and latencies per view for Prometheus (django-prometheus): the first
    # and the last middleware, so they time everything in between.
    "django_prometheus.middleware.PrometheusBeforeMiddleware",
    # Before the others, so that answers made early (preflights, redirects) carry CORS headers.
    "corsheaders.middleware.CorsMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "csp.middleware.CSPMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # After authentication: a key belongs to the signed-in user or the API token.
    "core.idempotency.IdempotencyMiddleware",
    # Which two-factor device (if any) verified this session: request.user.is_verified().
    "django_otp.middleware.OTPMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    # Staff sessions: signed out when idle too long, then held at the second factor.
    "accounts.middleware.StaffIdleTimeoutMiddleware",
    "accounts.middleware.StaffTwoFactorMiddleware",
    # Presence for ticket work: a console request opens or refreshes the agent's shift.
    "workload.middleware.ShiftSeenMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "django_prometheus.middleware.PrometheusAfterMiddleware",
    # Last, as django-axes asks: it turns a locked-out sign-in into the 429 page.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "config.urls"
ASGI_APPLICATION = "config.asgi.application"
WSGI_APPLICATION = None

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
                "core.context_processors.site",
            ],
        },
    },
]

# --- Database: SQLite (WAL) by default, anything dj-database-url reads otherwise.
SQLITE_PATH = VAR_DIR / "izonie.sqlite3"
# Every SQLite database gets these, the embedded default and a `sqlite:///` DATABASE_URL
# alike (dj-database-url sets no options: such a file ran in rollback-journal mode with
# synchronous=FULL, four fsyncs and a journal file created and deleted per commit, and
# without the busy timeout its writers failed with "database is locked").
SQLITE_OPTIONS = {
    # WAL lets the web process read while the worker writes, and a commit costs no fsync
    # (synchronous=NORMAL: the WAL is synced at checkpoints; a power cut may lose the last
    # commits, never corrupt the file). IMMEDIATE takes the write lock at BEGIN, so
    # concurrent writers wait (busy timeout) instead of failing with "database is locked".
    "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    "transaction_mode": "IMMEDIATE",
    "timeout": 20,
}
DATABASE_URL = env_str("DATABASE_URL")
if DATABASE_URL:
    DATABASES = {"default": dj_database_url.parse(DATABASE_URL, conn_max_age=60)}
    if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
        DATABASES["default"]["OPTIONS"] = {
            **SQLITE_OPTIONS,
            **DATABASES["default"].get("OPTIONS", {}),
        }
else:
    # The embedded default keeps its database (and uploads) under var/.
    VAR_DIR.mkdir(parents=True, exist_ok=True)
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": str(SQLITE_PATH),
            # Kept open by the web process's threads (config.asgi): opening one costs more than
            # the query it would serve.
            "CONN_MAX_AGE": 600,
            "OPTIONS": dict(SQLITE_OPTIONS),
            # A file, not the shared-cache in-memory database: tests that run the worker
            # or a live server in another thread then see WAL behaviour, as production does.
            "TEST": {"NAME": str(VAR_DIR / "test-izonie.sqlite3")},
        }
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_USER_MODEL = "accounts.User"
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "core:home"
LOGOUT_REDIRECT_URL = "core:home"
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]

LANGUAGE_CODE = "en"
USE_I18N = True
USE_TZ = True
# Stored instants are UTC; pages show them in the support team's time zone (from
# the policy) and in the viewer's own time zone.
TIME_ZONE = "UTC"

STATIC_URL = "/static/"
STATIC_ROOT = VAR_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
MEDIA_URL = "/media/"
MEDIA_ROOT = Path(env_str("IZONIE_MEDIA_ROOT", str(VAR_DIR / "media")))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
WHITENOISE_USE_FINDERS = True

# --- Real-time: in-memory channel layer, Redis when REDIS_URL is set.
REDIS_URL = env_str("REDIS_URL")
# Frames waiting per socket before the layer drops new ones. The default (100) is too
# small for an agent's console: while it handles one chat, the frames of all its other
# chats queue up, and a dropped "offer" left chats unanswered in the load benchmark.
CHANNEL_CAPACITY = env_int("IZONIE_CHANNEL_CAPACITY", 2000)
if REDIS_URL:
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            "CONFIG": {
                # A socket waiting for a frame blocks in BZPOPMIN for 5 s at a time; redis-py
                # 8 gives up reading after 5 s by default too, so every idle socket died
                # with TimeoutError after exactly 5 s. Reads may now take 30 s (tested idle).
                "hosts": [{"address": REDIS_URL, "socket_timeout": 30, "socket_keepalive": True}],
                "capacity": CHANNEL_CAPACITY,
            },
        }
    }
else:
    CHANNEL_LAYERS = {
        "default": {
            # Channels' own, with its expiry sweep amortised (see chat/layers.py).
            "BACKEND": "chat.layers.InMemoryChannelLayer",
            "CONFIG": {"capacity": CHANNEL_CAPACITY},
        }
    }

# --- Cache: per process by default, shared in Redis when REDIS_URL is set.
if REDIS_URL:
    CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

# --- Background work: Django's tasks API (django-tasks backport), database backend.
TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend", "QUEUES": ["default"]}}
# A task still RUNNING this long after it started lost its worker (killed mid-task) and is
# queued again (core.task_recovery); no task here takes more than a few minutes.
IZONIE_TASK_ABANDONED_AFTER_SECONDS = env_int("IZONIE_TASK_ABANDONED_AFTER_SECONDS", 900)

# --- Recovery: what survives a crash or a database outage (docs/operations/recovery.md).
# How long serve, worker and fetch_mail wait for the database at start-up before giving up.
IZONIE_DB_WAIT_SECONDS = env_int("IZONIE_DB_WAIT_SECONDS", 120)
# Longest pause between reconnection attempts during an outage (back-off with jitter).
IZONIE_DB_RETRY_MAX_SECONDS = env_int("IZONIE_DB_RETRY_MAX_SECONDS", 15)
# Each worker records that it is alive this often; a task whose worker has not done so
# for IZONIE_WORKER_DEAD_AFTER_SECONDS is queued again for another worker.
IZONIE_WORKER_HEARTBEAT_SECONDS = env_int("IZONIE_WORKER_HEARTBEAT_SECONDS", 10)
IZONIE_WORKER_DEAD_AFTER_SECONDS = env_int("IZONIE_WORKER_DEAD_AFTER_SECONDS", 60)
# How often workers (and serve) look for follow-up work that lost its task, and how old
# a row must be before it counts as lost (younger ones still have their on-commit hook).
IZONIE_SWEEP_EVERY_SECONDS = env_int("IZONIE_SWEEP_EVERY_SECONDS", 60)
IZONIE_SWEEP_GRACE_SECONDS = env_int("IZONIE_SWEEP_GRACE_SECONDS", 60)
# How long a REST answer is kept for a retry with the same Idempotency-Key.
IZONIE_IDEMPOTENCY_TTL_SECONDS = env_int("IZONIE_IDEMPOTENCY_TTL_SECONDS", 24 * 3600)
# Retry-After (seconds) on the 503 answered while the database is unreachable.
IZONIE_OUTAGE_RETRY_AFTER_SECONDS = env_int("IZONIE_OUTAGE_RETRY_AFTER_SECONDS", 5)
# serve migrates and collects static files at start only when asked (--migrate) or for
# the demo; production runs `manage.py migrate && manage.py collectstatic` as a step.
IZONIE_SERVE_MIGRATE = env_bool("IZONIE_SERVE_MIGRATE", default=False)

# --- Izonie Support
IZONIE_POLICY_FILE = Path(env_str("IZONIE_POLICY_FILE", str(BASE_DIR / "policies" / "izonie.yaml")))
IZONIE_MARKETPLACE_ADAPTER = env_str(
    "IZONIE_MARKETPLACE_ADAPTER", "marketplace.adapters.DemoMarketplaceAdapter"
)
# The HTTP adapter (marketplace.http_adapter.HttpMarketplaceAdapter): the marketplace API's
# base URL, a bearer token, and how long to wait for an answer.
IZONIE_MARKETPLACE_API_URL = env_str("IZONIE_MARKETPLACE_API_URL")
IZONIE_MARKETPLACE_API_TOKEN = env_str("IZONIE_MARKETPLACE_API_TOKEN")
IZONIE_MARKETPLACE_TIMEOUT_SECONDS = env_float("IZONIE_MARKETPLACE_TIMEOUT_SECONDS", 3)
# Where customers reach this site, for links in emails. `serve` sets it from its own host
# and port when the environment does not (core.security.public_url_for).
IZONIE_PUBLIC_URL = env_str("IZONIE_PUBLIC_URL", "http://127.0.0.1:8000")
# Outbox delivery: attempts before a delivery is marked failed, first back-off in seconds.
IZONIE_OUTBOX_MAX_ATTEMPTS = env_int("IZONIE_OUTBOX_MAX_ATTEMPTS", 6)
IZONIE_OUTBOX_BACKOFF_SECONDS = env_int("IZONIE_OUTBOX_BACKOFF_SECONDS", 30)
# How often an open inbox fetches its list again, so new and changed tickets appear.
IZONIE_INBOX_LIVE_SECONDS = env_int("IZONIE_INBOX_LIVE_SECONDS", 20)
# Live chat: how long a resume token lasts, how long an agent counts as online after
# the console's last heartbeat, how long a customer may change a chat rating.
IZONIE_CHAT_TOKEN_MAX_AGE_SECONDS = env_int("IZONIE_CHAT_TOKEN_MAX_AGE_SECONDS", 24 * 3600)
IZONIE_CHAT_PRESENCE_TIMEOUT_SECONDS = env_int("IZONIE_CHAT_PRESENCE_TIMEOUT_SECONDS", 90)
IZONIE_CHAT_RATING_CHANGEABLE_HOURS = env_int("IZONIE_CHAT_RATING_CHANGEABLE_HOURS", 24)
# An offered chat not accepted within this goes back to the queue for another agent; well
# inside the policy's 2-minute first-reply target.
IZONIE_CHAT_OFFER_TIMEOUT_SECONDS = env_int("IZONIE_CHAT_OFFER_TIMEOUT_SECONDS", 45)
IZONIE_CHAT_REOFFER_SECONDS = env_int("IZONIE_CHAT_REOFFER_SECONDS", 15)
# Pages on other sites that embed the chat widget (the shop, the app's web view), as
# scheme://host[:port]: its HTTP endpoints answer them with CORS headers and its socket
# accepts them (chat.origins). The console's socket stays same-site only.
IZONIE_CHAT_ALLOWED_ORIGINS = env_list("IZONIE_CHAT_ALLOWED_ORIGINS", [])
CORS_ALLOWED_ORIGINS = IZONIE_CHAT_ALLOWED_ORIGINS
CORS_URLS_REGEX = (
    r"^/chat/(status|status/pulse|offline-message"
    r"|sessions/[0-9a-f-]+/(history|uploads|attachments/\d+))$"
)
CORS_ALLOW_HEADERS = (*default_cors_headers, "x-chat-token")
CORS_ALLOW_CREDENTIALS = False  # the widget proves who it is with the chat token
# Threads (each with its own database connection) for the chat sockets' database work;
# 1 keeps Channels' single thread, which SQLite's one writer gains nothing over.
IZONIE_CHAT_DB_THREADS = env_int(
    "IZONIE_CHAT_DB_THREADS", 1 if DATABASES["default"]["ENGINE"].endswith("sqlite3") else 8
)
# HTTP requests run as WSGI on this many threads of each web process (config.asgi): each
# thread keeps its database connection, so a process never holds more than this many
# (plus the chat's) however many requests arrive.
IZONIE_HTTP_THREADS = env_int("IZONIE_HTTP_THREADS", 10)
# Triage: where versioned classifier files are kept (the database records which is in use).
IZONIE_TRIAGE_MODEL_DIR = Path(env_str("IZONIE_TRIAGE_MODEL_DIR", str(VAR_DIR / "triage-models")))
# Social channels (social/): the platforms' API base URLs and versions (tests and staging
# point them at a loopback server), limits on one webhook delivery, TikTok's signature
# age tolerance and reply window.
IZONIE_META_GRAPH_URL = env_str("IZONIE_META_GRAPH_URL", "https://graph.facebook.com")
IZONIE_META_GRAPH_VERSION = env_str("IZONIE_META_GRAPH_VERSION", "v21.0")
IZONIE_TIKTOK_API_URL = env_str("IZONIE_TIKTOK_API_URL", "https://business-api.tiktok.com")
IZONIE_TIKTOK_API_VERSION = env_str("IZONIE_TIKTOK_API_VERSION", "v1.3")
IZONIE_SOCIAL_HTTP_TIMEOUT_SECONDS = env_float("IZONIE_SOCIAL_HTTP_TIMEOUT_SECONDS", 10)
IZONIE_SOCIAL_MAX_BODY_BYTES = env_int("IZONIE_SOCIAL_MAX_BODY_BYTES", 1024 * 1024)
IZONIE_SOCIAL_MAX_EVENTS_PER_DELIVERY = env_int("IZONIE_SOCIAL_MAX_EVENTS_PER_DELIVERY", 1000)
# Stored webhook deliveries are handled by one "drain" task that works through all of them;
# a web process queues one at most every this many seconds (social.services.drain_soon).
IZONIE_SOCIAL_DRAIN_DELAY_SECONDS = env_float("IZONIE_SOCIAL_DRAIN_DELAY_SECONDS", 0.2)
# How long one drain task runs before it hands the rest of a backlog to a new one.
IZONIE_SOCIAL_DRAIN_MAX_SECONDS = env_float("IZONIE_SOCIAL_DRAIN_MAX_SECONDS", 10)
# Deliveries whose events a drain hands to the write path together (social/drain.py).
IZONIE_SOCIAL_DRAIN_SLICE = env_int("IZONIE_SOCIAL_DRAIN_SLICE", 50)
IZONIE_TIKTOK_SIGNATURE_TOLERANCE_SECONDS = env_int(
    "IZONIE_TIKTOK_SIGNATURE_TOLERANCE_SECONDS", 300
)
IZONIE_TIKTOK_REPLY_WINDOW_HOURS = env_int("IZONIE_TIKTOK_REPLY_WINDOW_HOURS", 48)

DATA_UPLOAD_MAX_MEMORY_SIZE = 12 * 1024 * 1024
FILE_UPLOAD_MAX_MEMORY_SIZE = 2 * 1024 * 1024

# --- Staff accounts and sign-in security (docs/security/staff-accounts.md)
# django-axes checks every password sign-in (the site's login form, the Django admin's):
# its backend comes first and refuses a locked-out username+address before the password
# is even checked.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
# Failed sign-ins for one username from one address before it is locked out, and for how
# long. By username *and* address: locking a username alone would let anyone lock an agent
# out of the console, and locking an address alone would lock out a whole office behind one
# NAT address.
# Not its "AXES: BEGIN version …" line at the start of every process and command.
AXES_VERBOSE = False
AXES_FAILURE_LIMIT = env_int("IZONIE_LOGIN_FAILURE_LIMIT", 10)
AXES_COOLOFF_TIME = dt.timedelta(seconds=env_int("IZONIE_LOGIN_COOLOFF_SECONDS", 15 * 60))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_CALLABLE = "accounts.lockout.lockout_response"
# The address as the ASGI server reports it (as helpcenter's limits use it); behind a proxy,
# run uvicorn with --forwarded-allow-ips so that it is the visitor's.
AXES_CLIENT_IP_CALLABLE = "accounts.lockout.client_ip"
# Agents, supervisors and admins confirm a sign-in with an authenticator app (TOTP) or a
# recovery code. On in production (DEBUG off); the demo (manage.py serve with demo data) and
# the tests turn it off.
IZONIE_STAFF_2FA_REQUIRED = env_bool("IZONIE_STAFF_2FA_REQUIRED", default=not DEBUG)
# Issuer shown in the authenticator app next to the account name.
IZONIE_STAFF_2FA_ISSUER = env_str("IZONIE_STAFF_2FA_ISSUER", "Izonie Support")
OTP_TOTP_ISSUER = IZONIE_STAFF_2FA_ISSUER
# A staff session with no request (or chat frame) for this long is signed out; customers'
# sessions keep Django's default (two weeks).
IZONIE_STAFF_IDLE_TIMEOUT_SECONDS = env_int("IZONIE_STAFF_IDLE_TIMEOUT_SECONDS", 8 * 3600)
# How often an open agent chat socket re-checks its account (active, still staff, session
# still valid): on frames and on a timer. A deactivated agent's console stops within this.
IZONIE_STAFF_SOCKET_RECHECK_SECONDS = env_int("IZONIE_STAFF_SOCKET_RECHECK_SECONDS", 60)
# Chat tokens in URLs (``?token=`` on a file's address) land in access logs; the widget
# sends the X-Chat-Token header instead. Accepted, with a logged deprecation warning, for
# app versions already installed; turn off (0) once they are updated. Removed next release.
IZONIE_CHAT_QUERY_TOKEN = env_bool("IZONIE_CHAT_QUERY_TOKEN", default=True)


EMAIL_BACKEND = env_str("DJANGO_EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend")
DEFAULT_FROM_EMAIL = env_str("DJANGO_DEFAULT_FROM_EMAIL", "support@izonie.com")
EMAIL_HOST = env_str("DJANGO_EMAIL_HOST", "localhost")
EMAIL_PORT = env_int("DJANGO_EMAIL_PORT", 25)
EMAIL_HOST_USER = env_str("DJANGO_EMAIL_HOST_USER")
EMAIL_HOST_PASSWORD = env_str("DJANGO_EMAIL_HOST_PASSWORD")
EMAIL_USE_TLS = env_bool("DJANGO_EMAIL_USE_TLS", default=False)
EMAIL_TIMEOUT = env_int("DJANGO_EMAIL_TIMEOUT", 30)

# Provider inbound webhooks (mail/webhooks.py). The secret is "user:password" for the
# basic auth in the URL given to SendGrid, Postmark and Amazon SNS; Mailgun signs with
# its webhook signing key instead. Without them those webhooks refuse every request.
ANYMAIL: dict[str, object] = {}
if env_list("IZONIE_INBOUND_WEBHOOK_SECRETS", []):
    ANYMAIL["WEBHOOK_SECRET"] = env_list("IZONIE_INBOUND_WEBHOOK_SECRETS", [])
if env_str("IZONIE_MAILGUN_WEBHOOK_SIGNING_KEY"):
    ANYMAIL["MAILGUN_WEBHOOK_SIGNING_KEY"] = env_str("IZONIE_MAILGUN_WEBHOOK_SIGNING_KEY")
# Where Amazon SNS signing certificates may come from (mail/sns.py).
IZONIE_SNS_CERT_URL_PATTERN = env_str(
    "IZONIE_SNS_CERT_URL_PATTERN", r"^https://sns\.[a-z0-9-]+\.amazonaws\.com(\.cn)?/[^?#]+\.pem$"
)
# Amazon SNS subscription requests are confirmed only when they carry the secret.
ANYMAIL["AMAZON_SES_AUTO_CONFIRM_SNS_SUBSCRIPTIONS"] = True

# The support mailbox read by `manage.py fetch_mail` (mail/imap.py).
IZONIE_IMAP_HOST = env_str("IZONIE_IMAP_HOST")
IZONIE_IMAP_PORT = env_int("IZONIE_IMAP_PORT", 993)
IZONIE_IMAP_SSL = env_bool("IZONIE_IMAP_SSL", default=True)
IZONIE_IMAP_USER = env_str("IZONIE_IMAP_USER")
IZONIE_IMAP_PASSWORD = env_str("IZONIE_IMAP_PASSWORD")
IZONIE_IMAP_FOLDER = env_str("IZONIE_IMAP_FOLDER", "INBOX")
# Where stored mail is moved on the server; empty: it stays and is flagged \Seen.
IZONIE_IMAP_PROCESSED_FOLDER = env_str("IZONIE_IMAP_PROCESSED_FOLDER")
# A bigger message is recorded (headers only, quarantined) and left on the server.
IZONIE_IMAP_MAX_MESSAGE_BYTES = env_int("IZONIE_IMAP_MAX_MESSAGE_BYTES", 60 * 1024 * 1024)

# --- Email sender authentication (mail/authentication.py; docs/security/email-authentication.md)
# The authserv-ids (RFC 8601) whose Authentication-Results headers are believed: the
# receiving MTA's own (OpenDMARC, rspamd), e.g. "mx.izonie.com". Empty: none is.
IZONIE_MAIL_TRUSTED_AUTHSERV_IDS = [
    value.lower() for value in env_list("IZONIE_MAIL_TRUSTED_AUTHSERV_IDS", [])
]
# On: a mail without a trusted verdict (header or provider) counts as "sender not
# verified", like one that fails DMARC alignment.
IZONIE_MAIL_REQUIRE_SENDER_VERDICT = env_bool("IZONIE_MAIL_REQUIRE_SENDER_VERDICT", default=False)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"},
        "json": {"()": "monitoring.logging.JsonLinesFormatter"},
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            # "json": one JSON object per line (time, level, logger, message, extras).
            "formatter": "json" if env_str("IZONIE_LOG_FORMAT") == "json" else "plain",
        }
    },
    "root": {"handlers": ["console"], "level": env_str("IZONIE_LOG_LEVEL", "INFO") or "INFO"},
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
        "django_tasks": {"level": "WARNING"},
        "django_tasks_db": {"level": "WARNING"},
    },
}

# Reports: how long after a change the rollups of the days it touched are recomputed
# (changes meanwhile share the one refresh).
IZONIE_REPORTS_REFRESH_DELAY_SECONDS = env_int("IZONIE_REPORTS_REFRESH_DELAY_SECONDS", 60)

# --- Monitoring: /readyz, /metrics, Sentry (monitoring/, docs/operations.md).
# /readyz answers 503 when the oldest task ready to run has waited longer than this...
IZONIE_READY_MAX_TASK_LAG_SECONDS = env_int("IZONIE_READY_MAX_TASK_LAG_SECONDS", 300)
# ...or when IMAP is configured and the fetcher has not reached the mailbox for this long.
IZONIE_READY_MAX_FETCHER_SILENCE_SECONDS = env_int("IZONIE_READY_MAX_FETCHER_SILENCE_SECONDS", 600)
# /metrics: a bearer token for scrapers from other machines (unset: loopback only).
IZONIE_METRICS_TOKEN = env_str("IZONIE_METRICS_TOKEN")
# The support metrics (counts from the database) are recomputed at most this often.
IZONIE_METRICS_CACHE_SECONDS = env_int("IZONIE_METRICS_CACHE_SECONDS", 15)
# Errors to Sentry when a DSN is given (sentry-sdk's Django integration).
SENTRY_DSN = env_str("SENTRY_DSN")
if SENTRY_DSN:
    import sentry_sdk

    sentry_sdk.init(
        dsn=SENTRY_DSN,
        environment=env_str("SENTRY_ENVIRONMENT", "production"),
        traces_sample_rate=env_float("SENTRY_TRACES_SAMPLE_RATE", 0),
        send_default_pii=False,
    )

# --- Requester identity (docs/security/identity.md): proving a typed-in address with a
# code or a link emailed to it.
# How long an emailed six-digit code works.
IZONIE_IDENTITY_CODE_TTL_SECONDS = env_int("IZONIE_IDENTITY_CODE_TTL_SECONDS", 600)
# How long an emailed link works (the contact form's).
IZONIE_IDENTITY_LINK_TTL_SECONDS = env_int("IZONIE_IDENTITY_LINK_TTL_SECONDS", 24 * 3600)
# Wrong codes accepted before a code is dead and a new one must be asked for.
IZONIE_IDENTITY_MAX_ATTEMPTS = env_int("IZONIE_IDENTITY_MAX_ATTEMPTS", 5)
# Codes and links sent to one address within an hour, whatever asks for them.
IZONIE_IDENTITY_MAX_SENDS_PER_HOUR = env_int("IZONIE_IDENTITY_MAX_SENDS_PER_HOUR", 10)

# --- Safe on the open internet (outbound fetches, anonymous-creation throttles, upload
# size): documented in docs/security/outbound-and-limits.md.
# Hosts a customer's social attachment may be downloaded from (shell-style patterns; the
# platforms' media CDNs). Anything else, and any private/loopback/link-local address the
# names resolve to, is refused (core.outbound).
IZONIE_SOCIAL_MEDIA_HOSTS = env_list(
    "IZONIE_SOCIAL_MEDIA_HOSTS",
    [
        "*.fbcdn.net",
        "*.fbsbx.com",
        "*.cdninstagram.com",
        "*.tiktokcdn.com",
        "*.tiktokcdn-us.com",
        "*.tiktokcdn-eu.com",
        "*.ibyteimg.com",
    ],
)
# Only for tests: scheme://host:port origins (fake platform servers on loopback) admitted
# past the host allow-list and the private-address check. Empty in every deployment.
IZONIE_OUTBOUND_TEST_ORIGINS = env_list("IZONIE_OUTBOUND_TEST_ORIGINS", [])
# Anonymous creation limits (core.throttle), as "count/period" (s, m, h, d; "100/10m");
# "0" turns one off. Per client IP and per email address given; counted in the cache.
IZONIE_THROTTLE_CONTACT_PER_IP = env_str("IZONIE_THROTTLE_CONTACT_PER_IP", "10/h")
IZONIE_THROTTLE_CONTACT_PER_ADDRESS = env_str("IZONIE_THROTTLE_CONTACT_PER_ADDRESS", "5/h")
IZONIE_THROTTLE_CHAT_START_PER_IP = env_str("IZONIE_THROTTLE_CHAT_START_PER_IP", "20/h")
IZONIE_THROTTLE_CHAT_START_PER_ADDRESS = env_str("IZONIE_THROTTLE_CHAT_START_PER_ADDRESS", "10/h")
IZONIE_THROTTLE_OFFLINE_PER_IP = env_str("IZONIE_THROTTLE_OFFLINE_PER_IP", "10/h")
IZONIE_THROTTLE_OFFLINE_PER_ADDRESS = env_str("IZONIE_THROTTLE_OFFLINE_PER_ADDRESS", "5/h")
# Acknowledgements of new email requests to addresses without one in the policy's window,
# all senders together: spoofed From: addresses cannot turn the intake into a mailer.
IZONIE_THROTTLE_NEW_ADDRESS_ACKS = env_str("IZONIE_THROTTLE_NEW_ADDRESS_ACKS", "100/h")
# Proxies (addresses or CIDR ranges) whose forwarded-for header is believed; empty: the
# client IP is the peer address (REMOTE_ADDR), whatever headers say.
IZONIE_TRUSTED_PROXIES = env_list("IZONIE_TRUSTED_PROXIES", [])
IZONIE_CLIENT_IP_HEADER = env_str("IZONIE_CLIENT_IP_HEADER", "X-Forwarded-For")
# The largest request body accepted at all (core.body_limit), checked before it is read:
# above the largest contact form (the policy's 5 files of 10 MB) and the providers'
# inbound-mail webhooks; a bigger body is answered 413 at once.
IZONIE_MAX_REQUEST_BYTES = env_int("IZONIE_MAX_REQUEST_BYTES", 64 * 1024 * 1024)
# --- Production safety: HTTPS, cookies, browser policies (docs/security/production.md).
# Secure unless said otherwise: with DEBUG off the site is taken to be served over HTTPS.
# Plain HTTP on loopback (scripts/demo, the tests) sets IZONIE_HTTPS=0.
IZONIE_HTTPS = env_bool("IZONIE_HTTPS", default=not DEBUG)
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SECURE = IZONIE_HTTPS
CSRF_COOKIE_SECURE = IZONIE_HTTPS
SECURE_HSTS_SECONDS = env_int("IZONIE_HSTS_SECONDS", 365 * 24 * 3600) if IZONIE_HTTPS else 0
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("IZONIE_HSTS_INCLUDE_SUBDOMAINS", default=True)
SECURE_HSTS_PRELOAD = env_bool("IZONIE_HSTS_PRELOAD", default=True)
# Off when the proxy in front already redirects HTTP to HTTPS.
SECURE_SSL_REDIRECT = env_bool("IZONIE_SSL_REDIRECT", default=IZONIE_HTTPS)
# A load balancer's health check may come over plain HTTP.
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
# Only behind a proxy that sets X-Forwarded-Proto itself (and drops the client's): otherwise
# a client could claim HTTPS.
if env_bool("IZONIE_PROXY_SETS_X_FORWARDED_PROTO", default=False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
# No page is meant to be framed: the chat widget is a script on the host page, not a frame.
X_FRAME_OPTIONS = "DENY"
# Content-Security-Policy (django-csp 4) on every response: scripts, styles, images and
# connections only from this site, no inline script, no eval, no framing. The console's
# "show remote images" answer adds https: images for that response only (mail.display).
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF],
        # data: for the small icons inside Swagger UI's and the widget's CSS; blob: for chat
        # photos, which the widget fetches with its X-Chat-Token header (no token in URLs).
        "img-src": [SELF, "data:", "blob:"],
        "font-src": [SELF],
        # 'self' covers ws:/wss: to this host too (CSP Level 3): the chat sockets.
        "connect-src": [SELF],
        "object-src": [NONE],
        "base-uri": [SELF],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
    }
}
