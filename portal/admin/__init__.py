"""Admin basics: departments, teams, agents (roles, skills, capacity, shift hours and time zone).

Feature packages add their own admin screens (workflow rules, SLA policies, blueprints...) as tabs
of the same admin bar, without portal importing them: their `init_app` calls

    from portal.admin import register_admin_tab
    register_admin_tab(app, "rules.index", _l("Rules"), prefix="rules.", order=50)

and `portal/admin/_nav.html` lists the built-in tabs and the registered ones, ordered by `order`.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from flask import Flask, current_app
from flask_babel import lazy_gettext as _l

TABS_KEY = "deskwright_admin_tabs"


@dataclass(frozen=True)
class AdminTab:
    endpoint: str                 # where the tab links to
    label: Any                    # a (lazy) translated string
    prefix: str                   # the tab is "current" when request.endpoint starts with this
    order: int = 100
    visible: Callable[[Any], bool] | None = None   # visible(user) -> bool; None: every admin-area user


BUILT_IN_TABS = (
    AdminTab("admin.index", _l("Overview"), "admin.index", 0),
    AdminTab("admin.departments", _l("Departments"), "admin.department", 10),
    AdminTab("admin.teams", _l("Teams"), "admin.team", 20),
    AdminTab("admin.agents", _l("Agents"), "admin.agent", 30),
    AdminTab("admin.inbound_mail", _l("Inbound mail"), "admin.inbound_mail", 60,
             lambda user: bool(getattr(user, "is_admin", False))),
)


def register_admin_tab(app: Flask, endpoint: str, label: Any, *, prefix: str | None = None, order: int = 100,
                       visible: Callable[[Any], bool] | None = None) -> None:
    """Add a tab to the admin bar (a feature package's screen). Registering an endpoint again replaces it."""
    tabs = app.extensions.setdefault(TABS_KEY, {})
    tabs[endpoint] = AdminTab(endpoint, label, prefix or endpoint, order, visible)


def admin_tabs(user: Any = None) -> list[AdminTab]:
    """The built-in tabs and the registered ones, in order; those `user` may not see left out."""
    extra = current_app.extensions.get(TABS_KEY, {}).values()
    tabs = sorted([*BUILT_IN_TABS, *extra], key=lambda t: t.order)
    return [t for t in tabs if t.visible is None or user is None or t.visible(user)]


def in_admin_area(endpoint: str | None = None) -> bool:
    """Is this page (default: the current request's) one of the admin area's, built in or registered?
    For the top bar's "Admin" link: `{{ 'active' if in_admin_area() }}`."""
    from flask import request

    endpoint = endpoint if endpoint is not None else (request.endpoint or "")
    return endpoint.startswith("admin.") or any(
        endpoint.startswith(t.prefix) for t in current_app.extensions.get(TABS_KEY, {}).values())


def init_app(app: Flask) -> None:
    from .views import bp
    from . import agent_views, department_views, mail_views, team_views  # noqa: F401  (their routes join bp)
    from . import fields
    fields.init_app(app)  # custom fields and layouts: their routes join bp too
    app.register_blueprint(bp)
    app.jinja_env.globals.update(admin_tabs=admin_tabs, in_admin_area=in_admin_area)
