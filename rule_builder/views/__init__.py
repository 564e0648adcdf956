"""The rule builder's screens: the workflow rules admin (list, builder, rule page, simulator) and the
builder widgets every feature reuses (condition editor, actions editor; see condition_widget.py
and actions_widget.py).

    init_app(app)   # from rule_builder.init_app: blueprints, the admin tab
"""
from __future__ import annotations

from flask import Flask
from flask_babel import lazy_gettext as _l


def init_app(app: Flask) -> None:
    from portal.admin import register_admin_tab

    from . import actions_widget, condition_widget, rules, simulator  # noqa: F401  (routes join their blueprints)

    app.register_blueprint(condition_widget.bp)
    app.register_blueprint(rules.bp)
    register_admin_tab(app, "rules.index", _l("Rules"), prefix="rules.", order=50)
