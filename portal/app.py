"""The app factory. The one module in `portal` that may import the feature packages."""
from __future__ import annotations

import os
from typing import Any

from flask import Flask, jsonify, render_template
from flask_login import current_user
from flask_wtf.csrf import CSRFError
from sqlalchemy import text

from . import queue as job_queue
from .config import Config, ProductionConfig, load_or_create_secret_key
from .extensions import babel, csrf, db, htmx, migrate


def create_app(config: Any = None) -> Flask:
    """Build the app. `config` is a config class, or a mapping of overrides (tests)."""
    app = Flask(__name__, instance_path=os.environ.get("INSTANCE_PATH") or None,
                instance_relative_config=True, static_folder=os.path.join(os.path.dirname(__file__), "..", "static"))
    if isinstance(config, dict):
        app.config.from_object(Config)
        app.config.update(config)
    else:
        config = config or (ProductionConfig if os.environ.get("DESKWRIGHT_ENV") == "production" else Config)
        if hasattr(config, "check"):
            config.check()
        app.config.from_object(config)
    os.makedirs(app.instance_path, exist_ok=True)
    if not app.config.get("SECRET_KEY"):
        app.config["SECRET_KEY"] = load_or_create_secret_key(app.instance_path)

    db.init_app(app)
    migrate.init_app(app, db, directory=os.path.join(os.path.dirname(__file__), "..", "migrations"))
    csrf.init_app(app)
    htmx.init_app(app)
    _init_babel(app)
    job_queue.init_app(app)
    from .channels.outbound import init_app as init_outbound
    init_outbound(app)
    from .conditions import init_app as init_conditions
    init_conditions(app)
    from .fields import init_app as init_fields
    init_fields(app)

    from .auth import init_app as init_auth
    init_auth(app)
    from .agent import init_app as init_agent
    init_agent(app)
    from .admin import init_app as init_admin
    init_admin(app)
    from .api import init_app as init_api
    init_api(app)
    from .channels.views import init_app as init_channels
    init_channels(app)
    from .cli import init_app as init_cli
    init_cli(app)
    from .templating import init_app as init_templating
    init_templating(app)

    # Feature packages register their blueprints, subscribers and hooks here.
    for feature in ("rule_builder", "blueprint_designer", "customer_portal"):
        module = __import__(feature)
        if hasattr(module, "init_app"):
            module.init_app(app)

    _register_health(app)
    _register_errors(app)

    if job_queue.get_queue_for(app).mode == "thread":
        # The embedded worker (and its sweep) starts with the first request, not at import:
        # CLI commands such as `db upgrade` shouldn't start threads.
        app.before_request(job_queue.get_queue_for(app).start)
    return app


def _init_babel(app: Flask) -> None:
    from .i18n import select_locale, select_timezone
    app.config.setdefault("BABEL_TRANSLATION_DIRECTORIES", os.path.join(os.path.dirname(__file__), "translations"))
    babel.init_app(app, locale_selector=select_locale, timezone_selector=select_timezone)


def _register_health(app: Flask) -> None:
    @app.get("/healthz")
    def healthz():
        checks, ok = {}, True
        try:
            db.session.execute(text("SELECT 1"))
            checks["database"] = {"ok": True, "backend": db.engine.dialect.name}
        except Exception as exc:  # noqa: BLE001 - report which part is down
            ok = False
            checks["database"] = {"ok": False, "error": exc.__class__.__name__}
        q_ok, detail = job_queue.get_queue().health()
        checks["queue"] = {"ok": q_ok, "mode": job_queue.get_queue().mode, "detail": detail}
        ok = ok and q_ok
        failing = [name for name, c in checks.items() if not c["ok"]]
        body = {"status": "ok" if ok else "unavailable", "checks": checks}
        if failing:
            body["failing"] = failing
        return jsonify(body), 200 if ok else 503


def _register_errors(app: Flask) -> None:
    from .api import problems

    @app.errorhandler(404)
    def not_found(exc):
        if problems.is_api_request():
            return problems.from_http_exception(exc)
        return render_template("portal/errors/404.html"), 404

    @app.errorhandler(403)
    def forbidden(exc):
        if problems.is_api_request():
            return problems.from_http_exception(exc)
        return render_template("portal/errors/403.html"), 403

    @app.errorhandler(CSRFError)
    def csrf_failed(exc):
        # An expired or missing token (a tab left open for days): say so in the user's language.
        return render_template("portal/errors/400.html", reason=exc.description), 400

    @app.errorhandler(413)
    def too_large(exc):
        if problems.is_api_request():  # an API client reads problem+json, never the page
            return problems.from_http_exception(exc)
        return render_template("portal/errors/413.html"), 413

    @app.after_request
    def security_headers(response):
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("X-Frame-Options", "DENY")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        if current_user and getattr(current_user, "is_authenticated", False):
            response.headers.setdefault("Cache-Control", "no-store")
        response.vary.add("HX-Request")
        return response
