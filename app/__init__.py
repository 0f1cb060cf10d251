"""Warehouse floor scanning app."""

from __future__ import annotations

import gc
import hashlib
import os
from pathlib import Path

from flask import Flask
from flask.json.provider import DefaultJSONProvider
from werkzeug.routing import IntegerConverter

from . import db_setup  # noqa: F401 - engine hooks (WAL, BEGIN IMMEDIATE)
from .config import defaults
from .extensions import csrf, db, htmx, login_manager, migrate
from .headers import security_headers

ROOT = Path(__file__).resolve().parent.parent


def _static_fingerprints(folder: Path):
    """filename -> a short hash of its bytes, read once per process (files change only with a release)."""
    cache: dict[str, str | None] = {}

    def fingerprint(filename: str) -> str | None:
        if filename not in cache:
            path = (folder / filename).resolve()
            try:
                path.relative_to(folder.resolve())
                cache[filename] = hashlib.sha256(path.read_bytes()).hexdigest()[:12]
            except (OSError, ValueError):
                cache[filename] = None
        return cache[filename]

    return fingerprint


class VersionedStatic(Flask):
    def get_send_file_max_age(self, filename):
        # A URL with the file's hash never changes meaning: cache it for a year.
        # Without one (an old page, a typed URL) the browser asks again each time.
        from flask import request

        if request.args.get("v"):
            return 365 * 24 * 3600
        return None


class IdConverter(IntegerConverter):
    def __init__(self, map, *args, **kwargs):
        kwargs.setdefault("max", 2**31 - 1)
        super().__init__(map, *args, **kwargs)


class BoundedJSON(DefaultJSONProvider):
    """Request bodies are read within bounds (app.domain.inputs): JSON nested 2,000 deep or a
    number such as 1e400 is refused as bad input, never a RecursionError answered with a 500."""

    def loads(self, s, **kwargs):
        from .domain import inputs

        try:
            return inputs.loads(s)
        except inputs.InputError as exc:
            raise ValueError(exc.message) from None


def start_workers(app) -> None:
    """The worker threads of a server process: imports (services.jobs) and channel webhooks
    (services.outbox). Started when a gunicorn worker boots (gunicorn.conf.py) and, for other
    servers, with a process's first request; tests run them themselves (JOB_WORKER, OUTBOX_WORKER)."""
    if app.config.get("JOB_WORKER", not app.testing):
        from .services import jobs

        jobs.start_worker(app)
    if app.config.get("OUTBOX_WORKER", not app.testing):
        from .services import outbox

        outbox.start_worker(app)


def create_app(test_config: dict | None = None) -> Flask:
    app = VersionedStatic(
        __name__,
        # Tests and side-by-side sites keep their own instance folder.
        instance_path=os.environ.get("WH_INSTANCE_PATH") or None,
        instance_relative_config=True,
        template_folder=str(ROOT / "templates"),
        static_folder=str(ROOT / "static"),
    )
    app.json = BoundedJSON(app)
    Path(app.instance_path).mkdir(parents=True, exist_ok=True)
    app.config.from_mapping(defaults(app.instance_path))
    if test_config:
        app.config.from_mapping(test_config)
    if (not app.testing and not os.environ.get("SECRET_KEY")
            and app.config["SQLALCHEMY_DATABASE_URI"].startswith("postgresql")):
        # One machine keeps its key in the instance folder; hosts sharing a database must share one.
        app.logger.warning("SECRET_KEY is not set: this host signs sessions with its own key (instance/secret_key). "
                           "With several app hosts on one database, set the same SECRET_KEY on every host.")

    # Ids in URLs are database integers: a bigger number is simply not found (404), not a 500.
    app.url_map.converters["int"] = IdConverter
    db.init_app(app)
    migrate.init_app(app, db, directory=str(ROOT / "migrations"), render_as_batch=True)
    login_manager.init_app(app)
    csrf.init_app(app)
    htmx.init_app(app)

    from . import models  # noqa: F401 - tables for Flask-Migrate
    from .api import bp as api_bp
    from .auth import bp as auth_bp
    from .catalog import bp as catalog_bp
    from .cli import register_cli
    from .control import bp as control_bp
    from .errors import register_errors
    from .floor import bp as floor_bp
    from .office import bp as office_bp
    from .plan import bp as plan_bp
    from .scanning import bp as scan_bp
    from .tasks import bp as tasks_bp

    app.register_blueprint(auth_bp)
    app.register_blueprint(floor_bp)
    app.register_blueprint(api_bp)
    app.register_blueprint(scan_bp)
    app.register_blueprint(tasks_bp)
    app.register_blueprint(office_bp)
    app.register_blueprint(catalog_bp)
    app.register_blueprint(control_bp)
    app.register_blueprint(plan_bp)
    csrf.exempt(api_bp)  # the API authenticates with a bearer token, not a cookie
    register_errors(app)
    from .i18n import init_app as init_languages

    init_languages(app)
    register_cli(app)

    # Imports and webhooks run in worker threads of each server process (start_workers).
    @app.before_request
    def _start_workers():
        start_workers(app)

    @app.before_request
    def _end_due_locks():
        from flask import request

        if request.endpoint and request.endpoint != "static":
            from .services.expiry import expire_now_and_then
            from .services.locks import release_expired_now_and_then

            try:
                release_expired_now_and_then()
            except Exception:  # ending a promotion must never break a scan
                app.logger.exception("ending due promotion locks failed")
            try:
                expire_now_and_then()
            except Exception:  # nor expiring a lot
                app.logger.exception("expiring lots failed")

    fingerprint = _static_fingerprints(Path(app.static_folder))

    @app.url_defaults
    def _versioned_static(endpoint, values):
        # Each static URL carries its file's hash, so a browser keeps the file until it changes.
        if endpoint == "static" and "filename" in values and "v" not in values:
            version = fingerprint(values["filename"])
            if version:
                values["v"] = version

    @app.after_request
    def _security_headers(response):
        from flask import request

        if request.endpoint == "static" and request.args.get("v") and response.status_code == 200:
            response.cache_control.immutable = True  # not even a revalidation on reload
        if request.endpoint == "static" and request.path == "/static/sw.js":
            # The offline copies serve the whole site, so the worker's scope is the whole site.
            response.headers["Service-Worker-Allowed"] = "/"
            response.cache_control.no_cache = True
        return security_headers(response, app.config["HTTPS"])

    @app.teardown_request
    def _end_transaction(_exc=None):
        # No read snapshot may outlive its request: under SQLite's WAL an
        # open one would keep showing stock as it was.
        db.session.remove()

    if not app.testing:
        # What was built here (routes, templates, models, translations: some 130,000 objects) lives as
        # long as the process. Frozen, the collector stops walking it at every full collection, which
        # cost a screen reading 20,000 rows half its time (bench/ledger.py). Tests build an app per
        # test, so they leave it to the collector.
        gc.freeze()
    return app
