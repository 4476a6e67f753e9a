"""Settings for the Stripe Demo shop.

Everything comes from environment variables (12-factor). The defaults run the shop
locally with nothing else installed: SQLite, debug on, and the devstripe stand-in.
With DJANGO_DEBUG off, start-up refuses to go on without what production needs and
names the missing variable.
"""

from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

from orders import limits
from stripedemo.env import env, env_bool, env_int, env_list

BASE_DIR = Path(__file__).resolve().parent.parent

DEBUG = env_bool("DJANGO_DEBUG", True)


def required_in_production(name: str, local_default: str) -> str:
    value = env(name)
    if value:
        return value
    if not DEBUG:
        raise ImproperlyConfigured(
            f"{name} must be set when DJANGO_DEBUG is off (see README, 'Deploying to AWS')."
        )
    return local_default


SECRET_KEY = required_in_production(
    "DJANGO_SECRET_KEY", "django-insecure-local-development-only-not-for-production"
)
ALLOWED_HOSTS = env_list("DJANGO_ALLOWED_HOSTS", ["localhost", "127.0.0.1", "[::1]"])

# HTTPS behind Elastic Beanstalk's load balancer, on by default in production. The load
# balancer ends TLS and always sets X-Forwarded-Proto (instances are reachable only
# through it); the health check (plain HTTP, the instance IP as Host) is answered by
# stripedemo.health before the redirect and host validation, and is exempt here too.
SECURE_PROXY_SSL_HEADER = (
    ("HTTP_X_FORWARDED_PROTO", "https") if env_bool("DJANGO_BEHIND_PROXY", not DEBUG) else None
)
SECURE_SSL_REDIRECT = env_bool("DJANGO_SECURE_SSL_REDIRECT", not DEBUG)
SECURE_REDIRECT_EXEMPT = [r"^api/health/$"]
SECURE_HSTS_SECONDS = env_int("DJANGO_SECURE_HSTS_SECONDS", 0 if DEBUG else 31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("DJANGO_SECURE_HSTS_INCLUDE_SUBDOMAINS", not DEBUG)
SECURE_HSTS_PRELOAD = env_bool("DJANGO_SECURE_HSTS_PRELOAD", not DEBUG)
SESSION_COOKIE_SECURE = not DEBUG
CSRF_COOKIE_SECURE = not DEBUG

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "corsheaders",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    # Failed logins, counted in the database; lockouts (AXES_* below).
    "axes",
    "accounts",
    "catalog",
    "orders",
]

MIDDLEWARE = [
    "stripedemo.middleware.RequestIdMiddleware",
    # The Content-Security-Policy on every answer; before WhiteNoise, which answers the
    # front end's files (index.html at /) without going further down this list.
    "stripedemo.csp_middleware.ContentSecurityPolicyMiddleware",
    # Answers GET /api/health/ before host validation and the HTTPS redirect: the load
    # balancer's health checker sends the instance's private IP as Host, over plain HTTP.
    "stripedemo.health.HealthCheckMiddleware",
    # JSON for /api/ errors raised by the middleware below before JsonErrorsMiddleware
    # sees the request (a foreign Host header: DisallowedHost).
    "stripedemo.middleware.EarlyJsonErrorsMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "corsheaders.middleware.CorsMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "stripedemo.middleware.JsonErrorsMiddleware",
    # Last, as django-axes asks: turns a locked-out login's answer into the lockout one.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "stripedemo.urls"
WSGI_APPLICATION = "stripedemo.wsgi.application"

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
            ],
        },
    },
]


# Database: DATABASE_URL, else the RDS_* variables Elastic Beanstalk sets for an
# attached RDS instance, else a local SQLite file.
def database_url() -> str:
    if env("DATABASE_URL"):
        return env("DATABASE_URL")
    if env("RDS_HOSTNAME"):
        missing = [
            name for name in ("RDS_DB_NAME", "RDS_USERNAME", "RDS_PASSWORD") if not env(name)
        ]
        if missing:
            raise ImproperlyConfigured(f"RDS_HOSTNAME is set but {', '.join(missing)} is not.")
        from urllib.parse import quote

        return "mysql://{user}:{password}@{host}:{port}/{name}".format(
            user=quote(env("RDS_USERNAME"), safe=""),
            password=quote(env("RDS_PASSWORD"), safe=""),
            host=env("RDS_HOSTNAME"),
            port=env("RDS_PORT", "3306"),
            name=env("RDS_DB_NAME"),
        )
    return f"sqlite:///{BASE_DIR / 'db.sqlite3'}"


