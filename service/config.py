"""Configuration from environment variables, with defaults that run with no set-up."""

import os
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_SQLITE_PATH = PROJECT_ROOT / "instance" / "assessment.sqlite3"


def _database_url() -> str:
    url = os.environ.get("DATABASE_URL", "")
    if not url:
        return f"sqlite:///{DEFAULT_SQLITE_PATH}"
    # Heroku-style URLs say "postgres"; SQLAlchemy wants the psycopg 3 dialect spelt out.
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


# The document's introduction, shown first on /docs: how a centre's system gets going.
API_DESCRIPTION = """\
REST API of the assessment service for a centre's management information system (MIS), the \
awarding body's own tools and 1EdTech CASE consumers. The qualification's units, criteria, \
public item views and CASE need no token; everything else needs a bearer token.

Getting a token: the awarding body creates an OAuth 2.0 client for the centre with the scopes \
it needs (`assessment clients create`) and gives it the client_id and client_secret once. \
POST /oauth/token with grant_type=client_credentials (the client's credentials in HTTP Basic \
or in the form body) answers an access_token valid for expires_in seconds; send it as \
`Authorization: Bearer <token>`.

A learner's attempt: POST /api/v1/assessments/{assessment_code}/attempts with the centre's \
learner_ref starts it (or resumes the open one); PUT /api/v1/attempts/{attempt_id}/responses \
saves answers; POST /api/v1/attempts/{attempt_id}/submit scores it; GET \
/api/v1/attempts/{attempt_id} reads it and its result.

Errors: every REST error has one JSON shape, {status, code, message} with `details` (per \
parameter) when a request is invalid and `reference` on a server error. The token endpoint \
answers errors in the OAuth 2.0 shape {error, error_description} (RFC 6749 section 5.2), and \
CASE endpoints answer imsx_StatusInfo. Each operation below lists every status it can answer, \
with an example body.\
"""


