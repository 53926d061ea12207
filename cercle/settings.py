"""Cercle settings: everything comes from the environment, with safe defaults.

`DATABASE_URL` picks the database: SQLite in the data directory by default (the
embedded mode), PostgreSQL for scale (`postgres://user@host/db`).
"""

from __future__ import annotations

import os
import secrets
from datetime import timedelta
from pathlib import Path

import dj_database_url
from django.utils.translation import gettext_lazy as _

from cercle.accounts.sso_config import sso_from_environ
from cercle.core.https import transport_security

BASE_DIR = Path(__file__).resolve().parent
DATA_DIR = Path(os.environ.get("CERCLE_DATA_DIR", Path.cwd() / "var")).resolve()
DATA_DIR.mkdir(parents=True, exist_ok=True)


def _env_bool(name: str, default: bool = False) -> bool:
    return os.environ.get(name, str(default)).strip().lower() in {"1", "true", "yes", "on"}


def _secret_key() -> str:
    """The secret key: from the environment, or generated once into the data directory."""
    if key := os.environ.get("CERCLE_SECRET_KEY"):
        return key
    path = DATA_DIR / "secret_key"
    if not path.exists():
        path.write_text(secrets.token_urlsafe(64))
        path.chmod(0o600)
    return path.read_text().strip()


SECRET_KEY = _secret_key()
DEBUG = _env_bool("CERCLE_DEBUG")
ALLOWED_HOSTS = [
    h for h in os.environ.get("CERCLE_ALLOWED_HOSTS", "127.0.0.1,localhost").split(",") if h
]
CSRF_TRUSTED_ORIGINS = [
    o for o in os.environ.get("CERCLE_CSRF_TRUSTED_ORIGINS", "").split(",") if o
]

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django_htmx",
    "django_tasks",
    "django_tasks_db",
    "axes",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "django_otp.plugins.otp_static",
    # django-ninja: its Swagger UI is served from its own static files (no CDN; CSP stays strict).
    "ninja",
    "cercle.workspaces",
    "cercle.accounts",
    "cercle.connectors",
    "cercle.inbox",
    "cercle.replies",
    "cercle.moderation",
    "cercle.workflow",
    "cercle.notifications",
    "cercle.privacy",
    "cercle.listening",
    "cercle.pipeline",
    "cercle.insights",
    "cercle.api",
    "cercle.simulator",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "cercle.workspaces.middleware.CurrentWorkspaceMiddleware",
    # Two-factor sign-in completed (or set up, where a workspace requires it) before any page.
    "cercle.accounts.middleware.TwoFactorMiddleware",
    "cercle.core.security.ContentSecurityPolicyMiddleware",
    # Last, as django-axes asks: turns a locked-out login into the lockout page (429).
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "cercle.urls"
WSGI_APPLICATION = "cercle.wsgi.application"
ASGI_APPLICATION = "cercle.asgi.application"

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
                "cercle.workspaces.context_processors.workspace",
            ],
            # `{{ text|untrusted }}` everywhere: community text escaped, control characters marked.
            "builtins": ["cercle.core.bidi"],
        },
    },
]

# Database connections. Under ASGI each request runs in a thread of its own, so a
# persistent connection (CONN_MAX_AGE > 0) is left behind by every request and a
# busy server exhausts PostgreSQL's connections (Django's docs: turn them off
# under ASGI). So connections are not persistent by default, and on PostgreSQL
# each process borrows them from a psycopg pool of at most CERCLE_DB_POOL_MAX
# (a request waits up to CERCLE_DB_POOL_TIMEOUT seconds for one, then gets a
# 503); CERCLE_DB_POOL_MAX=0 turns the pool off. See docs/operations.md.
DATABASES = {
    "default": dj_database_url.parse(
        os.environ.get("DATABASE_URL", f"sqlite:///{DATA_DIR / 'cercle.sqlite3'}"),
        conn_max_age=int(os.environ.get("CERCLE_DB_CONN_MAX_AGE", "0")),
        # A connection broken by a database restart is replaced, not handed out.
        conn_health_checks=True,
    )
}
CERCLE_DB_POOL_MAX = int(os.environ.get("CERCLE_DB_POOL_MAX", "10"))
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL lets readers and the single writer overlap; IMMEDIATE takes the write
    # lock at BEGIN so two processes never deadlock upgrading a read lock.
    DATABASES["default"]["OPTIONS"] = {
        "transaction_mode": "IMMEDIATE",
        "timeout": 30,
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA busy_timeout=30000;",
    }
    DATABASES["default"]["CONN_MAX_AGE"] = 0