DATABASES = {
    "default": dj_database_url.parse(
        database_url(), conn_max_age=env_int("DB_CONN_MAX_AGE", 60), conn_health_checks=True
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.mysql":
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {
            "charset": "utf8mb4",
            "init_command": "SET sql_mode='STRICT_TRANS_TABLES'",
            "isolation_level": "read committed",
            # Fail fast when the database is unreachable (the health check answers 503
            # within the load balancer's timeout instead of hanging on TCP).
            "connect_timeout": env_int("DB_CONNECT_TIMEOUT", 5),
        }
    )
    DATABASES["default"]["TEST"] = {"CHARSET": "utf8mb4", "COLLATION": "utf8mb4_unicode_ci"}
elif DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Several threads (gunicorn gthread, the live test server) write to one file:
    # wait for the lock instead of failing at once.
    # WAL: readers never wait for a writer (in rollback-journal mode the catalog stalled
    # behind the orders' commits: p99 1.3 s instead of 80 ms, bench/RESULTS.md). Connections
    # are kept (DB_CONN_MAX_AGE) as for MySQL: opening one per request halved the
    # catalog's requests/s.
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {"timeout": 20, "transaction_mode": "IMMEDIATE", "init_command": "PRAGMA journal_mode=WAL"}
    )
    # Tests start the shop as a real server process too: their database must be a file
    # that process can open, not SQLite's private in-memory database.
    _sqlite_file = Path(DATABASES["default"]["NAME"])
    DATABASES["default"]["TEST"] = {
        "NAME": str(_sqlite_file.with_name(f"test_{_sqlite_file.name}"))
    }

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# Password guessing (django-axes, failures counted in the database so that every process
# and instance sees them). After AXES_FAILURE_LIMIT failed logins for one username from
# one client address, that username is refused from that address, right password
# included, on /admin/login/ and POST /api/api-token-auth/ alike, until
# AXES_COOLOFF_MINUTES pass without another try. Locked by the pair: by username alone
# anyone could lock the admin (or any shopper) out; by address alone one guesser would
# lock out everyone behind the same NAT. The client address is the throttles' own
# (accounts/lockout.py: X-Forwarded-For only with TRUSTED_PROXY_COUNT).
AUTHENTICATION_BACKENDS = [
    # First, so that a locked-out login is refused before any password is checked.
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AXES_FAILURE_LIMIT = env_int("AXES_FAILURE_LIMIT", 5)
AXES_COOLOFF_TIME = timedelta(minutes=env_int("AXES_COOLOFF_MINUTES", 15))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_CLIENT_IP_CALLABLE = "accounts.lockout.client_ip_address"
AXES_LOCKOUT_CALLABLE = "accounts.lockout.lockout_response"
# A successful login forgets the pair's failures (the API's: accounts/services.log_in).
AXES_RESET_ON_SUCCESS = True
# No start-up line in every process's (and manage.py command's) output.
AXES_VERBOSE = False

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = Path(env("DJANGO_STATIC_ROOT") or BASE_DIR / "staticfiles")
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "whitenoise.storage.CompressedManifestStaticFilesStorage"
            if not DEBUG
            else "django.contrib.staticfiles.storage.StaticFilesStorage"
        )
    },
}
# The single-page front end (frontend/, plain files) is served at the site root by
# WhiteNoise, index.html at /; its config.json is generated from these settings.
FRONTEND_DIR = BASE_DIR / "frontend"
WHITENOISE_ROOT = FRONTEND_DIR
WHITENOISE_INDEX_FILE = True

# Request bodies: the API's are tiny; anything larger is refused with a JSON 413.
DATA_UPLOAD_MAX_MEMORY_SIZE = env_int("DATA_UPLOAD_MAX_MEMORY_SIZE", 256 * 1024)

# Cross-origin access for the front end hosted on S3 (comma list of origins).
CORS_ALLOWED_ORIGINS = env_list("CORS_ALLOWED_ORIGINS", [])
CORS_ALLOW_HEADERS = [
    "accept",
    "authorization",
    "content-type",
    "idempotency-key",
    "if-none-match",
    "x-request-id",
]
CORS_EXPOSE_HEADERS = ["etag", "retry-after", "x-request-id"]
CORS_URLS_REGEX = r"^/api/.*$"

