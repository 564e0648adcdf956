"""Configuration from the environment.

`Config` is what `make run` uses: SQLite under instance/, the embedded queue, a secret
key generated into instance/ on first run. `ProductionConfig` refuses to start without
SECRET_KEY and DATABASE_URL. Tests pass their own mapping to `create_app`.
"""
import os
import secrets
from pathlib import Path


def _env_bool(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def normalise_db_url(url: str) -> str:
    """Be explicit about psycopg 3 (SQLAlchemy 2.1 defaults to it anyway)."""
    if url.startswith("postgres://"):
        url = "postgresql://" + url[len("postgres://"):]
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://"):]
    return url


class Config:
    SQLALCHEMY_DATABASE_URI = normalise_db_url(os.environ.get("DATABASE_URL", "sqlite:///deskwright.db"))
    SQLALCHEMY_ENGINE_OPTIONS = {"pool_pre_ping": True}
    REDIS_URL = os.environ.get("REDIS_URL") or None
    # "thread": embedded in-process worker (make run); "sync": jobs run inline (tests).
    QUEUE_MODE = os.environ.get("QUEUE_MODE", "thread")
    SECRET_KEY = os.environ.get("SECRET_KEY")
    WTF_CSRF_TIME_LIMIT = None  # a reply typed for hours must still post
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    REMEMBER_COOKIE_HTTPONLY = True
    BABEL_DEFAULT_LOCALE = "en"
    BABEL_DEFAULT_TIMEZONE = "UTC"
    LANGUAGES = {"en": "English", "zh_Hans": "简体中文"}
    ATTACHMENT_DIR = os.environ.get("ATTACHMENT_DIR")  # default: instance/attachments
    MAX_ATTACHMENT_BYTES = int(os.environ.get("MAX_ATTACHMENT_BYTES", 10 * 1024 * 1024))
    MAX_CONTENT_LENGTH = 4 * MAX_ATTACHMENT_BYTES
    ALLOWED_ATTACHMENT_TYPES = (
        "image/png image/jpeg image/gif image/webp application/pdf text/plain text/csv "
        "application/zip application/json application/msword "
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document "
        "application/vnd.ms-excel application/vnd.openxmlformats-officedocument.spreadsheetml.sheet "
        "message/rfc822"
    ).split()
    LOGIN_MAX_FAILURES = 5        # per account+address within the window below
    LOGIN_WINDOW_SECONDS = 15 * 60
    QUEUE_PAGE_SIZE = 50
    # Phone numbers typed without a country code are read as numbers of this region (ISO 3166 code)
    # and stored in E.164; see docs/contacts.md.
    PHONE_DEFAULT_REGION = os.environ.get("PHONE_DEFAULT_REGION", "CN")
    # Email intake: a bigger message is kept raw and flagged, not parsed; more than MAIL_SENDER_LIMIT
    # messages taken from one sender within the window are held (a ping-pong storm with an autoresponder).
    MAX_INBOUND_MAIL_BYTES = int(os.environ.get("MAX_INBOUND_MAIL_BYTES", 50 * 1024 * 1024))
    # A webhook channel's body cap (JSON events are small; the log keeps up to 64 KiB of a refused one).
    WEBHOOK_MAX_BYTES = int(os.environ.get("WEBHOOK_MAX_BYTES", 256 * 1024))
    MAIL_SENDER_LIMIT = int(os.environ.get("MAIL_SENDER_LIMIT", 20))
    MAIL_SENDER_WINDOW_SECONDS = int(os.environ.get("MAIL_SENDER_WINDOW_SECONDS", 600))
    EXPORT_MAX_ROWS = int(os.environ.get("EXPORT_MAX_ROWS", 100_000))  # a CSV export of the queue stops here (the API pages through more)
    # REST API: requests per token (per client address without a valid token), in the `limits`
    # notation ("600 per minute", "20/second;5000/hour"); counted in Redis when REDIS_URL is set.
    API_RATE_LIMIT = os.environ.get("API_RATE_LIMIT", "600 per minute")
    API_UPLOAD_MAX_AGE = int(os.environ.get("API_UPLOAD_MAX_AGE", 24 * 3600))  # an upload, until used in a thread
    # Email out (portal/channels/outbound.py; docs/email.md "Email out"). No MAIL_SERVER: emails
    # are kept as "held", never pretended sent.
    MAIL_SERVER = os.environ.get("MAIL_SERVER") or None
    MAIL_PORT = int(os.environ.get("MAIL_PORT", 25))
    MAIL_USE_TLS = _env_bool("MAIL_USE_TLS")
    MAIL_USERNAME = os.environ.get("MAIL_USERNAME") or None
    MAIL_PASSWORD = os.environ.get("MAIL_PASSWORD") or None
    MAIL_DEFAULT_SENDER = os.environ.get("MAIL_DEFAULT_SENDER", "deskwright@localhost")
    MAIL_TIMEOUT_SECONDS = 20
    # An emailed reply carries its attachments up to this total; the rest are left off (and the
    # thread says which).
    MAIL_MAX_ATTACHMENTS_BYTES = int(os.environ.get("MAIL_MAX_ATTACHMENTS_BYTES", 15 * 1024 * 1024))
    WEBHOOK_ALLOW_PRIVATE = _env_bool("WEBHOOK_ALLOW_PRIVATE")
    WEBHOOK_TIMEOUT_SECONDS = 10
    OUTBOUND_MAX_ATTEMPTS = int(os.environ.get("OUTBOUND_MAX_ATTEMPTS", 4))  # tries before it is marked failed
    OUTBOUND_RETRY_INTERVALS = [int(s) for s in os.environ.get("OUTBOUND_RETRY_INTERVALS", "10,60,300").split(",")
                                if s.strip()]  # seconds between tries
    OUTBOUND_SWEEP_SECONDS = 60
    OUTBOUND_STALE_SECONDS = 900            # queued this long without a try: the sweep enqueues it again
    OUTBOX_SWEEP_SECONDS = 60     # how often the sweep re-enqueues stranded events
    # An event still pending this long after it was (re-)enqueued is taken as stranded. Long
    # enough that a busy queue's backlog isn't enqueued again and again; handlers are
    # idempotent anyway, so a duplicate costs only work.
    OUTBOX_STALE_SECONDS = 120
    SESSION_COOKIE_SECURE = _env_bool("SESSION_COOKIE_SECURE", False)


class ProductionConfig(Config):
    QUEUE_MODE = "rq"
    SESSION_COOKIE_SECURE = _env_bool("SESSION_COOKIE_SECURE", True)

    @classmethod
    def check(cls) -> None:
        missing = [n for n in ("SECRET_KEY", "DATABASE_URL") if not os.environ.get(n)]
        if missing:
            raise RuntimeError("Production config refuses to start without: " + ", ".join(missing))


def load_or_create_secret_key(instance_path: str) -> str:
    """A stable per-installation key for `make run`, so sessions survive restarts."""
    path = Path(instance_path) / "secret_key"
    if path.exists():
        return path.read_text().strip()
    path.parent.mkdir(parents=True, exist_ok=True)
    key = secrets.token_hex(32)
    path.write_text(key)
    path.chmod(0o600)
    return key