elif "postgresql" in DATABASES["default"]["ENGINE"] and CERCLE_DB_POOL_MAX > 0:
    DATABASES["default"].setdefault("OPTIONS", {})["pool"] = {
        "min_size": min(int(os.environ.get("CERCLE_DB_POOL_MIN", "1")), CERCLE_DB_POOL_MAX),
        "max_size": CERCLE_DB_POOL_MAX,
        "timeout": float(os.environ.get("CERCLE_DB_POOL_TIMEOUT", "10")),
    }
    # A pooled connection goes back to the pool at the end of each request.
    DATABASES["default"]["CONN_MAX_AGE"] = 0
DATABASES["default"].setdefault("TEST", {})
# Behind PgBouncer in transaction mode (docs/deploy.md): a server-side cursor (`.iterator()`)
# outlives its transaction in autocommit, which such a pooler cannot keep; read in chunks
# client-side instead. Django binds parameters client-side and prepares no statement.
if _env_bool("CERCLE_DB_TRANSACTION_POOLER"):
    DATABASES["default"]["DISABLE_SERVER_SIDE_CURSORS"] = True
# Read replicas (PostgreSQL streaming replication): insights and exports read from them
# (cercle.core.replicas); each gets the primary's options (pool, timeouts).
CERCLE_REPLICAS: list[str] = []
for _i, _url in enumerate(
    u for u in os.environ.get("CERCLE_REPLICA_URLS", "").split(",") if u.strip()
):
    _alias = f"replica{_i + 1}"
    DATABASES[_alias] = {
        **dj_database_url.parse(_url.strip()),
        "CONN_MAX_AGE": DATABASES["default"]["CONN_MAX_AGE"],
        "OPTIONS": dict(DATABASES["default"].get("OPTIONS", {})),
        "DISABLE_SERVER_SIDE_CURSORS": DATABASES["default"].get(
            "DISABLE_SERVER_SIDE_CURSORS", False
        ),
        "TEST": {"MIRROR": "default"},
    }
    CERCLE_REPLICAS.append(_alias)