# The cache holds the throttling counts. With several instances behind the load
# balancer it must be shared: Redis (REDIS_URL) or the database (DATABASE_CACHE=true,
# table created by `manage.py createcachetable` on deploy); else each process counts alone.
# With DJANGO_DEBUG off the database cache is the default when REDIS_URL is not set
# (`check --deploy` warns if production still ends up with a per-process cache).
if env("REDIS_URL") and env_bool("DATABASE_CACHE", False):
    raise ImproperlyConfigured("Set REDIS_URL or DATABASE_CACHE, not both.")
DATABASE_CACHE = env_bool("DATABASE_CACHE", not DEBUG and not env("REDIS_URL"))
CACHES = {
    "default": (
        {
            "BACKEND": "django_redis.cache.RedisCache",
            "LOCATION": env("REDIS_URL"),
        }
        if env("REDIS_URL")
        else {
            "BACKEND": "django.core.cache.backends.db.DatabaseCache",
            "LOCATION": "django_cache",
            # Django's default of 300 entries would delete a third of the throttling
            # counts whenever a busy minute passed 300 clients and shoppers.
            "OPTIONS": {"MAX_ENTRIES": env_int("DATABASE_CACHE_MAX_ENTRIES", 100_000)},
        }
        if DATABASE_CACHE
        else {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}
    )
}

REST_FRAMEWORK: dict[str, Any] = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework_simplejwt.authentication.JWTAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.AllowAny"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["stripedemo.parsers.SafeJSONParser"],
    "EXCEPTION_HANDLER": "stripedemo.errors.json_exception_handler",
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "UNAUTHENTICATED_USER": None,
    # Behind Elastic Beanstalk the client address is the one the load balancer appends to
    # X-Forwarded-For, before nginx on the instance appends the balancer's own: 2 proxies
    # (TRUSTED_PROXY_COUNT=2, set by .ebextensions/01-options.config).
    "NUM_PROXIES": env_int("TRUSTED_PROXY_COUNT", None),
}
# Sign-ups and logins per client address (DRF throttling, counted in the cache).
AUTH_THROTTLE_RATE = env("THROTTLE_AUTH_RATE", "20/min")
if DEBUG:
    REST_FRAMEWORK["DEFAULT_RENDERER_CLASSES"].append(
        "rest_framework.renderers.BrowsableAPIRenderer"
    )
    REST_FRAMEWORK["DEFAULT_PARSER_CLASSES"] += [
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ]

# The OpenAPI description (drf-spectacular), served at /api/schema/ and shown at
# /api/docs/ with Swagger UI from the drf-spectacular-sidecar package (no CDN). It must
# not depend on the environment: docs/openapi.yaml is generated from it and compared.
SPECTACULAR_SETTINGS = {
    "TITLE": "Stripe Demo shop API",
    "VERSION": "1.0.0",
    "DESCRIPTION": (
        "Sign up, log in, browse the catalog and buy with a card paid through Stripe.\n\n"
        "Log in with `POST /api/api-token-auth/` and send the token as "
        "`Authorization: JWT <token>` (or `Bearer <token>`). Amounts are integers in the "
        "currency's smallest unit (cents); prices are decimal strings. Every error is "
        'JSON: `{"success": false, "error": "<sentence>", "detail": "<same>"}`, with '
        '`"fields"` for invalid input. In Stripe test mode (and with devstripe) pay with '
        "test tokens such as `tok_visa` or payment methods such as `pm_card_visa`."
    ),
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "SWAGGER_UI_SETTINGS": {"deepLinking": True, "persistAuthorization": True},
    "COMPONENT_SPLIT_REQUEST": True,
    # The API takes and answers JSON; the forms of the debug-only browsable API are not
    # part of it.
    "PARSER_WHITELIST": ["stripedemo.parsers.SafeJSONParser"],
    "RENDERER_WHITELIST": ["rest_framework.renderers.JSONRenderer"],
    "ENUM_NAME_OVERRIDES": {
        "OrderStatusEnum": "orders.models.Order.Status",
        # The constant `success: true` / `success: false` of the envelopes.
        "TrueEnum": [(True, True)],
        "FalseEnum": [(False, False)],
    },
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "stripedemo.schema.add_plain_django_views",
    ],
    "TAGS": [
        {"name": "accounts", "description": "Sign up and log in."},
        {"name": "catalog", "description": "The products for sale."},
        {"name": "orders", "description": "Buying, and your orders."},
        {"name": "stripe", "description": "Stripe's webhook."},
        {"name": "health", "description": "For the load balancer."},
    ],
}

