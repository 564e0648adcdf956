"""rule_builder: everything that acts on events or time (rules, macros, the action vocabulary).

`init_app(app)` (called by portal's app factory) sets config defaults, registers the "rules"
outbox subscriber, the periodic tasks (time rules, outbound sweep), the `flask rules` commands,
the after-commit hook that sends emails/webhooks, the demo seed step, and the screens (views/).
"""
import os

from flask import Flask

from . import models  # noqa: F401  (the tables are part of the metadata Alembic compares)

DEFAULTS = {
    "TIME_RULES_SECONDS": int(os.environ.get("TIME_RULES_SECONDS", 300)),
    "RULES_MAX_PASSES": 5,
    "PUBLIC_URL": os.environ.get("PUBLIC_URL", "http://localhost:5000"),
    "MAIL_SERVER": os.environ.get("MAIL_SERVER") or None,
    "MAIL_PORT": int(os.environ.get("MAIL_PORT", 25)),
    "MAIL_USE_TLS": os.environ.get("MAIL_USE_TLS", "").lower() in ("1", "true", "yes", "on"),
    "MAIL_USERNAME": os.environ.get("MAIL_USERNAME") or None,
    "MAIL_PASSWORD": os.environ.get("MAIL_PASSWORD") or None,
    "MAIL_DEFAULT_SENDER": os.environ.get("MAIL_DEFAULT_SENDER", "deskwright@localhost"),
    "MAIL_TIMEOUT_SECONDS": 20,
    "WEBHOOK_ALLOW_PRIVATE": os.environ.get("WEBHOOK_ALLOW_PRIVATE", "").lower() in ("1", "true", "yes", "on"),
    "WEBHOOK_TIMEOUT_SECONDS": 10,
    "OUTBOUND_MAX_ATTEMPTS": 4,
    "OUTBOUND_RETRY_INTERVALS": [10, 60, 300],
    "OUTBOUND_SWEEP_SECONDS": 60,
    "OUTBOUND_STALE_SECONDS": 900,
}


def init_app(app: Flask) -> None:
    from portal.events import periodic, subscribe
    from portal.seed import register_seed_step

    from . import outbound
    from .cli import rules_cli
    from .engine import EVENT_KINDS, SUBSCRIBER, on_event, wants_event
    from .seed import seed_demo_rules
    from .time_rules import run_time_rules

    for key, value in DEFAULTS.items():
        app.config.setdefault(key, value)
    subscribe(SUBSCRIBER, EVENT_KINDS, wants=wants_event)(on_event)
    periodic("time_rules", "TIME_RULES_SECONDS")(run_time_rules)
    periodic("outbound_sweep", "OUTBOUND_SWEEP_SECONDS")(outbound.sweep_outbound)
    outbound.init_app(app)
    app.cli.add_command(rules_cli)
    register_seed_step("rules", seed_demo_rules)
    from .macro_views import init_app as init_macro_views
    from .views import init_app as init_views

    init_views(app)        # admin screens: rules, builder, simulator
    init_macro_views(app)  # agent side: macros on tickets and in the queue
