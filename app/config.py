"""Configuration from the environment, with safe defaults."""

import os
import secrets
from datetime import timedelta
from pathlib import Path


def database_url(instance_path: str) -> str:
    url = os.environ.get("DATABASE_URL", "").strip()
    if not url:
        return f"sqlite:///{Path(instance_path) / 'warehouse.db'}"
    # psycopg 3 is the PostgreSQL driver; accept the usual short spellings.
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    return url


def secret_key(instance_path: str) -> str:
    """SECRET_KEY from the environment, else one generated once per instance.

    Several gunicorn workers must share it, so it is kept in a file rather
    than made anew in each process.
    """
    if os.environ.get("SECRET_KEY"):
        return os.environ["SECRET_KEY"]
    path = Path(instance_path) / "secret_key"
    path.parent.mkdir(parents=True, exist_ok=True)
    if not path.exists():
        tmp = path.with_suffix(f".{os.getpid()}")
        # Readable by this user only: whoever reads it can forge a signed-in session.
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(secrets.token_hex(32))
        os.replace(tmp, path) if not path.exists() else tmp.unlink()
    if path.stat().st_mode & 0o077:
        path.chmod(0o600)  # a key written by an earlier version, readable by all
    return path.read_text().strip()


def defaults(instance_path: str) -> dict:
    url = database_url(instance_path)
    return {
        "SECRET_KEY": secret_key(instance_path),
        "SQLALCHEMY_DATABASE_URI": url,
        # A database server can restart under the app; a ping on checkout finds the dead
        # connection first. An SQLite file cannot go away like that, and the ping costs every request.
        "SQLALCHEMY_ENGINE_OPTIONS": {"pool_pre_ping": not url.startswith("sqlite")},
        "HTTPS": os.environ.get("HTTPS", "") == "1",  # served over TLS: Secure cookies and HSTS
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "SESSION_COOKIE_SECURE": os.environ.get("HTTPS", "") == "1",
        "REMEMBER_COOKIE_HTTPONLY": True,
        "REMEMBER_COOKIE_SAMESITE": "Lax",
        "REMEMBER_COOKIE_SECURE": os.environ.get("HTTPS", "") == "1",
        "REMEMBER_COOKIE_DURATION": timedelta(days=14),  # a handheld left signed in does not stay so for a year
        "WTF_CSRF_TIME_LIMIT": None,  # a shift is longer than an hour
        "MAX_CONTENT_LENGTH": 16 * 1024 * 1024,
        "API_PAGE_SIZE": 100,
        # The GS1 company prefix in each parcel's SSCC: set your own; the default is GS1's example prefix.
        "GS1_COMPANY_PREFIX": os.environ.get("GS1_COMPANY_PREFIX", "0614141"),
        # Requests one API token may send in a minute; more are answered 429 with Retry-After.
        "API_REQUESTS_PER_MINUTE": int(os.environ.get("API_REQUESTS_PER_MINUTE", "600")),
        # A webhook delivery a worker claimed and did not finish (it was killed) is taken over after this.
        "OUTBOX_CLAIM_STALE_SECONDS": float(os.environ.get("OUTBOX_CLAIM_STALE_SECONDS", "60")),
        "OUTBOX_TIMEOUT_SECONDS": float(os.environ.get("OUTBOX_TIMEOUT_SECONDS", "10")),
        # OUTBOX_WORKER=0: this process delivers no webhooks (another does, or a benchmark measures without).
        **({"OUTBOX_WORKER": os.environ["OUTBOX_WORKER"] != "0"} if "OUTBOX_WORKER" in os.environ else {}),
        # Wrong passwords allowed within the window, per user name and per address, before sign-in waits.
        "SIGN_IN_WINDOW_SECONDS": 15 * 60,
        "SIGN_IN_MAX_FAILURES_PER_USER": 5,
        "SIGN_IN_MAX_FAILURES_PER_IP": 30,
        # Across all addresses, after this many failures a user name may try once per backoff.
        "SIGN_IN_MAX_FAILURES_ANY_ADDRESS": 20,
        "SIGN_IN_BACKOFF_SECONDS": 30,
        # A badge scan signs in with the badge's PIN; BADGE_PIN=off lets the badge alone sign in
        # (a site whose badges are themselves the secret: a locked floor, readers at the door).
        "BADGE_PIN_REQUIRED": os.environ.get("BADGE_PIN", "required") != "off",
        # Seconds a stock change must have settled before the change feed
        # shows it. PostgreSQL hands out ids before commit, so a change with
        # a lower id can become visible after a higher one; SQLite writes
        # one transaction at a time and needs no wait.
        "STOCK_CHANGES_SETTLE_SECONDS": None,
    }