DATABASE_ROUTERS = ["cercle.core.replicas.ReplicaRouter"]

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# The cache (the inbox's side counts, see docs/operations.md): this process's memory by
# default; several web processes share one with CERCLE_CACHE_URL=redis://host:6379/1 (needs
# the `redis` package).
_CACHE_URL = os.environ.get("CERCLE_CACHE_URL", "")
CACHES = {
    "default": (
        {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": _CACHE_URL}
        if _CACHE_URL.startswith(("redis://", "rediss://", "unix://"))
        else {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "cercle"}
    )
}

PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]
# Login throttling (django-axes, see cercle/accounts/lockout.py and docs/security.md): after
# CERCLE_LOGIN_FAILURE_LIMIT wrong passwords for one username from one address, that pair is
# refused for CERCLE_LOGIN_LOCKOUT_MINUTES (even with the right password), or until an owner or
# admin unlocks it on the sign-in security page.
AUTHENTICATION_BACKENDS = [
    "cercle.accounts.backends.ThrottledBackend",
    "django.contrib.auth.backends.ModelBackend",
    # Single sign-on (OpenID Connect); does nothing unless CERCLE_OIDC is set.
    "cercle.accounts.sso.SsoBackend",
]
# Single sign-on with an OpenID Connect provider (cercle/accounts/sso_config.py for the variables,
# docs/operations.md "Single sign-on"); None when not configured.
CERCLE_OIDC = sso_from_environ(os.environ)
# The single sign-on callback is not a password guess: axes neither counts nor blocks it.
AXES_WHITELIST_CALLABLE = "cercle.accounts.sso.not_a_password_attempt"
AXES_FAILURE_LIMIT = int(os.environ.get("CERCLE_LOGIN_FAILURE_LIMIT", "5"))
AXES_COOLOFF_TIME = timedelta(minutes=float(os.environ.get("CERCLE_LOGIN_LOCKOUT_MINUTES", "15")))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
# Attempts while locked are refused without being recorded: a bot hammering a locked login
# neither extends the lockout forever nor grows its database row.
AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT = False
AXES_LOCKOUT_CALLABLE = "cercle.accounts.lockout.lockout_response"
AXES_DISABLE_ACCESS_LOG = True
AXES_ENABLE_ADMIN = False
AXES_VERBOSE = False
# Two-factor authentication (django-otp, cercle/accounts/twofactor.py): the issuer shown in
# authenticator apps.
OTP_TOTP_ISSUER = os.environ.get("CERCLE_OTP_ISSUER", "Cercle")
# The operators' admin lists devices but never shows their keys or recovery codes.
OTP_ADMIN_HIDE_SENSITIVE_DATA = True

LOGIN_URL = "workspaces:login"
LOGIN_REDIRECT_URL = "inbox:index"
LOGOUT_REDIRECT_URL = "workspaces:login"