SIMPLE_JWT = {
    # The original clients send "Authorization: JWT <token>"; Bearer is the common form.
    "AUTH_HEADER_TYPES": ("JWT", "Bearer"),
    "ACCESS_TOKEN_LIFETIME": timedelta(minutes=env_int("JWT_ACCESS_TOKEN_MINUTES", 60)),
    "SIGNING_KEY": SECRET_KEY,
    "UPDATE_LAST_LOGIN": False,
    # Every token carries a fingerprint of its user's password hash (an MD5 of the salted
    # hash: it changes with the password and tells nothing of it), compared with the user
    # simplejwt loads anyway: a new password (any set_password + save) ends every earlier
    # token, with no extra query and no table of revoked tokens.
    "CHECK_REVOKE_TOKEN": True,
}

# Stripe. With no STRIPE_SECRET_KEY in debug, the shop talks to the devstripe stand-in
# (started by scripts/start); STRIPE_API_BASE only changes where the SDK sends requests.
STRIPE_API_BASE = env("STRIPE_API_BASE")
STRIPE_SECRET_KEY = required_in_production("STRIPE_SECRET_KEY", "sk_test_devstripe")
STRIPE_PUBLISHABLE_KEY = required_in_production("STRIPE_PUBLISHABLE_KEY", "pk_test_devstripe")
STRIPE_WEBHOOK_SECRET = required_in_production("STRIPE_WEBHOOK_SECRET", "whsec_devstripe")
STRIPE_CURRENCY = env("STRIPE_CURRENCY", "usd").lower()
STRIPE_JS_URL = env(
    "STRIPE_JS_URL",
    f"{STRIPE_API_BASE.rstrip('/')}/v3/" if STRIPE_API_BASE else "https://js.stripe.com/v3/",
)
# Seconds before a Stripe call is abandoned, and how often the SDK retries it (with the
# same idempotency key) after a connection error, a 409 or a 5xx.
STRIPE_TIMEOUT = float(env("STRIPE_TIMEOUT", "20"))
STRIPE_MAX_NETWORK_RETRIES = env_int("STRIPE_MAX_NETWORK_RETRIES", 2)

# Email: the shoppers' receipts (orders/receipts.py). With EMAIL_HOST set, Django's SMTP
# backend sends them: any provider, or Amazon SES through its SMTP interface
# (EMAIL_HOST=email-smtp.<region>.amazonaws.com with SES's SMTP credentials; no library).
# Without it, locally they are printed on standard error; in production nothing is sent
# (one log line each, the receipts stay due) and `check --deploy` warns (stripedemo.W002).
# EMAIL_BACKEND names any other backend outright (e.g. django-ses's, once installed).
EMAIL_HOST = env("EMAIL_HOST")
EMAIL_BACKEND = env("EMAIL_BACKEND") or (
    "django.core.mail.backends.smtp.EmailBackend"
    if EMAIL_HOST
    else "stripedemo.mail.ConsoleEmailBackend"
    if DEBUG
    else "stripedemo.mail.UnsentEmailBackend"
)
EMAIL_PORT = env_int("EMAIL_PORT", 587)
EMAIL_HOST_USER = env("EMAIL_HOST_USER")
EMAIL_HOST_PASSWORD = env("EMAIL_HOST_PASSWORD")
# Implicit TLS (port 465) with EMAIL_USE_SSL, else STARTTLS (port 587) unless turned off.
EMAIL_USE_SSL = env_bool("EMAIL_USE_SSL", False)
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", not EMAIL_USE_SSL)
if EMAIL_USE_SSL and EMAIL_USE_TLS:
    raise ImproperlyConfigured("Set EMAIL_USE_TLS or EMAIL_USE_SSL, not both.")