class Config:
    """Settings read once, when the app is created. Tests pass overrides to create_app()."""

    def __init__(self) -> None:
        env = os.environ
        self.DATABASE_URL = _database_url()
        # PostgreSQL connections are replaced after this many seconds (service/db.py).
        self.DB_POOL_RECYCLE_SECONDS = int(env.get("DB_POOL_RECYCLE_SECONDS", "1800"))
        # psycopg prepares a statement once a connection has run it this many times; "off"
        # never prepares (a PgBouncer older than 1.21 in transaction mode needs that).
        threshold = env.get("DB_PREPARE_THRESHOLD", "1")
        self.DB_PREPARE_THRESHOLD = None if threshold == "off" else int(threshold)
        self.CONTENT_DIR = Path(env.get("CONTENT_DIR", PROJECT_ROOT / "criteria_data"))
        # PUBLIC_BASE_URL pins the host used in absolute URLs (CASE uris, the tool's LTI URLs);
        # without it the request's host is used.
        self.PUBLIC_BASE_URL = env.get("PUBLIC_BASE_URL", "").rstrip("/")
        # Host names requests may carry (Host, or X-Forwarded-Host behind TRUSTED_PROXIES),
        # comma-separated; others get 400. Unset: PUBLIC_BASE_URL's host, plus localhost and
        # 127.0.0.1 (local health checks). See service.hosts.
        self.TRUSTED_HOSTS = env.get("TRUSTED_HOSTS", "")
        self.SECRET_KEY = env.get("SECRET_KEY", "dev-only-secret-change-me")
        self.API_CACHE_MAX_AGE = int(env.get("API_CACHE_MAX_AGE", "300"))
        self.LOG_LEVEL = env.get("LOG_LEVEL", "INFO")
        self.REDIS_URL = env.get("REDIS_URL", "")
        self.OAUTH_TOKEN_SECONDS = int(env.get("OAUTH_TOKEN_SECONDS", "3600"))
        self.CONTENT_CACHE_SECONDS = int(env.get("CONTENT_CACHE_SECONDS", "60"))
        # On: forms draw only items the awarding body has approved for live use
        # (service/item_provenance.py). Off (the default): every item of the bank.
        self.DELIVER_APPROVED_ONLY = env.get("DELIVER_APPROVED_ONLY", "0") == "1"
        # Request bodies above this many bytes are answered 413 (Flask/Werkzeug enforce it).
        self.MAX_CONTENT_LENGTH = int(env.get("MAX_CONTENT_LENGTH", str(1024 * 1024)))
        # JSON bodies nested deeper than this are refused before they are parsed.
        self.MAX_JSON_DEPTH = int(env.get("MAX_JSON_DEPTH", "32"))
        # POST /oauth/token limits (flask-limiter syntax, ";" between limits), per client id and
        # per remote address. Counted in Redis when REDIS_URL is set, else in process memory.
        self.OAUTH_TOKEN_RATE_LIMIT = env.get("OAUTH_TOKEN_RATE_LIMIT", "10/minute;100/hour")
        self.OAUTH_TOKEN_ADDRESS_RATE_LIMIT = env.get(
            "OAUTH_TOKEN_ADDRESS_RATE_LIMIT", "60/minute;600/hour"
        )
        # Requests per API client (service/api_rate_limit.py); empty: no limit.
        self.API_RATE_LIMIT = env.get("API_RATE_LIMIT", "600/minute;20000/hour")
        self.RATELIMIT_KEY_PREFIX = env.get("RATELIMIT_KEY_PREFIX", "assessment:ratelimit")
        # UK GDPR storage limitation: a learner with nothing newer than this many days is
        # pseudonymised by `assessment learners retention` (run daily by the scheduler). The
        # anonymous evidence stays. Default: three years after the learner's last activity.
        self.PERSONAL_DATA_RETENTION_DAYS = int(env.get("PERSONAL_DATA_RETENTION_DAYS", "1095"))

        # LTI 1.3
        self.LTI_CLOCK_LEEWAY_SECONDS = int(env.get("LTI_CLOCK_LEEWAY_SECONDS", "30"))
        self.LTI_MAX_TOKEN_AGE_SECONDS = int(env.get("LTI_MAX_TOKEN_AGE_SECONDS", "300"))
        self.LTI_JWKS_MIN_REFETCH_SECONDS = int(env.get("LTI_JWKS_MIN_REFETCH_SECONDS", "60"))
        # Login states kept per platform; beyond it a login evicts the oldest (lti/login.py).
        self.LTI_MAX_LOGIN_STATES = int(env.get("LTI_MAX_LOGIN_STATES", "10000"))
        # One login (and one launch) in this many per process sweeps expired login states
        # (and nonces) and applies the cap; the others skip it (lti/housekeeping.py).
        self.LTI_SWEEP_EVERY = int(env.get("LTI_SWEEP_EVERY", "20"))
        # Secure; SameSite=None; Partitioned cookies need https (browsers treat 127.0.0.1 and
        # localhost as secure). Turn off only for plain-http test clients.
        self.LTI_SECURE_COOKIES = env.get("LTI_SECURE_COOKIES", "1") == "1"
        self.LTI_COOKIE_CHECK = env.get("LTI_COOKIE_CHECK", "1") == "1"
        # Launch sessions (lti/sessions.py) last LTI_SESSION_MINUTES as they start (a learner's
        # is then kept open until their deadline). Tokens rotate on page loads once
        # LTI_SESSION_ROTATE_MINUTES old; the previous one stays valid for the overlap.
        self.LTI_SESSION_MINUTES = int(env.get("LTI_SESSION_MINUTES", "90"))
        self.LTI_SESSION_ROTATE_MINUTES = int(env.get("LTI_SESSION_ROTATE_MINUTES", "15"))
        self.LTI_SESSION_OVERLAP_MINUTES = int(env.get("LTI_SESSION_OVERLAP_MINUTES", "10"))
        # `assessment worker` (lti/passback_worker.py): rows claimed at a time, a claim's lease,
        # requests in flight per platform, and the retry schedule (exponential with jitter
        # from the base, capped; failed after the give-up hours). Absent: the worker's defaults.
        for key in (
            "LTI_PASSBACK_BATCH",
            "LTI_PASSBACK_POLL_SECONDS",
            "LTI_PASSBACK_LEASE_SECONDS",
            "LTI_PASSBACK_PER_PLATFORM",
            "LTI_PASSBACK_THREADS",
            "LTI_PASSBACK_BACKOFF_SECONDS",
            "LTI_PASSBACK_BACKOFF_CAP_SECONDS",
            "LTI_PASSBACK_GIVE_UP_HOURS",
            "LTI_PASSBACK_SEND_BUDGET_SECONDS",
        ):
            if env.get(key):
                setattr(self, key, float(env[key]))
        # Platform services (tokens, AGS) on http://127.0.0.1 or localhost: for a benchmark's or
        # a test's fake platform only. Never in production: it lets platform URLs reach the
        # tool's own host. (The embedded default allows them anyway, for /dev-platform/.)
        self.LTI_SERVICES_ON_LOOPBACK = env.get("LTI_SERVICES_ON_LOOPBACK", "0") == "1"
        # Centres' webhook URLs on http://127.0.0.1 or localhost: tests' receivers only, never
        # in production (service/webhook_worker.py; the embedded default allows them anyway).
        self.WEBHOOKS_ON_LOOPBACK = env.get("WEBHOOKS_ON_LOOPBACK", "0") == "1"
        # The development test platform: off unless asked for (scripts/serve.sh does, on the
        # embedded SQLite default); create_app refuses it with any other database.
        self.DEV_PLATFORM = env.get("DEV_PLATFORM", "0") == "1"
        # How many proxies in front set X-Forwarded-Proto/Host (0: trust no such header).
        self.TRUSTED_PROXIES = int(env.get("TRUSTED_PROXIES", "0"))

        # flask-smorest / OpenAPI
        self.API_TITLE = "Customer Service Qualification Assessment Service"
        self.API_VERSION = "1.0.0"
        self.OPENAPI_VERSION = "3.1.0"
        self.OPENAPI_URL_PREFIX = "/"
        self.OPENAPI_JSON_PATH = "openapi.json"
        # /docs and /docs/explorer are served by service.docs (own CSP), not flask-smorest.
        self.OPENAPI_SWAGGER_UI_PATH = None
        self.API_SPEC_OPTIONS = {"info": {"description": API_DESCRIPTION}}

    def as_dict(self) -> dict:
        return {k: v for k, v in vars(self).items() if k.isupper()}