LANGUAGE_CODE = "en"
LANGUAGES = [("en", _("English")), ("fr", _("Français"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
USE_I18N = True
USE_TZ = True
TIME_ZONE = "UTC"

STATIC_URL = "/static/"
STATIC_ROOT = DATA_DIR / "static"
STATIC_ROOT.mkdir(exist_ok=True)  # whitenoise serves from finders; the folder must exist
STATICFILES_DIRS = [BASE_DIR / "static"]
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = DEBUG
# Hashed, compressed names once `collectstatic` has run (served as immutable), the plain
# names before (cercle/core/staticfiles.py).
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "cercle.core.staticfiles.StaticStorage"},
}

SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
# Behind TLS (CERCLE_HTTPS=1, or a trusted proxy header CERCLE_PROXY_SSL_HEADER): Secure
# cookies, HSTS, and plain HTTP redirected to HTTPS. See cercle/core/https.py and
# docs/security.md.
_TRANSPORT = transport_security(os.environ)
SECURE_PROXY_SSL_HEADER = _TRANSPORT.proxy_ssl_header
SESSION_COOKIE_SECURE = _TRANSPORT.secure_cookies
CSRF_COOKIE_SECURE = _TRANSPORT.secure_cookies
SECURE_HSTS_SECONDS = _TRANSPORT.hsts_seconds
SECURE_HSTS_INCLUDE_SUBDOMAINS = _TRANSPORT.hsts_include_subdomains
SECURE_HSTS_PRELOAD = _TRANSPORT.hsts_preload
SECURE_SSL_REDIRECT = _TRANSPORT.ssl_redirect
SECURE_REDIRECT_EXEMPT = _TRANSPORT.redirect_exempt
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"
SECURE_REFERRER_POLICY = "same-origin"

# A webhook body larger than this is refused with 413 before it is stored.
DATA_UPLOAD_MAX_MEMORY_SIZE = int(os.environ.get("CERCLE_MAX_BODY_BYTES", str(1024 * 1024)))
CERCLE_MAX_WEBHOOK_BYTES = DATA_UPLOAD_MAX_MEMORY_SIZE

# Outgoing mail (invitations, later notifications). With no CERCLE_EMAIL_HOST, no
# mail is sent: the members page shows the invitation link to the admin instead.
EMAIL_HOST = os.environ.get("CERCLE_EMAIL_HOST", "")
EMAIL_PORT = int(os.environ.get("CERCLE_EMAIL_PORT", "587"))
EMAIL_HOST_USER = os.environ.get("CERCLE_EMAIL_USER", "")
EMAIL_HOST_PASSWORD = os.environ.get("CERCLE_EMAIL_PASSWORD", "")
EMAIL_USE_TLS = _env_bool("CERCLE_EMAIL_USE_TLS", True)
EMAIL_TIMEOUT = 10
DEFAULT_FROM_EMAIL = os.environ.get("CERCLE_EMAIL_FROM", "Cercle <cercle@localhost>")
EMAIL_BACKEND = os.environ.get(
    "CERCLE_EMAIL_BACKEND", "django.core.mail.backends.smtp.EmailBackend"
)
# Where the file backend (the demo's) writes each mail, one file per connection.
EMAIL_FILE_PATH = os.environ.get("CERCLE_EMAIL_FILE_PATH", str(DATA_DIR / "sent-mail"))

# The address members reach Cercle at: links in notification mails and webhook payloads.
CERCLE_BASE_URL = os.environ.get("CERCLE_BASE_URL", "http://127.0.0.1:8000").rstrip("/")
# Outgoing webhooks: attempts before a delivery is marked failed, and each attempt's timeout (s).
CERCLE_WEBHOOK_MAX_ATTEMPTS = int(os.environ.get("CERCLE_WEBHOOK_MAX_ATTEMPTS", "8"))
CERCLE_WEBHOOK_TIMEOUT = float(os.environ.get("CERCLE_WEBHOOK_TIMEOUT", "10"))

# Background tasks (docs/deploy.md): CERCLE_TASK_BACKEND=database (default) keeps the queue
# in the database; =rq puts it in Redis (CERCLE_REDIS_URL) for large installs. A dotted path
# names any other django-tasks backend.
CERCLE_TASK_QUEUES = ["default", "ingest", "outbox", "poll", "classify"]
_TASK_BACKENDS = {
    "database": "django_tasks_db.DatabaseBackend",
    "rq": "django_tasks_rq.RQBackend",
}
_task_backend = os.environ.get("CERCLE_TASK_BACKEND", "database")
_task_backend = _TASK_BACKENDS.get(_task_backend, _task_backend)
TASKS = {
    "default": {
        "BACKEND": _task_backend,
        "QUEUES": CERCLE_TASK_QUEUES,
    }
}
CERCLE_REDIS_URL = os.environ.get("CERCLE_REDIS_URL", "redis://127.0.0.1:6379/0")
if _task_backend.startswith("django_tasks_rq"):
    INSTALLED_APPS.append("django_rq")
    # A classify drain may run for minutes: RQ's default job timeout (3 min) is too short.
    RQ_QUEUES = {
        queue: {"URL": CERCLE_REDIS_URL, "DEFAULT_TIMEOUT": 3600} for queue in CERCLE_TASK_QUEUES
    }

# Connectors are registered by dotted path; core code never names a platform.
CERCLE_CONNECTORS = [
    c
    for c in os.environ.get(
        "CERCLE_CONNECTORS",
        ",".join(
            [
                "cercle.connectors.simulator.connector.SimulatorConnector",
                "cercle.connectors.youtube.connector.YouTubeConnector",
                "cercle.connectors.instagram.connector.InstagramConnector",
                "cercle.connectors.facebook.connector.FacebookConnector",
                "cercle.connectors.x.connector.XConnector",
                "cercle.connectors.rss.connector.RssConnector",
                "cercle.connectors.email.connector.EmailConnector",
                "cercle.connectors.discourse.connector.DiscourseConnector",
                "cercle.connectors.website.connector.WebsiteConnector",
                "cercle.connectors.mastodon.connector.MastodonConnector",
                "cercle.connectors.reddit.connector.RedditConnector",
                "cercle.connectors.google_business.connector.GoogleBusinessConnector",
            ]
        ),
    ).split(",")
    if c
]


# The classification stage (cercle.moderation.classifiers): one embedder and the
# classifiers that run on its vectors, by dotted path, in order (sentiment and
# needs_reply read the intent). Everything ships inside registry packages and loads offline. An
# operator points CERCLE_MODEL_DIR at a directory of heads (<task>.npz) that replace
# the shipped ones, or names their own Embedder/Classifier classes (e.g. for a larger
# ONNX or transformers model downloaded elsewhere); see docs/classifiers.md.
CERCLE_EMBEDDER = os.environ.get(
    "CERCLE_EMBEDDER", "cercle.moderation.classifiers.embedders.E5Embedder"
)
CERCLE_CLASSIFIERS = [
    c
    for c in os.environ.get(
        "CERCLE_CLASSIFIERS",
        ",".join(
            [
                "cercle.moderation.classifiers.embedded.IntentHead",
                "cercle.moderation.classifiers.embedded.SentimentHead",
                "cercle.moderation.classifiers.toxicity.RuleToxicity",
                "cercle.moderation.classifiers.reply.NeedsReply",
            ]
        ),
    ).split(",")
    if c
]
CERCLE_MODEL_DIR = os.environ.get("CERCLE_MODEL_DIR", "")
# The language detector, a Classifier of task "language" run inline at ingest (it must be
# fast: ~40,000 texts/s for the default); docs/classifiers.md says how to swap it.
CERCLE_LANGUAGE_DETECTOR = os.environ.get(
    "CERCLE_LANGUAGE_DETECTOR", "cercle.moderation.language.FastTextLanguage"
)
# A volume crisis alert needs at least this many inbound messages in an hour on one channel
# or post (besides rising well above its usual week): raise it for very busy channels.
CERCLE_CRISIS_MIN_VOLUME = int(os.environ.get("CERCLE_CRISIS_MIN_VOLUME", "12"))
# Reply suggestions: how many workspaces' matrices of answered messages one process keeps
# in memory (least recently used dropped first; a dropped one is rebuilt when asked again).
CERCLE_SUGGESTION_INDEXES = int(os.environ.get("CERCLE_SUGGESTION_INDEXES", "32"))


# Each platform's OAuth app (the operator registers it with the platform), read
# generically from CERCLE_<PLATFORM>_CLIENT_ID / _CLIENT_SECRET (and an optional
# _API_BASE override, e.g. to point the demo at the simulator); no platform is
# named here. Client id/secret are copied into a new channel's encrypted
# credentials; see docs/connectors.md.
def _platform_apps() -> dict[str, dict[str, str]]:
    apps: dict[str, dict[str, str]] = {}
    for name, value in os.environ.items():
        if name.startswith("CERCLE_") and name.endswith("_CLIENT_ID") and value:
            platform = name.removeprefix("CERCLE_").removesuffix("_CLIENT_ID")
            apps[platform.lower()] = {
                "client_id": value,
                "client_secret": os.environ.get(f"CERCLE_{platform}_CLIENT_SECRET", ""),
                "api_base": os.environ.get(f"CERCLE_{platform}_API_BASE", ""),
            }
    return apps


CERCLE_PLATFORM_APPS = _platform_apps()

# Outbound HTTP: the egress guard refuses private and loopback addresses unless
# the host is listed here (the demo lists the simulator's loopback address).
CERCLE_EGRESS_ALLOW_HOSTS = [
    h for h in os.environ.get("CERCLE_EGRESS_ALLOW_HOSTS", "").split(",") if h
]
CERCLE_HTTP_TIMEOUT = float(os.environ.get("CERCLE_HTTP_TIMEOUT", "10"))

# A reply left "sending" this long by a stopped worker is reconciled, then sent at most once.
CERCLE_OUTBOX_STALE_SECONDS = int(os.environ.get("CERCLE_OUTBOX_STALE_SECONDS", "300"))
# Finished background-task rows are deleted after this many days (by the worker, hourly).
CERCLE_TASK_RESULTS_KEEP_DAYS = float(os.environ.get("CERCLE_TASK_RESULTS_KEEP_DAYS", "7"))
# A webhook answered 503 while the database is unreachable asks the platform to retry after this.
CERCLE_UNAVAILABLE_RETRY_AFTER = int(os.environ.get("CERCLE_UNAVAILABLE_RETRY_AFTER", "30"))

# How many RawEvents one ingest batch drains.
CERCLE_INGEST_BATCH = int(os.environ.get("CERCLE_INGEST_BATCH", "500"))

# Where the embedded SSE stream looks for new activity (seconds).
CERCLE_LIVE_POLL_SECONDS = float(os.environ.get("CERCLE_LIVE_POLL_SECONDS", "0.5"))
# On PostgreSQL the stream is woken by LISTEN/NOTIFY instead (cercle.core.pglisten) and only
# polls every CERCLE_LIVE_LISTEN_FALLBACK_SECONDS, in case a notification was lost. LISTEN
# needs a session: behind PgBouncer in transaction mode, CERCLE_LISTEN_DATABASE_URL points
# at PostgreSQL itself (docs/deploy.md).
CERCLE_LIVE_LISTEN = _env_bool("CERCLE_LIVE_LISTEN", True)
CERCLE_LIVE_LISTEN_FALLBACK_SECONDS = float(
    os.environ.get("CERCLE_LIVE_LISTEN_FALLBACK_SECONDS", "5")
)
CERCLE_LISTEN_DATABASE_URL = os.environ.get("CERCLE_LISTEN_DATABASE_URL", "")
# Languages a community plausibly writes in (ISO 639-1), besides each workspace's own:
# language detection answers only among these, else "unknown".
CERCLE_LANGUAGES = [
    code.strip()
    for code in os.environ.get("CERCLE_LANGUAGES", "fr,en,de,es,it,nl,pt").split(",")
    if code.strip()
]

# Insights: a persona whose conditions take longer than this (seconds) to evaluate is counted
# by the worker every 5 minutes and read from that count (docs/operations.md).
CERCLE_PERSONA_KEEP_SECONDS = float(os.environ.get("CERCLE_PERSONA_KEEP_SECONDS", "0.25"))

# The public API (docs/api.md): requests per token per window, and failed authentications
# per client address per window (then 429 until the window ends).
CERCLE_API_RATE_LIMIT = int(os.environ.get("CERCLE_API_RATE_LIMIT", "600"))
CERCLE_API_RATE_WINDOW = int(os.environ.get("CERCLE_API_RATE_WINDOW", "60"))
CERCLE_API_FAILED_AUTH_LIMIT = int(os.environ.get("CERCLE_API_FAILED_AUTH_LIMIT", "20"))
# /metrics: with a token, the scraper sends "Authorization: Bearer <token>"; without one,
# only direct requests from this machine may read it (docs/operations.md).
CERCLE_METRICS_TOKEN = os.environ.get("CERCLE_METRICS_TOKEN", "")

# CERCLE_LOG_FORMAT=json writes one JSON object per line (for a log collector). Either way,
# tokens, secrets and passwords are redacted from every record (cercle.core.logfilters).
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"},
        "json": {"()": "cercle.core.logfilters.JsonFormatter"},
    },
    # 403s and clients that went away keep their line but print no traceback.
    "filters": {
        "quiet": {"()": "cercle.core.logfilters.QuietOrdinaryErrors"},
        "scrub": {"()": "cercle.core.logfilters.ScrubSecrets"},
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": "json" if os.environ.get("CERCLE_LOG_FORMAT") == "json" else "plain",
            "filters": ["quiet", "scrub"],
        }
    },
    "root": {"handlers": ["console"], "level": os.environ.get("CERCLE_LOG_LEVEL", "WARNING")},
    "loggers": {
        "cercle": {"level": os.environ.get("CERCLE_LOG_LEVEL", "INFO"), "propagate": True},
    },
}
