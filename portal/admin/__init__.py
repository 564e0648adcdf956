"""Admin basics: departments, teams, agents (roles, skills, capacity, shift hours and time zone)."""
from flask import Flask


def init_app(app: Flask) -> None:
    from .views import bp
    from . import agent_views, department_views, team_views  # noqa: F401  (their routes join bp)
    app.register_blueprint(bp)
