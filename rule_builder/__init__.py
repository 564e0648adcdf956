"""rule_builder: everything that acts on events or time (rules, macros, the action vocabulary).

`init_app(app)` (called by portal's app factory) sets config defaults, registers the "rules"
outbox subscriber, the periodic time rules, the `flask rules` commands, the demo seed step, and
the screens (views/). Emails and webhooks go out through portal.channels.outbound (its config,
after-commit hook and sweep are portal's).
"""
import os

from flask import Flask

from . import models  # noqa: F401  (the tables are part of the metadata Alembic compares)

DEFAULTS = {
    "TIME_RULES_SECONDS": int(os.environ.get("TIME_RULES_SECONDS", 300)),
    "RULES_MAX_PASSES": 5,
    "PUBLIC_URL": os.environ.get("PUBLIC_URL", "http://localhost:5000"),
}


def init_app(app: Flask) -> None:
    from portal.events import periodic, subscribe
    from portal.seed import register_seed_step

    from .cli import rules_cli
    from .engine import EVENT_KINDS, SUBSCRIBER, on_event, prepare_events, wants_event
    from .seed import seed_demo_rules
    from .time_rules import run_time_rules

    for key, value in DEFAULTS.items():
        app.config.setdefault(key, value)
    subscribe(SUBSCRIBER, EVENT_KINDS, wants=wants_event, prepare=prepare_events)(on_event)
    periodic("time_rules", "TIME_RULES_SECONDS")(run_time_rules)
    app.cli.add_command(rules_cli)
    register_seed_step("rules", seed_demo_rules)
    from .macro_views import init_app as init_macro_views
    from .views import init_app as init_views

    init_views(app)        # admin screens: rules, builder, simulator
    init_macro_views(app)  # agent side: macros on tickets and in the queue