# Seconds per exchange with the mail server: a receipt's sender holds its claim for a
# bounded time (orders/receipts.py).
EMAIL_TIMEOUT = env_int("EMAIL_TIMEOUT", 10)
DEFAULT_FROM_EMAIL = env("DEFAULT_FROM_EMAIL", "Stripe Demo shop <receipts@localhost>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL

# Public base URL of the API as the browser sees it; empty means "same origin".
FRONTEND_API_BASE_URL = env("FRONTEND_API_BASE_URL", "")


def frontend_url(value: str) -> str:
    """The address the shop's front end is served from (its index.html at `/`, e.g. the S3
    website): a payment method that leaves the page (a bank's redirect) brings the shopper
    back to `<FRONTEND_URL>/?order=<id>`. Empty locally: each request's own origin."""
    parts = urlsplit(value)
    if value and (
        parts.scheme not in ("http", "https") or not parts.netloc or parts.query or parts.fragment
    ):
        raise ImproperlyConfigured(
            f"FRONTEND_URL must be the front end's address, such as "
            f"https://shop.example.com (no query or #fragment); it is {value!r}."
        )
    return value.rstrip("/")


FRONTEND_URL = frontend_url(required_in_production("FRONTEND_URL", ""))

ORDER_MAX_QUANTITY = limits.ORDER_MAX_QUANTITY

# Payment attempts (placing an order, paying one again) per shopper and per client
# address, and declined cards per shopper an hour before payments pause for the hour
# (orders/throttling.py). Stripe flags accounts used for card testing.
PAYMENT_THROTTLE_RATE = env("THROTTLE_PAYMENT_RATE", "10/min")
PAYMENT_ADDRESS_THROTTLE_RATE = env("THROTTLE_PAYMENT_ADDRESS_RATE", "30/min")
PAYMENT_DECLINE_LIMIT = env("THROTTLE_PAYMENT_DECLINES", "5/hour")
# Seconds within which confirm/ answers from the database instead of asking Stripe
# again about the same order (pages poll it while Stripe settles a payment).
ORDER_CONFIRM_INTERVAL = env_int("ORDER_CONFIRM_INTERVAL", 3)
# confirm/ calls per shopper (it asks Stripe after a bank step whatever the interval).
PAYMENT_CONFIRM_RATE = env("THROTTLE_CONFIRM_RATE", "60/min")

# How long a process may reuse the catalog's version (its ETag) before asking the
# database again: the catalog then costs no query per request, and a product change
# reaches every process within that many seconds (catalog/selectors.py). 0 asks every
# time, the default with DEBUG (tests, local runs).
CATALOG_VERSION_SECONDS = env_int("CATALOG_VERSION_SECONDS", 0 if DEBUG else 1)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"request_id": {"()": "stripedemo.logging.RequestIdFilter"}},
    # One JSON object per line (stripedemo/logging.py), in development too: one format to
    # test and to search, and none that a value in a request could forge (README,
    # "Reading the logs"). `| jq` reads it at a terminal.
    "formatters": {"json": {"()": "stripedemo.logging.JsonLineFormatter"}},
    "handlers": {
        "stdout": {
            "class": "logging.StreamHandler",
            "stream": "ext://sys.stdout",
            "formatter": "json",
            "filters": ["request_id"],
        },
    },
    "root": {"handlers": ["stdout"], "level": env("LOG_LEVEL", "INFO")},
    "loggers": {
        # Django's defaults would also print its records as bare text with DEBUG on (and
        # mail them to ADMINS, which the shop has none of): they go to the one handler.
        "django": {"handlers": [], "level": "INFO"},
        # runserver's own line per request: the access log says it already, so only its
        # 4xx/5xx, through the one handler (not propagated, they had none but Python's
        # bare-text last resort).
        "django.server": {"handlers": [], "level": "WARNING", "propagate": True},
        # django-axes: its failed-login and lockout warnings stay (they are the record of
        # password guessing); its routine "cleaned up" lines do not.
        "axes": {"level": "WARNING"},
        # The stripe SDK logs two INFO lines per API request (its URL, then the status);
        # the shop logs what each payment did itself (orders.*), so at INFO they were
        # two of the five lines a paid order wrote, for nothing (issue 13). With
        # LOG_LEVEL=DEBUG they come back, with the bodies.
        "stripe": {"level": "DEBUG" if env("LOG_LEVEL", "INFO") == "DEBUG" else "WARNING"},
    },
}
